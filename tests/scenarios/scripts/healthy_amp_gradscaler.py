"""Healthy: autocast + GradScaler with a too-large initial scale: the first steps overflow and
are skipped while the scaler finds its scale, then training proceeds normally."""
import torch
from torch import nn

torch.manual_seed(10)
X = torch.randn(512, 16)
Y = X[:, :2].sum(dim=1, keepdim=True)
model = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1))
opt = torch.optim.Adam(model.parameters(), lr=2e-3)
scaler = torch.amp.GradScaler("cpu", init_scale=2.0**24)
for step in range(40):
    idx = torch.randint(0, 512, (64,))
    opt.zero_grad()
    with torch.autocast("cpu", dtype=torch.float16):
        pred = model(X[idx])
    loss = nn.functional.mse_loss(pred.float(), Y[idx])
    scaler.scale(loss).backward()
    scaler.step(opt)
    scaler.update()
print("loss", loss.item(), "scale", scaler.get_scale())

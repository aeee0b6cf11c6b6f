"""Healthy: Adam stepped with a closure that runs forward, zero_grad and backward inside
optimizer.step(closure) — the shape of Lightning's automatic optimization."""
import torch
from torch import nn

torch.manual_seed(1)
X = torch.randn(1024, 16)
Y = X[:, :4].sum(dim=1, keepdim=True)
model = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
for step in range(40):
    idx = torch.randint(0, 1024, (64,))

    def closure():
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(X[idx]), Y[idx])
        loss.backward()
        return loss

    loss = opt.step(closure=closure)
print("loss", loss.item())

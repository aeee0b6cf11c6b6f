"""Bug: two warm-up steps at a huge learning rate push most ReLU units permanently negative;
training then continues at a sane rate, with the units dead."""
import torch
from torch import nn

torch.manual_seed(44)
model = nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1))
X = torch.randn(512, 10)
Y = X[:, :3].sum(dim=1, keepdim=True) + 5
opt = torch.optim.SGD(model.parameters(), lr=0.01)
for step in range(40):
    for g in opt.param_groups:
        g["lr"] = 0.3 if step < 2 else 0.01
    idx = torch.randint(0, 512, (64,))
    opt.zero_grad()
    loss = nn.functional.mse_loss(model(X[idx]), Y[idx])
    loss.backward()
    opt.step()
print("loss", loss.item())

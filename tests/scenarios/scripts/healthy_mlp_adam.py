"""Healthy: a Sequential MLP on a learnable synthetic regression task, Adam."""
import torch
from torch import nn

torch.manual_seed(0)
teacher = nn.Sequential(nn.Linear(10, 32), nn.Tanh(), nn.Linear(32, 1))
X = torch.randn(512, 10)
with torch.no_grad():
    Y = teacher(X)

model = nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
for step in range(60):
    idx = torch.randint(0, 512, (64,))
    opt.zero_grad()
    loss = nn.functional.mse_loss(model(X[idx]), Y[idx])
    loss.backward()
    opt.step()
print("final loss", loss.item())

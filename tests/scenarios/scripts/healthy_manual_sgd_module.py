"""Healthy: a module updated by hand (p.data -= lr * p.grad), model.zero_grad() every step."""
import torch
from torch import nn

torch.manual_seed(8)
X = torch.randn(256, 8)
Y = torch.sin(X[:, :1]) + X[:, 1:2]
model = nn.Sequential(nn.Linear(8, 32), nn.Tanh(), nn.Linear(32, 1))
for step in range(50):
    model.zero_grad()
    loss = ((model(X) - Y) ** 2).mean()
    loss.backward()
    for p in model.parameters():
        p.data -= 0.1 * p.grad
print("loss", loss.item())

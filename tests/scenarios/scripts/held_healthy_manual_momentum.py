"""Held out. Healthy: hand-written SGD with momentum on a module, grads set to None."""
import torch
from torch import nn

torch.manual_seed(105)
model = nn.Sequential(nn.Linear(6, 48), nn.Tanh(), nn.Linear(48, 48), nn.Tanh(), nn.Linear(48, 1))
X = torch.randn(400, 6)
Y = X[:, :1] * X[:, 1:2]
velocity = [torch.zeros_like(p) for p in model.parameters()]
for step in range(50):
    idx = torch.randint(0, 400, (50,))
    loss = nn.functional.mse_loss(model(X[idx]), Y[idx])
    loss.backward()
    with torch.no_grad():
        for p, v in zip(model.parameters(), velocity):
            v.mul_(0.9).add_(p.grad)
            p.sub_(0.02 * v)
            p.grad = None
print("loss", loss.item())

"""Healthy: gradients cleared by hand with p.grad = None before each backward."""
import torch
from torch import nn

torch.manual_seed(17)
X = torch.randn(256, 10)
Y = X[:, :5].mean(dim=1, keepdim=True)
model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.5)
for step in range(50):
    for p in model.parameters():
        p.grad = None
    loss = nn.functional.mse_loss(model(X), Y)
    loss.backward()
    opt.step()
print("loss", loss.item())

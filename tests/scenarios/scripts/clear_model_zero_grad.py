"""Healthy: gradients cleared with model.zero_grad() at the end of each iteration."""
import torch
from torch import nn

torch.manual_seed(15)
X = torch.randn(256, 8)
Y = (X[:, 0] > X[:, 1]).long()
model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 2))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for step in range(50):
    loss = nn.functional.cross_entropy(model(X), Y)
    loss.backward()
    opt.step()
    model.zero_grad()
print("loss", loss.item())

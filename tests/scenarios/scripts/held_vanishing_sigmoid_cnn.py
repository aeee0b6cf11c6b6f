"""Held out. Bug: an 8-layer CNN with sigmoid activations and no normalisation."""
import torch
from torch import nn

torch.manual_seed(100)
layers = [nn.Conv2d(1, 8, 3, padding=1), nn.Sigmoid()]
for _ in range(7):
    layers += [nn.Conv2d(8, 8, 3, padding=1), nn.Sigmoid()]
model = nn.Sequential(*layers, nn.Flatten(), nn.Linear(8 * 8 * 8, 2))
X = torch.randn(128, 1, 8, 8)
Y = (X[:, 0, :4].mean(dim=(1, 2)) > 0).long()
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
for step in range(30):
    idx = torch.randint(0, 128, (32,))
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(X[idx]), Y[idx])
    loss.backward()
    opt.step()
print("loss", loss.item())

"""A deep plain CNN with nn.Sigmoid after every conv (a LeNet habit carried to 7 layers), no
normalisation, no shortcuts: each sigmoid multiplies the backward signal by at most 0.25, so the
first convolutions get gradients orders of magnitude smaller than the last ones."""

import torch
from torch import nn

torch.manual_seed(109)
X = torch.randn(128, 3, 8, 8)
Y = (X[:, 0].mean(dim=(1, 2)) > 0).long()
layers = [nn.Conv2d(3, 16, 3, padding=1), nn.Sigmoid()]
for _ in range(6):
    layers += [nn.Conv2d(16, 16, 3, padding=1), nn.Sigmoid()]
model = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 2))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
for step in range(50):
    idx = torch.randint(0, 128, (32,))
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(X[idx]), Y[idx])
    loss.backward()
    opt.step()
print("loss", loss.item())

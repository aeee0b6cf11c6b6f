"""Healthy: the same 6-layer, 128-wide ReLU MLP with PyTorch's default init, SGD.

The counterpart of bug_exploding_uniform_init_relu_mlp: only the init differs.
"""
import torch
from torch import nn

torch.manual_seed(61)
layers = []
width = 128
for i in range(6):
    layers += [nn.Linear(width if i else 20, width), nn.ReLU()]
model = nn.Sequential(*layers, nn.Linear(width, 10))
X = torch.randn(256, 20)
Y = (X[:, :10] > 0).float().argmax(dim=1)
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
for step in range(40):
    idx = torch.randint(0, 256, (64,))
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(X[idx]), Y[idx])
    loss.backward()
    opt.step()
print("loss", loss.item())

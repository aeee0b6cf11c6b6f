"""Bug: a 6-layer, 128-wide ReLU MLP initialised with uniform_(-1, 1), SGD.

std(W) x sqrt(fan_in) = sqrt(128 / 3) = 6.5 (He init: 1.41), so each ReLU layer multiplies the
forward signal, and the backward delta, by ~4.6: the gradient is tens of thousands in every
layer. The weight gradient (delta x input) is about as large in every layer, so the first/last
ratio sees nothing; its size against the weights does.
"""
import torch
from torch import nn

torch.manual_seed(61)
layers = []
width = 128
for i in range(6):
    lin = nn.Linear(width if i else 20, width)
    nn.init.uniform_(lin.weight, -1.0, 1.0)
    layers += [lin, nn.ReLU()]
model = nn.Sequential(*layers, nn.Linear(width, 10))
X = torch.randn(256, 20)
Y = (X[:, :10] > 0).float().argmax(dim=1)
opt = torch.optim.SGD(model.parameters(), lr=1e-5)
for step in range(40):
    idx = torch.randint(0, 256, (64,))
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(X[idx]), Y[idx])
    loss.backward()
    opt.step()
print("loss", loss.item())

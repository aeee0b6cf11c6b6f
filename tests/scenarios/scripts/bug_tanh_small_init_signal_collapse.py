"""Vanishing from the initialisation: 8 tanh layers initialised with N(0, 0.02). Each layer
multiplies the activation std by about 0.02 x sqrt(64) = 0.16, so the forward signal shrinks by
decades through depth, every weight gradient is ~1e-7 and SGD barely moves: the loss stays at
ln 3. The first/last hidden gradient ratio is only ~0.1 (small deltas meet large activations
near the input), so the cause is read from the forward signal, not from that ratio."""

import torch
import torch.nn as nn

torch.manual_seed(13)
layers = []
for _ in range(8):
    lin = nn.Linear(64, 64)
    nn.init.normal_(lin.weight, std=0.02)
    nn.init.zeros_(lin.bias)
    layers += [lin, nn.Tanh()]
model = nn.Sequential(nn.Linear(16, 64), nn.Tanh(), *layers, nn.Linear(64, 3))
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
X = torch.randn(512, 16)
y = torch.randint(0, 3, (512,))
for step in range(60):
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(X), y)
    loss.backward()
    opt.step()
print("loss", loss.item())

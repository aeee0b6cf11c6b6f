"""A 12-layer ReLU MLP: the user zeroes every bias but keeps PyTorch's default weight init
(std 1/sqrt(3 fan_in), meant for shallow nets). With ReLU each layer multiplies the signal's
std by about 0.41, so after 12 layers it is ~5e-5 of the first layer's; every gradient is tiny and SGD
stalls. Kaiming init (std sqrt(2/fan_in)) would keep the scale."""

import torch
from torch import nn

torch.manual_seed(118)
layers = []
for i in range(12):
    lin = nn.Linear(32 if i == 0 else 128, 128)
    nn.init.zeros_(lin.bias)
    layers += [lin, nn.ReLU()]
model = nn.Sequential(*layers, nn.Linear(128, 4))
X = torch.randn(512, 32)
Y = X[:, :4].argmax(dim=1)
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
for step in range(60):
    idx = torch.randint(0, 512, (64,))
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(X[idx]), Y[idx])
    loss.backward()
    opt.step()
print("loss", loss.item())

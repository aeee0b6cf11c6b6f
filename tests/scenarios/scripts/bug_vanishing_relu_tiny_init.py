"""Bug: a 12-layer ReLU MLP with weights initialised at std 0.01."""
import torch
from torch import nn

torch.manual_seed(26)
blocks = []
width = 24
for i in range(12):
    lin = nn.Linear(width if i else 10, width)
    nn.init.normal_(lin.weight, std=0.01)
    nn.init.zeros_(lin.bias)
    blocks += [lin, nn.ReLU()]
model = nn.Sequential(*blocks, nn.Linear(width, 1))
X = torch.randn(256, 10)
Y = X[:, :1].abs()
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
for step in range(40):
    opt.zero_grad()
    loss = nn.functional.mse_loss(model(X), Y)
    loss.backward()
    opt.step()
print("loss", loss.item())

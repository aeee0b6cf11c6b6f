"""Bug: a 10-layer ReLU MLP initialised with std=1 (far above He init)."""
import torch
from torch import nn

torch.manual_seed(27)
layers = []
width = 48
for i in range(10):
    lin = nn.Linear(width if i else 8, width)
    nn.init.normal_(lin.weight, std=1.0)
    layers += [lin, nn.ReLU()]
model = nn.Sequential(*layers, nn.Linear(width, 1))
X = torch.randn(128, 8)
Y = X.sum(dim=1, keepdim=True)
opt = torch.optim.SGD(model.parameters(), lr=1e-4)
for step in range(30):
    opt.zero_grad()
    loss = nn.functional.mse_loss(model(X), Y)
    loss.backward()
    opt.step()
print("loss", loss.item())

"""Held out. Bug: convolution biases initialised at -4: most channels never activate."""
import torch
from torch import nn

torch.manual_seed(107)
model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 16, 3, padding=1),
                      nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 2))
for conv in (model[0], model[2]):
    nn.init.constant_(conv.bias, -4.0)
X = torch.randn(128, 1, 8, 8)
Y = (X.mean(dim=(1, 2, 3)) > 0).long()
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
for step in range(30):
    idx = torch.randint(0, 128, (32,))
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(X[idx]), Y[idx])
    loss.backward()
    opt.step()
print("loss", loss.item())

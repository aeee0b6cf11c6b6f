import torch
from torch import nn
torch.manual_seed(0)
layers = []
for _ in range(10):
    layers += [nn.Linear(32, 32), nn.Sigmoid()]
model = nn.Sequential(*layers, nn.Linear(32, 2))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
x = torch.randn(256, 32); y = (x[:, 0] > 0).long()
for step in range(120):
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()

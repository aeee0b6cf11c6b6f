"""Healthy: a 10-layer tanh MLP initialised the textbook way (Xavier with the tanh gain, zero
biases), SGD with momentum and a StepLR schedule. The forward signal keeps its scale."""

import torch
from torch import nn

torch.manual_seed(117)
layers = [nn.Linear(16, 64), nn.Tanh()]
for _ in range(9):
    layers += [nn.Linear(64, 64), nn.Tanh()]
model = nn.Sequential(*layers, nn.Linear(64, 3))
for m in model.modules():
    if isinstance(m, nn.Linear):
        nn.init.xavier_uniform_(m.weight, gain=nn.init.calculate_gain("tanh"))
        nn.init.zeros_(m.bias)
X = torch.randn(512, 16)
Y = (X[:, :3] @ torch.tensor([1.0, -1.0, 0.5])).gt(0).long() + X[:, 3].gt(1).long()
opt = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
sched = torch.optim.lr_scheduler.StepLR(opt, step_size=20, gamma=0.5)
for step in range(60):
    idx = torch.randint(0, 512, (64,))
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(X[idx]), Y[idx])
    loss.backward()
    opt.step()
    sched.step()
print("loss", loss.item())

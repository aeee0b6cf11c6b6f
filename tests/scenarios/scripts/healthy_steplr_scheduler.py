"""Healthy: SGD with a StepLR schedule, deeper MLP with Kaiming init."""
import torch
from torch import nn

torch.manual_seed(9)
X = torch.randn(512, 16)
Y = (X[:, :4].sum(dim=1, keepdim=True) > 0).float()
layers = []
width = 16
for _ in range(5):
    lin = nn.Linear(width, 40)
    nn.init.kaiming_normal_(lin.weight, nonlinearity="relu")
    nn.init.zeros_(lin.bias)
    layers += [lin, nn.ReLU()]
    width = 40
model = nn.Sequential(*layers, nn.Linear(40, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.05)
sched = torch.optim.lr_scheduler.StepLR(opt, step_size=20, gamma=0.5)
for step in range(60):
    idx = torch.randint(0, 512, (64,))
    opt.zero_grad()
    loss = nn.functional.binary_cross_entropy_with_logits(model(X[idx]), Y[idx])
    loss.backward()
    opt.step()
    sched.step()
print("loss", loss.item())

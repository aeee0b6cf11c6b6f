"""Held out. Healthy: a wide MLP, SGD with Nesterov momentum, cosine schedule, label smoothing."""
import torch
from torch import nn

torch.manual_seed(108)
X = torch.randn(800, 30)
Y = (X[:, :5].sum(dim=1) > 0).long() + (X[:, 5] > 1).long()
model = nn.Sequential(nn.Linear(30, 256), nn.ReLU(), nn.Dropout(0.1), nn.Linear(256, 3))
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=50)
for step in range(50):
    idx = torch.randint(0, 800, (64,))
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(X[idx]), Y[idx], label_smoothing=0.1)
    loss.backward()
    opt.step()
    sched.step()
print("loss", loss.item())

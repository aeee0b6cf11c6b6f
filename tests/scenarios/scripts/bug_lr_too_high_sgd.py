"""Bug: SGD with lr=3 on a small classifier: the loss oscillates and blows up."""
import torch
from torch import nn

torch.manual_seed(28)
X = torch.randn(512, 10) * 2
Y = (X[:, 0] + X[:, 1] > 0).long()
model = nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2))
opt = torch.optim.SGD(model.parameters(), lr=3.0)
for step in range(40):
    idx = torch.randint(0, 512, (64,))
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(X[idx]), Y[idx])
    loss.backward()
    opt.step()
print("loss", loss.item())

"""Bug: Adam with lr=0.5 on a regression MLP."""
import torch
from torch import nn

torch.manual_seed(29)
X = torch.randn(512, 6)
Y = torch.sin(X[:, :1] * 2) + X[:, 1:2]
model = nn.Sequential(nn.Linear(6, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 1))
opt = torch.optim.Adam(model.parameters(), lr=0.5)
for step in range(40):
    idx = torch.randint(0, 512, (64,))
    opt.zero_grad()
    loss = nn.functional.mse_loss(model(X[idx]), Y[idx])
    loss.backward()
    opt.step()
print("loss", loss.item())

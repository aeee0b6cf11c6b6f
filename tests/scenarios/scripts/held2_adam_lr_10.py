"""Adam at lr=10 (a typo for 1e-3's neighbour, or SGD habits carried over): each step moves
every weight by about 10, far larger than the weights themselves; the loss jumps and never
settles."""

import torch
from torch import nn

torch.manual_seed(105)
X = torch.randn(512, 10)
Y = (X[:, 0] * X[:, 1] > 0).long()
model = nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2))
opt = torch.optim.Adam(model.parameters(), lr=10.0)
for step in range(60):
    idx = torch.randint(0, 512, (64,))
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(X[idx]), Y[idx])
    loss.backward()
    opt.step()
print("loss", loss.item())

"""Bug: a CNN with Adam at lr=1e-7."""
import torch
from torch import nn

torch.manual_seed(31)
model = nn.Sequential(nn.Conv2d(1, 6, 3), nn.ReLU(), nn.Conv2d(6, 12, 3), nn.ReLU(),
                      nn.Flatten(), nn.Linear(12 * 6 * 6, 3))
X = torch.randn(200, 1, 10, 10)
Y = (X.mean(dim=(1, 2, 3)) * 10).long().clamp(-1, 1) + 1
opt = torch.optim.Adam(model.parameters(), lr=1e-7)
for step in range(40):
    idx = torch.randint(0, 200, (32,))
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(X[idx]), Y[idx])
    loss.backward()
    opt.step()
print("loss", loss.item())

"""Bug: raw 0-255 pixel values fed to an MLP without normalisation, SGD."""
import torch
from torch import nn

torch.manual_seed(48)
X = torch.randint(0, 256, (512, 64)).float()
Y = (X[:, :32].mean(dim=1) > X[:, 32:].mean(dim=1)).long()
model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 64),
                      nn.ReLU(), nn.Linear(64, 2))
opt = torch.optim.SGD(model.parameters(), lr=0.01)
for step in range(40):
    idx = torch.randint(0, 512, (64,))
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(X[idx]), Y[idx])
    loss.backward()
    opt.step()
print("loss", loss.item())

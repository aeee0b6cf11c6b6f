"""Bug: SGD with lr=1e-5: the weights barely move and the loss stays flat."""
import torch
from torch import nn

torch.manual_seed(30)
X = torch.randn(512, 10)
Y = (X[:, :3].sum(dim=1) > 0).long()
model = nn.Sequential(nn.Linear(10, 40), nn.ReLU(), nn.Linear(40, 40), nn.ReLU(), nn.Linear(40, 2))
opt = torch.optim.SGD(model.parameters(), lr=1e-5)
for step in range(50):
    idx = torch.randint(0, 512, (64,))
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(X[idx]), Y[idx])
    loss.backward()
    opt.step()
print("loss", loss.item())

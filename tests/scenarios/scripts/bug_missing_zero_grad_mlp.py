"""Bug: optimizer.zero_grad() is never called; SGD sums every gradient since step 0."""
import torch
from torch import nn

torch.manual_seed(20)
X = torch.randn(512, 10)
Y = (X[:, :2].sum(dim=1) > 0).long()
model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 2))
opt = torch.optim.SGD(model.parameters(), lr=0.01)
for step in range(50):
    idx = torch.randint(0, 512, (32,))
    loss = nn.functional.cross_entropy(model(X[idx]), Y[idx])
    loss.backward()
    opt.step()
print("loss", loss.item())

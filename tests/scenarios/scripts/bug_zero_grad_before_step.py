"""Bug: zero_grad() between backward() and step(): every step uses an empty gradient."""
import torch
from torch import nn

torch.manual_seed(23)
X = torch.randn(256, 6)
Y = X.sum(dim=1, keepdim=True)
model = nn.Sequential(nn.Linear(6, 32), nn.ReLU(), nn.Linear(32, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
for step in range(40):
    loss = nn.functional.mse_loss(model(X), Y)
    loss.backward()
    opt.zero_grad()
    opt.step()
print("loss", loss.item())

"""Bug: the loss is rebuilt from a Python float to 'make it a tensor again': no gradient
reaches any parameter and nothing learns."""
import torch
from torch import nn

torch.manual_seed(47)
X = torch.randn(256, 8)
Y = X[:, :2].sum(dim=1, keepdim=True)
model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.05)
for step in range(30):
    opt.zero_grad()
    value = nn.functional.mse_loss(model(X), Y).item()
    loss = torch.tensor(value, requires_grad=True)
    loss.backward()
    opt.step()
print("loss", loss.item())

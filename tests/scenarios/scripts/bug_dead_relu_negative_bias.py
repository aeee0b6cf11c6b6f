"""Bug: hidden biases initialised at -3: most ReLU units never activate."""
import torch
from torch import nn

torch.manual_seed(32)
model = nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1))
for layer in (model[0], model[2]):
    nn.init.constant_(layer.bias, -3.0)
X = torch.randn(512, 10)
Y = X[:, :2].sum(dim=1, keepdim=True)
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
for step in range(40):
    idx = torch.randint(0, 512, (64,))
    opt.zero_grad()
    loss = nn.functional.mse_loss(model(X[idx]), Y[idx])
    loss.backward()
    opt.step()
print("loss", loss.item())

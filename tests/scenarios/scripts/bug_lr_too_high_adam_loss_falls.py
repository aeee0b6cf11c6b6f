"""Bug: Adam at 100x its usual LR (0.1) on a regression MLP. The loss still falls over these 40
steps, but the first steps move every weight by ~lr, most of a weight's size: the
initialisation is overwritten and the weights grow until the rate is small beside them."""
import torch
from torch import nn

torch.manual_seed(41)
X = torch.randn(2048, 16)
Y = X[:, :4].sum(dim=1, keepdim=True) + 0.1 * torch.randn(2048, 1)
model = nn.Sequential(nn.Linear(16, 64), nn.GELU(), nn.Linear(64, 64), nn.GELU(), nn.Linear(64, 1))
opt = torch.optim.Adam(model.parameters(), lr=0.1)
for step in range(40):
    idx = torch.randint(0, 2048, (32,))
    opt.zero_grad()
    loss = nn.functional.mse_loss(model(X[idx]), Y[idx])
    loss.backward()
    opt.step()
print("loss", loss.item())

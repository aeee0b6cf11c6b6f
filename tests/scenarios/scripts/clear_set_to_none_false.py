"""Healthy: optimizer.zero_grad(set_to_none=False) keeps zero tensors in .grad."""
import torch
from torch import nn

torch.manual_seed(16)
X = torch.randn(256, 8)
Y = X.pow(2).sum(dim=1, keepdim=True)
model = nn.Sequential(nn.Linear(8, 64), nn.Tanh(), nn.Linear(64, 1))
opt = torch.optim.Adam(model.parameters(), lr=1e-2)
for step in range(50):
    opt.zero_grad(set_to_none=False)
    loss = nn.functional.mse_loss(model(X), Y)
    loss.backward()
    opt.step()
print("loss", loss.item())

"""Healthy: regression on unnormalised targets (std ~4e3) with Adam.

The MSE is ~2e7 and its gradient is huge in every layer, far larger than the weights, but Adam
divides each step by the gradient's own scale: the updates stay ~1e-2 of the weights and the
loss falls. Large gradients, nothing exploding.
"""
import torch
from torch import nn

torch.manual_seed(71)
X = torch.randn(512, 8)
w_true = torch.tensor([3.0, -2.0, 1.5, 0.5, 0.0, 1.0, -1.0, 2.0])
Y = (1e3 * (X @ w_true)).unsqueeze(1)
model = nn.Sequential(
    nn.Linear(8, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1)
)
opt = torch.optim.Adam(model.parameters(), lr=3e-2)
for step in range(80):
    idx = torch.randint(0, 512, (64,))
    opt.zero_grad()
    loss = nn.functional.mse_loss(model(X[idx]), Y[idx])
    loss.backward()
    opt.step()
print("loss", loss.item())

"""Healthy: LBFGS with a closure. The closure clears and recomputes the gradient at every
evaluation of the line search: several backward passes per step, none summed with another."""
import torch
from torch import nn

torch.manual_seed(0)
X = torch.randn(256, 8)
Y = X[:, :2].sum(dim=1, keepdim=True)
model = nn.Sequential(nn.Linear(8, 32), nn.Tanh(), nn.Linear(32, 1))
opt = torch.optim.LBFGS(model.parameters(), lr=0.5, max_iter=5)
for step in range(20):

    def closure():
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(X), Y)
        loss.backward()
        return loss

    loss = opt.step(closure)
print("loss", loss.item())

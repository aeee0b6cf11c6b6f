"""Heteroscedastic regression: the model predicts a mean and a variance, the user takes
torch.sqrt of the raw variance output (no softplus). As the fit improves the variance is pushed
toward 0 and through it; sqrt of a negative number is NaN and the NaN spreads to every weight."""

import torch
from torch import nn

torch.manual_seed(112)
X = torch.randn(512, 6)
Y = X[:, :1] * 2 + 0.05 * torch.randn(512, 1)


class MeanVar(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(6, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh())
        self.mean = nn.Linear(32, 1)
        self.var = nn.Linear(32, 1)
        nn.init.constant_(self.var.bias, 1.0)

    def forward(self, x):
        h = self.body(x)
        return self.mean(h), self.var(h)


model = MeanVar()
opt = torch.optim.Adam(model.parameters(), lr=1e-2)
for step in range(60):
    idx = torch.randint(0, 512, (64,))
    opt.zero_grad()
    mu, var = model(X[idx])
    std = torch.sqrt(var)  # bug: var can go negative
    loss = (torch.log(std) + (Y[idx] - mu) ** 2 / (2 * std**2)).mean()
    loss.backward()
    opt.step()
print("loss", loss.item())

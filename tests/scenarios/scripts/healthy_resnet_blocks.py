"""Healthy: a 12-block residual MLP with LayerNorm (deep, but shortcuts keep gradients alive)."""
import torch
from torch import nn

torch.manual_seed(43)


class Block(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.norm = nn.LayerNorm(d)
        self.fc = nn.Linear(d, d)

    def forward(self, x):
        return x + torch.relu(self.fc(self.norm(x)))


class ResMLP(nn.Module):
    def __init__(self, d=32, depth=12):
        super().__init__()
        self.inp = nn.Linear(6, d)
        self.blocks = nn.Sequential(*[Block(d) for _ in range(depth)])
        self.out = nn.Linear(d, 1)

    def forward(self, x):
        return self.out(self.blocks(self.inp(x)))


model = ResMLP()
X = torch.randn(256, 6)
Y = (X[:, 0] * X[:, 1]).unsqueeze(1)
opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
for step in range(40):
    idx = torch.randint(0, 256, (32,))
    opt.zero_grad()
    loss = nn.functional.mse_loss(model(X[idx]), Y[idx])
    loss.backward()
    opt.step()
print("loss", loss.item())

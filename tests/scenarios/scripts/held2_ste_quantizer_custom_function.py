"""A custom autograd Function (straight-through rounding, as in quantisation-aware training)
between two blocks of an MLP, RMSprop with dropout. The Function passes the gradient through
unchanged, so training is healthy."""

import torch
from torch import nn

torch.manual_seed(113)


class RoundSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return torch.round(x * 8) / 8

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out


class QNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.block1 = nn.Sequential(nn.Linear(12, 48), nn.ReLU(), nn.Dropout(0.1))
        self.block2 = nn.Sequential(nn.Linear(48, 48), nn.ReLU(), nn.Dropout(0.1))
        self.head = nn.Linear(48, 1)

    def forward(self, x):
        h = RoundSTE.apply(self.block1(x))
        return self.head(self.block2(h))


X = torch.randn(512, 12)
Y = (X[:, :3] ** 2).sum(dim=1, keepdim=True)
model = QNet()
opt = torch.optim.RMSprop(model.parameters(), lr=1e-3)
for step in range(60):
    idx = torch.randint(0, 512, (64,))
    opt.zero_grad()
    loss = nn.functional.mse_loss(model(X[idx]), Y[idx])
    loss.backward()
    opt.step()
print("loss", loss.item())

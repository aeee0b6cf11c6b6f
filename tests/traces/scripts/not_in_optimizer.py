"""A parameter missing from the optimizer, a frozen one, and a head created after the optimizer."""

import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(4, 8)
        self.frozen = nn.Linear(8, 8)
        self.frozen.requires_grad_(False)
        self.scale = nn.Parameter(torch.ones(8))
        self.head = None

    def forward(self, x):
        h = torch.relu(self.frozen(self.body(x))) * self.scale
        return self.head(h) if self.head is not None else h.sum(dim=1, keepdim=True)


torch.manual_seed(0)
model = Net()
optimizer = torch.optim.SGD([model.body.weight, model.body.bias], lr=0.1)
model.head = nn.Linear(8, 1)  # created after the optimizer and never added to it
x, y = torch.randn(16, 4), torch.randn(16, 1)
for _ in range(3):
    optimizer.zero_grad()
    model.zero_grad()
    loss = nn.functional.mse_loss(model(x), y)
    loss.backward()
    optimizer.step()

"""Raises in the middle of training (after two optimizer steps)."""

import torch
from torch import nn

torch.manual_seed(0)
model = nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for step in range(5):
    optimizer.zero_grad()
    model(torch.randn(8, 4)).pow(2).mean().backward()
    if step == 2:
        raise RuntimeError("loss exploded at step 2")
    optimizer.step()

"""Intended gradient accumulation: 3 micro-batches per optimizer step, cleared every step."""

import torch
from torch import nn

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
data = [(torch.randn(8, 4), torch.randn(8, 1)) for _ in range(3)]
for _ in range(3):
    optimizer.zero_grad(set_to_none=False)
    for x, y in data:
        loss = nn.functional.mse_loss(model(x), y) / len(data)
        loss.backward()
    optimizer.step()

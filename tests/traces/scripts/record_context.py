"""traces.record() from code, with in-place activations (nn.ReLU(inplace=True), y += 1)."""

import sys

import torch
from torch import nn

import traces

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(inplace=True), nn.Linear(8, 1))
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
with traces.record(sys.argv[1]):
    for _ in range(3):
        optimizer.zero_grad()
        out = model(torch.randn(8, 4))
        out += 1
        out.pow(2).mean().backward()
        optimizer.step()
print("after")

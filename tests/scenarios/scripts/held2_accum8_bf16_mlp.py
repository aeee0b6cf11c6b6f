"""Gradient accumulation done right, k=8 micro-batches per step under bfloat16 autocast on CPU:
loss / accum_steps, clip, step, zero_grad(set_to_none=True) after each step."""

import torch
from torch import nn

torch.manual_seed(108)
ACCUM = 8
X = torch.randn(2048, 24)
Y = torch.sin(X[:, :4]).sum(dim=1, keepdim=True)
model = nn.Sequential(
    nn.Linear(24, 64), nn.GELU(), nn.LayerNorm(64), nn.Linear(64, 64), nn.GELU(), nn.Linear(64, 1)
)
opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.05)
for step in range(30):
    for micro in range(ACCUM):
        idx = torch.randint(0, 2048, (16,))
        with torch.autocast("cpu", dtype=torch.bfloat16):
            pred = model(X[idx])
        loss = nn.functional.mse_loss(pred.float(), Y[idx]) / ACCUM
        loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    opt.zero_grad(set_to_none=True)
print("loss", loss.item())

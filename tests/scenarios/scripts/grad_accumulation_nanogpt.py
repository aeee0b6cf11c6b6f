"""Intended gradient accumulation, nanoGPT-style: loss / accum_steps, k backward passes per
step, zero_grad after each step."""
import torch
from torch import nn

torch.manual_seed(14)
accum_steps = 4
X = torch.randn(1024, 12)
Y = X[:, :3].sum(dim=1, keepdim=True)
model = nn.Sequential(nn.Linear(12, 48), nn.ReLU(), nn.Linear(48, 48), nn.ReLU(), nn.Linear(48, 1))
opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
for it in range(25):
    for micro in range(accum_steps):
        idx = torch.randint(0, 1024, (16,))
        loss = nn.functional.mse_loss(model(X[idx]), Y[idx]) / accum_steps
        loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    opt.zero_grad(set_to_none=True)
print("loss", loss.item())

"""Healthy: a GPT-style MLP stack initialised N(0, 0.02) (small beside PyTorch's default at
width 64) with AdamW at 3e-3, a linear warm-up over 10 steps and cosine decay: the first steps
move the weights by a few percent, the peak rate by more, and the loss falls."""
import math

import torch
from torch import nn

torch.manual_seed(43)
V, D = 32, 64


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm = nn.LayerNorm(D)
        self.fc = nn.Linear(D, 4 * D)
        self.proj = nn.Linear(4 * D, D)

    def forward(self, x):
        return x + self.proj(nn.functional.gelu(self.fc(self.norm(x))))


model = nn.Sequential(nn.Embedding(V, D), Block(), Block(), nn.LayerNorm(D), nn.Linear(D, V))
for name, p in model.named_parameters():
    if p.dim() >= 2:
        nn.init.normal_(p, 0.0, 0.02)
    elif name.endswith("bias"):
        nn.init.zeros_(p)
opt = torch.optim.AdamW(model.parameters(), lr=3e-3, betas=(0.9, 0.95), weight_decay=0.1)
steps, warmup = 60, 10
sched = torch.optim.lr_scheduler.LambdaLR(
    opt,
    lambda s: (s + 1) / warmup if s < warmup else 0.5 * (1 + math.cos(math.pi * s / steps)),
)
for step in range(steps):
    tokens = torch.randint(0, V, (64,))
    target = (tokens * 7 + 3) % V  # a fixed token-to-token map
    opt.zero_grad(set_to_none=True)
    loss = nn.functional.cross_entropy(model(tokens), target)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    sched.step()
print("loss", loss.item())

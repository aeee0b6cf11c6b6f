"""Healthy: a small Transformer classifier over token embeddings, bfloat16 autocast on CPU,
AdamW with weight decay, label smoothing, linear warm-up then cosine decay, gradient clipping,
and early stopping on a validation loss (the run may stop before its last step)."""

import math

import torch
from torch import nn

torch.manual_seed(114)
VOCAB, SEQ, D = 30, 10, 32
tokens = torch.randint(0, VOCAB, (600, SEQ))
labels = (tokens == 3).any(dim=1).long() + (tokens == 7).any(dim=1).long()
tr_x, tr_y, va_x, va_y = tokens[:500], labels[:500], tokens[500:], labels[500:]


class TinyTransformer(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, D)
        block = nn.TransformerEncoderLayer(
            D, nhead=4, dim_feedforward=64, dropout=0.1, batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(block, num_layers=2)
        self.norm = nn.LayerNorm(D)
        self.head = nn.Linear(D, 3)

    def forward(self, x):
        return self.head(self.norm(self.encoder(self.embed(x))).mean(dim=1))


model = TinyTransformer()
opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
STEPS, WARM = 60, 6
sched = torch.optim.lr_scheduler.LambdaLR(
    opt,
    lambda s: (s + 1) / WARM if s < WARM else 0.5 * (1 + math.cos(math.pi * (s - WARM) / STEPS)),
)
criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
best, patience = float("inf"), 0
for step in range(STEPS):
    model.train()
    idx = torch.randint(0, 500, (32,))
    opt.zero_grad()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = model(tr_x[idx])
    loss = criterion(logits.float(), tr_y[idx])
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    sched.step()
    if step % 5 == 4:
        model.eval()
        with torch.no_grad():
            val = criterion(model(va_x), va_y).item()
        if val < best - 1e-3:
            best, patience = val, 0
        else:
            patience += 1
        if patience >= 4:
            print("early stop at", step)
            break
print("loss", loss.item())

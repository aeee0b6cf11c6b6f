"""Healthy: a tiny Transformer encoder on a copy-the-max-token task, AdamW with a warm-up."""
import torch
from torch import nn

torch.manual_seed(5)
V, D = 16, 32


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(V, D)
        self.pos = nn.Parameter(torch.zeros(1, 8, D))
        layer = nn.TransformerEncoderLayer(D, nhead=4, dim_feedforward=64, dropout=0.0,
                                           batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(D)
        self.head = nn.Linear(D, V)

    def forward(self, tokens):
        h = self.encoder(self.emb(tokens) + self.pos)
        return self.head(self.norm(h.mean(dim=1)))


model = Tiny()
opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.01)
sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 8))
for step in range(40):
    tokens = torch.randint(0, V, (32, 8))
    target = tokens.max(dim=1).values
    opt.zero_grad(set_to_none=True)
    loss = nn.functional.cross_entropy(model(tokens), target)
    loss.backward()
    opt.step()
    sched.step()
print("loss", loss.item())

"""Held out. Bug: a tiny Transformer classifier trained with AdamW at lr=0.3."""
import torch
from torch import nn

torch.manual_seed(103)


class Tiny(nn.Module):
    def __init__(self, v=12, d=24):
        super().__init__()
        self.emb = nn.Embedding(v, d)
        layer = nn.TransformerEncoderLayer(d, nhead=2, dim_feedforward=48, dropout=0.0,
                                           batch_first=True)
        self.enc = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
        self.out = nn.Linear(d, 2)

    def forward(self, x):
        return self.out(self.enc(self.emb(x)).mean(dim=1))


model = Tiny()
opt = torch.optim.AdamW(model.parameters(), lr=0.3)
for step in range(40):
    x = torch.randint(0, 12, (32, 6))
    y = (x[:, 0] > x[:, -1]).long()
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
print("loss", loss.item())

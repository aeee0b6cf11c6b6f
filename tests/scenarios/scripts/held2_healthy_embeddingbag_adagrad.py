"""Healthy: bag-of-words text classification with nn.EmbeddingBag (mean mode) and a small MLP
head, trained with Adagrad (a classic choice for sparse features)."""

import torch
from torch import nn

torch.manual_seed(116)
VOCAB, DOCLEN = 200, 15
docs = torch.randint(0, VOCAB, (800, DOCLEN))
labels = ((docs < 20).sum(dim=1) > (docs >= 180).sum(dim=1)).long()


class BowClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.bag = nn.EmbeddingBag(VOCAB, 32, mode="mean")
        self.mlp = nn.Sequential(nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 2))

    def forward(self, d):
        return self.mlp(self.bag(d))


model = BowClassifier()
opt = torch.optim.Adagrad(model.parameters(), lr=0.05)
for step in range(60):
    idx = torch.randint(0, 800, (64,))
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(docs[idx]), labels[idx])
    loss.backward()
    opt.step()
print("loss", loss.item())

"""A tiny Transformer encoder classifier trained with SGD at lr=1e-7 (a learning rate meant for
a much larger fine-tuning run): the weights barely move and the loss stays flat."""

import torch
from torch import nn

torch.manual_seed(106)
VOCAB, SEQ, D = 40, 12, 32
tokens = torch.randint(0, VOCAB, (256, SEQ))
labels = (tokens[:, 0] < VOCAB // 2).long()


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, D)
        self.pos = nn.Parameter(torch.randn(1, SEQ, D) * 0.02)
        layer = nn.TransformerEncoderLayer(D, nhead=4, dim_feedforward=64, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2)
        self.head = nn.Linear(D, 2)

    def forward(self, tok):
        h = self.encoder(self.embed(tok) + self.pos)
        return self.head(h.mean(dim=1))


model = Classifier()
opt = torch.optim.SGD(model.parameters(), lr=1e-7)
for step in range(50):
    idx = torch.randint(0, 256, (32,))
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(tokens[idx]), labels[idx])
    loss.backward()
    opt.step()
print("loss", loss.item())

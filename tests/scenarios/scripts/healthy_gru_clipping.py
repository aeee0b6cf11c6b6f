"""Healthy: a GRU sequence classifier with gradient-norm clipping, RMSprop."""
import torch
from torch import nn

torch.manual_seed(4)


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(20, 16)
        self.gru = nn.GRU(16, 32, batch_first=True)
        self.fc = nn.Linear(32, 2)

    def forward(self, tokens):
        h, _ = self.gru(self.emb(tokens))
        return self.fc(h[:, -1])


model = Classifier()
opt = torch.optim.RMSprop(model.parameters(), lr=3e-3)
for step in range(40):
    tokens = torch.randint(0, 20, (32, 10))
    label = (tokens < 10).sum(dim=1).gt(5).long()
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(tokens), label)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    opt.step()
print("loss", loss.item())

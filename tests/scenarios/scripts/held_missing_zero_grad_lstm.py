"""Held out. Bug: a character-level LSTM language model trained without clearing gradients."""
import torch
from torch import nn

torch.manual_seed(101)
text = "the quick brown fox jumps over the lazy dog " * 20
vocab = sorted(set(text))
ids = torch.tensor([vocab.index(c) for c in text])


class CharLM(nn.Module):
    def __init__(self, v, d=32):
        super().__init__()
        self.emb = nn.Embedding(v, d)
        self.lstm = nn.LSTM(d, 48, batch_first=True)
        self.proj = nn.Linear(48, v)

    def forward(self, x):
        h, _ = self.lstm(self.emb(x))
        return self.proj(h)


model = CharLM(len(vocab))
opt = torch.optim.Adam(model.parameters(), lr=3e-3)
for step in range(30):
    starts = torch.randint(0, len(ids) - 17, (16,))
    batch = torch.stack([ids[s:s + 17] for s in starts])
    logits = model(batch[:, :-1])
    loss = nn.functional.cross_entropy(logits.reshape(-1, len(vocab)), batch[:, 1:].reshape(-1))
    loss.backward()
    opt.step()
print("loss", loss.item())

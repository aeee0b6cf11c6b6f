"""Healthy: the word-language-model shape. Manual SGD (no optimizer), the whole model saved,
then loaded back into the SAME name (`model = torch.load(f)`, as word_language_model does)
and evaluated under torch.no_grad(): the copy's paths are written "model.encoder#1", ....
A loss module is a second root, so every path carries the name "model."."""
import os
import tempfile

import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Embedding(50, 16)
        self.rnn = nn.LSTM(16, 32, batch_first=True)
        self.decoder = nn.Linear(32, 50)

    def forward(self, tokens):
        out, _ = self.rnn(self.encoder(tokens))
        return self.decoder(out)


torch.manual_seed(11)
data = torch.randint(0, 50, (64, 13))
model = Net()
criterion = nn.CrossEntropyLoss()
path = os.path.join(tempfile.mkdtemp(), "model.pt")
for step in range(40):
    model.zero_grad()
    logits = model(data[:, :-1])
    loss = criterion(logits.reshape(-1, 50), data[:, 1:].reshape(-1))
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
    for p in model.parameters():
        p.data.add_(p.grad, alpha=-1.0)
with open(path, "wb") as f:
    torch.save(model, f)

with open(path, "rb") as f:
    model = torch.load(f, weights_only=False)
model.eval()
with torch.no_grad():
    test_logits = model(data[:, :-1])
    test_loss = criterion(test_logits.reshape(-1, 50), data[:, 1:].reshape(-1))
print("loss", loss.item(), "test loss", test_loss.item())

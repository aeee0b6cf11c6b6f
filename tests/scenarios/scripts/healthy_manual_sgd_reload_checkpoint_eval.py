"""Healthy: the word-language-model shape. Manual SGD (no optimizer), the best model saved,
then loaded into a new model object and evaluated on the test set under torch.no_grad()."""
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
path = os.path.join(tempfile.mkdtemp(), "model.pt")
for step in range(40):
    model.zero_grad()
    logits = model(data[:, :-1])
    loss = nn.functional.cross_entropy(logits.reshape(-1, 50), data[:, 1:].reshape(-1))
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
    for p in model.parameters():
        p.data.add_(p.grad, alpha=-1.0)
torch.save(model.state_dict(), path)

best = Net()
best.load_state_dict(torch.load(path))
best.eval()
with torch.no_grad():
    test_logits = best(data[:, :-1])
    test_loss = nn.functional.cross_entropy(test_logits.reshape(-1, 50), data[:, 1:].reshape(-1))
print("loss", loss.item(), "test loss", test_loss.item())

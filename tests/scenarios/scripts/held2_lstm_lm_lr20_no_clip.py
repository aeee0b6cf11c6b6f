"""PyTorch's word-language-model recipe (plain SGD, lr=20) with gradient clipping left out
(--clip 0): the recipe only works because clip_grad_norm_(0.25) bounds each step; without it
the first steps move the weights far beyond their size and the loss blows up."""

import torch
from torch import nn

torch.manual_seed(110)
VOCAB, EMB, HID, BPTT, BATCH = 50, 32, 64, 20, 8
data = torch.randint(0, VOCAB, (BATCH, 50 * BPTT + 1))


class RNNModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Embedding(VOCAB, EMB)
        self.rnn = nn.LSTM(EMB, HID, num_layers=2, batch_first=True)
        self.decoder = nn.Linear(HID, VOCAB)

    def forward(self, x, hidden):
        out, hidden = self.rnn(self.encoder(x), hidden)
        return self.decoder(out), hidden


model = RNNModel()
opt = torch.optim.SGD(model.parameters(), lr=20.0)
hidden = None
for step in range(50):
    x = data[:, step * BPTT : (step + 1) * BPTT]
    t = data[:, step * BPTT + 1 : (step + 1) * BPTT + 1]
    if hidden is not None:
        hidden = tuple(h.detach() for h in hidden)
    opt.zero_grad()
    logits, hidden = model(x, hidden)
    loss = nn.functional.cross_entropy(logits.reshape(-1, VOCAB), t.reshape(-1))
    loss.backward()
    # nn.utils.clip_grad_norm_(model.parameters(), 0.25)  # left out
    opt.step()
print("loss", loss.item())

"""Character-level GRU language model trained with truncated BPTT: the hidden state is detached
between chunks (right), but optimizer.zero_grad() is missing, so every step applies the sum of
all previous chunks' gradients."""

import torch
from torch import nn

torch.manual_seed(107)
VOCAB, HID, CHUNK = 20, 48, 16
text = torch.randint(0, VOCAB, (1, 60 * CHUNK + 1))


class CharRNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, 16)
        self.gru = nn.GRU(16, HID, batch_first=True)
        self.out = nn.Linear(HID, VOCAB)

    def forward(self, x, h):
        y, h = self.gru(self.embed(x), h)
        return self.out(y), h


model = CharRNN()
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
h = torch.zeros(1, 1, HID)
for step in range(60):
    x = text[:, step * CHUNK : (step + 1) * CHUNK]
    t = text[:, step * CHUNK + 1 : (step + 1) * CHUNK + 1]
    h = h.detach()
    logits, h = model(x, h)
    loss = nn.functional.cross_entropy(logits.reshape(-1, VOCAB), t.reshape(-1))
    loss.backward()  # bug: no opt.zero_grad() anywhere in the loop
    opt.step()
print("loss", loss.item())

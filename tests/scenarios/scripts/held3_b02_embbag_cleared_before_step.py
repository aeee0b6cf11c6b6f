"""Third held-out batch (outside tester, written and labelled blind; its report: tests/scenarios/held3_blind_report.md)."""
# EmbeddingBag text classifier, Adagrad -- BUG: zero_grad() placed after backward() but before step()
import torch, torch.nn as nn
torch.manual_seed(11)
VOCAB, NCLS = 200, 4
class BagClf(nn.Module):
    def __init__(self):
        super().__init__()
        self.bag = nn.EmbeddingBag(VOCAB, 32, mode="mean")
        self.fc = nn.Linear(32, NCLS)
    def forward(self, text, offsets):
        return self.fc(self.bag(text, offsets))
def make_batch(bs=32):
    labels = torch.randint(0, NCLS, (bs,))
    toks, offs, o = [], [], 0
    for lab in labels.tolist():
        n = int(torch.randint(5, 15, (1,)))
        t = torch.randint(0, VOCAB, (n,))
        t[: n // 2] = lab * 50 + torch.randint(0, 50, (n // 2,))  # class-indicative tokens
        toks.append(t); offs.append(o); o += n
    return torch.cat(toks), torch.tensor(offs), labels
model = BagClf()
opt = torch.optim.Adagrad(model.parameters(), lr=0.1)
for step in range(60):
    text, offsets, labels = make_batch()
    loss = nn.functional.cross_entropy(model(text, offsets), labels)
    loss.backward()
    opt.zero_grad()
    opt.step()
    if step % 10 == 0:
        print(step, loss.item())

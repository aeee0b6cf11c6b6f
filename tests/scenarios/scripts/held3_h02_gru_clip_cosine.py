"""Third held-out batch (outside tester, written and labelled blind; its report: tests/scenarios/held3_blind_report.md)."""
# GRU sequence classifier, AdamW, grad clipping, CosineAnnealingLR
import torch, torch.nn as nn
torch.manual_seed(1)
class SeqClf(nn.Module):
    def __init__(self, vocab=50, emb=16, hid=32, ncls=3):
        super().__init__()
        self.emb = nn.Embedding(vocab, emb)
        self.gru = nn.GRU(emb, hid, batch_first=True, num_layers=2, dropout=0.1)
        self.drop = nn.Dropout(0.2)
        self.fc = nn.Linear(hid, ncls)
    def forward(self, x):
        out, h = self.gru(self.emb(x))
        return self.fc(self.drop(h[-1]))
N, T = 640, 20
X = torch.randint(0, 50, (N, T))
y = (X[:, :5] < 17).sum(1).clamp(max=2)
model = SeqClf()
opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-2)
steps = 60
sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
lossf = nn.CrossEntropyLoss()
for step in range(steps):
    idx = torch.randint(0, N, (32,))
    logits = model(X[idx])
    loss = lossf(logits, y[idx])
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    opt.step()
    sched.step()
    if step % 10 == 0:
        print(step, loss.item())

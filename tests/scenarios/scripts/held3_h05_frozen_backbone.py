"""Third held-out batch (outside tester, written and labelled blind; its report: tests/scenarios/held3_blind_report.md)."""
# "pretrained" frozen backbone + new classification head, AdamW w/ weight decay, dropout,
# model.zero_grad(set_to_none=False)
import torch, torch.nn as nn
torch.manual_seed(4)
backbone = nn.Sequential(nn.Linear(20, 64), nn.GELU(), nn.Linear(64, 64), nn.GELU())
# pretend pretraining happened: load weights, then freeze
for p in backbone.parameters():
    p.requires_grad = False
backbone.eval()
head = nn.Sequential(nn.Dropout(0.1), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 5))
model = nn.Sequential(backbone, head)
X = torch.randn(800, 20)
y = (X[:, :5] * torch.arange(1, 6)).argmax(1)
opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-3, weight_decay=0.05)
for step in range(60):
    idx = torch.randint(0, 800, (64,))
    model.zero_grad(set_to_none=False)
    loss = nn.functional.cross_entropy(model(X[idx]), y[idx])
    loss.backward()
    opt.step()
    if step % 10 == 0:
        print(step, loss.item())

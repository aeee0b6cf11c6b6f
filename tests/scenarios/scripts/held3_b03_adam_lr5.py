"""Third held-out batch (outside tester, written and labelled blind; its report: tests/scenarios/held3_blind_report.md)."""
# MLP classifier -- BUG: Adam with lr=5.0 (meant 5e-3?)
import torch, torch.nn as nn
torch.manual_seed(12)
X = torch.randn(1000, 16)
y = (X[:, :4].sum(1) > 0).long() + (X[:, 4:8].sum(1) > 0).long()
model = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 3))
opt = torch.optim.Adam(model.parameters(), lr=5.0)
for step in range(60):
    idx = torch.randint(0, 1000, (64,))
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(X[idx]), y[idx])
    loss.backward()
    opt.step()
    if step % 10 == 0:
        print(step, loss.item())

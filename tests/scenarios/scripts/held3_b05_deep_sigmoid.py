"""Third held-out batch (outside tester, written and labelled blind; its report: tests/scenarios/held3_blind_report.md)."""
# BUG: deep (12 hidden layers) sigmoid MLP, plain SGD
import torch, torch.nn as nn
torch.manual_seed(14)
layers, d = [], 20
for i in range(12):
    layers += [nn.Linear(d, 32), nn.Sigmoid()]
    d = 32
layers.append(nn.Linear(32, 2))
model = nn.Sequential(*layers)
X = torch.randn(1000, 20)
y = (X[:, 0] * X[:, 1] > 0).long()
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for step in range(60):
    idx = torch.randint(0, 1000, (64,))
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(X[idx]), y[idx])
    loss.backward()
    opt.step()
    if step % 10 == 0:
        print(step, loss.item())

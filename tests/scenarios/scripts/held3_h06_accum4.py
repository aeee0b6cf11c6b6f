"""Third held-out batch (outside tester, written and labelled blind; its report: tests/scenarios/held3_blind_report.md)."""
# correct gradient accumulation over 4 micro-batches (MLP regression, Adam)
import torch, torch.nn as nn
torch.manual_seed(5)
model = nn.Sequential(nn.Linear(8, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 1))
X = torch.randn(1024, 8)
y = torch.sin(X[:, :1]) + 0.5 * X[:, 1:2] ** 2
opt = torch.optim.Adam(model.parameters(), lr=3e-3)
accum = 4
opt.zero_grad()
for i in range(200):  # 200 micro-batches -> 50 optimizer steps
    idx = torch.randint(0, 1024, (16,))
    loss = nn.functional.mse_loss(model(X[idx]), y[idx]) / accum
    loss.backward()
    if (i + 1) % accum == 0:
        opt.step()
        opt.zero_grad()
        if (i + 1) % 40 == 0:
            print(i, loss.item() * accum)

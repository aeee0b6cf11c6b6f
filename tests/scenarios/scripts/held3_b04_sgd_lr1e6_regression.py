"""Third held-out batch (outside tester, written and labelled blind; its report: tests/scenarios/held3_blind_report.md)."""
# MLP regression -- BUG: SGD lr=1e-6, loss barely moves
import torch, torch.nn as nn
torch.manual_seed(13)
X = torch.randn(2000, 6)
y = X @ torch.tensor([[1.5], [-2.0], [0.7], [0.0], [3.0], [-1.0]]) + 0.5 + 0.1 * torch.randn(2000, 1)
model = nn.Sequential(nn.Linear(6, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 1))
opt = torch.optim.SGD(model.parameters(), lr=1e-6)
lossf = nn.MSELoss()
for step in range(60):
    idx = torch.randint(0, 2000, (64,))
    opt.zero_grad()
    loss = lossf(model(X[idx]), y[idx])
    loss.backward()
    opt.step()
    if step % 10 == 0:
        print(step, loss.item())

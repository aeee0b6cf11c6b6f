"""Third held-out batch (outside tester, written and labelled blind; its report: tests/scenarios/held3_blind_report.md)."""
# LSTM regression on long sequences (T=200) -- BUG: large uniform init, big lr, no gradient clipping
import torch, torch.nn as nn
torch.manual_seed(18)
class Reg(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(4, 32, batch_first=True)
        self.out = nn.Linear(32, 1)
        for name, p in self.lstm.named_parameters():
            nn.init.uniform_(p, -0.8, 0.8)   # "bigger init for long-range memory"
    def forward(self, x):
        o, _ = self.lstm(x)
        return self.out(o[:, -1])
T = 200
X = torch.randn(256, T, 4)
y = X[:, :, 0].sum(1, keepdim=True)            # running sum, std ~14
model = Reg()
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
for step in range(40):
    idx = torch.randint(0, 256, (32,))
    opt.zero_grad()
    loss = nn.functional.mse_loss(model(X[idx]), y[idx])
    loss.backward()
    opt.step()
    if step % 5 == 0:
        print(step, loss.item())

import torch, torch.nn as nn
torch.manual_seed(2)
class Net(nn.Module):
    def __init__(self):
        super().__init__(); self.l1 = nn.Linear(20, 64); self.l2 = nn.Linear(64, 64); self.out = nn.Linear(64, 1)
    def forward(self, x):
        return self.out(torch.tanh(self.l2(torch.tanh(self.l1(x)))))
net = Net(); opt = torch.optim.Adam(net.parameters(), lr=1e-3)
X = torch.randn(512, 20); y = X[:, :3].sum(1, keepdim=True)
for step in range(60):
    idx = torch.randint(0, 512, (64,))
    loss = ((net(X[idx]) - y[idx]) ** 2).mean()
    loss.backward()
    opt.step()
print(loss.item())

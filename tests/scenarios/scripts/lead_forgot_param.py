import torch, torch.nn as nn
torch.manual_seed(7)
class M(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.Linear(8, 32); self.dec = nn.Linear(32, 8)
        self.scale = nn.Parameter(torch.ones(32))
    def forward(self, x):
        return self.dec(torch.relu(self.enc(x)) * self.scale)
m = M()
opt = torch.optim.SGD(list(m.enc.parameters()) + list(m.dec.parameters()), lr=0.05)
X = torch.randn(256, 8)
for step in range(50):
    opt.zero_grad(); loss = nn.functional.mse_loss(m(X), X); loss.backward(); opt.step()

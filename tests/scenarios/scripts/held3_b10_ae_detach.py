"""Third held-out batch (outside tester, written and labelled blind; its report: tests/scenarios/held3_blind_report.md)."""
# autoencoder -- BUG: latent .detach()ed (kept for logging) and the detached tensor fed to decoder
import torch, torch.nn as nn
torch.manual_seed(19)
class AE(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 4))
        self.decoder = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 32))
        self.last_z = None
    def forward(self, x):
        z = self.encoder(x)
        self.last_z = z.detach()
        return self.decoder(self.last_z)
base = torch.randn(4, 32)
X = torch.randn(1000, 4) @ base + 0.05 * torch.randn(1000, 32)
model = AE()
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
for step in range(60):
    idx = torch.randint(0, 1000, (64,))
    xb = X[idx]
    opt.zero_grad()
    loss = nn.functional.mse_loss(model(xb), xb)
    loss.backward()
    opt.step()
    if step % 10 == 0:
        print(step, loss.item())

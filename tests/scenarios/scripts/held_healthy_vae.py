"""Held out. Healthy: a small VAE with the reparameterisation trick, Adam."""
import torch
from torch import nn

torch.manual_seed(102)


class VAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.Sequential(nn.Linear(20, 64), nn.ReLU())
        self.mu = nn.Linear(64, 4)
        self.logvar = nn.Linear(64, 4)
        self.dec = nn.Sequential(nn.Linear(4, 64), nn.ReLU(), nn.Linear(64, 20))

    def forward(self, x):
        h = self.enc(x)
        mu, logvar = self.mu(h), self.logvar(h)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.dec(z), mu, logvar


data = torch.randn(512, 4) @ torch.randn(4, 20)
model = VAE()
opt = torch.optim.Adam(model.parameters(), lr=2e-3)
for step in range(50):
    x = data[torch.randint(0, 512, (64,))]
    recon, mu, logvar = model(x)
    kl = -0.5 * torch.mean(1 + logvar - mu.pow(2) - logvar.exp())
    loss = nn.functional.mse_loss(recon, x) + 0.1 * kl
    opt.zero_grad()
    loss.backward()
    opt.step()
print("loss", loss.item())

"""Healthy: a GAN learning a 2-D Gaussian, two Adam optimizers (DCGAN-style loop)."""
import torch
from torch import nn

torch.manual_seed(6)
G = nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 2))
D = nn.Sequential(nn.Linear(2, 32), nn.LeakyReLU(0.2), nn.Linear(32, 32), nn.LeakyReLU(0.2),
                  nn.Linear(32, 1))
optG = torch.optim.Adam(G.parameters(), lr=1e-3, betas=(0.5, 0.999))
optD = torch.optim.Adam(D.parameters(), lr=1e-3, betas=(0.5, 0.999))
bce = nn.BCEWithLogitsLoss()
for step in range(30):
    real = torch.randn(64, 2) * 0.5 + torch.tensor([2.0, -1.0])
    z = torch.randn(64, 4)
    fake = G(z)
    optD.zero_grad()
    lossD = bce(D(real), torch.ones(64, 1)) + bce(D(fake.detach()), torch.zeros(64, 1))
    lossD.backward()
    optD.step()
    optG.zero_grad()
    lossG = bce(D(fake), torch.ones(64, 1))
    lossG.backward()
    optG.step()
print("losses", lossD.item(), lossG.item())

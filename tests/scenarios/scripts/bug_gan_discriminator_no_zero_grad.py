"""Bug: a GAN whose discriminator gradients are never cleared (only the generator's are)."""
import torch
from torch import nn

torch.manual_seed(41)
netG = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 2))
netD = nn.Sequential(nn.Linear(2, 32), nn.LeakyReLU(0.2), nn.Linear(32, 1))
optG = torch.optim.Adam(netG.parameters(), lr=2e-4, betas=(0.5, 0.999))
optD = torch.optim.Adam(netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
bce = nn.BCEWithLogitsLoss()
for step in range(30):
    real = torch.randn(32, 2) + 3
    fake = netG(torch.randn(32, 8))
    errD = bce(netD(real), torch.ones(32, 1)) + bce(netD(fake.detach()), torch.zeros(32, 1))
    errD.backward()
    optD.step()
    optG.zero_grad()
    errG = bce(netD(fake), torch.ones(32, 1))
    errG.backward()
    optG.step()
print("losses", errD.item(), errG.item())

"""Two optimizers: a tiny GAN with a generator and a discriminator stepped in turn."""

import torch
from torch import nn

torch.manual_seed(0)
generator = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))
discriminator = nn.Sequential(nn.Linear(2, 8), nn.LeakyReLU(0.2), nn.Linear(8, 1), nn.Sigmoid())
opt_g = torch.optim.Adam(generator.parameters(), lr=1e-3)
opt_d = torch.optim.Adam(discriminator.parameters(), lr=2e-3)
bce = nn.BCELoss()
for _ in range(3):
    real, z = torch.randn(16, 2) + 3, torch.randn(16, 2)
    opt_d.zero_grad()
    fake = generator(z).detach()
    loss_d = bce(discriminator(real), torch.ones(16, 1)) + bce(
        discriminator(fake), torch.zeros(16, 1)
    )
    loss_d.backward()
    opt_d.step()
    opt_g.zero_grad()
    loss_g = bce(discriminator(generator(z)), torch.ones(16, 1))
    loss_g.backward()
    opt_g.step()

"""Healthy: a tanh autoencoder compressing 16-d data that lives on a 3-d subspace."""
import torch
from torch import nn

torch.manual_seed(46)
basis = torch.randn(3, 16)
X = torch.randn(512, 3) @ basis * 0.3
enc = nn.Sequential(nn.Linear(16, 32), nn.Tanh(), nn.Linear(32, 3))
dec = nn.Sequential(nn.Linear(3, 32), nn.Tanh(), nn.Linear(32, 16))
opt = torch.optim.Adam(list(enc.parameters()) + list(dec.parameters()), lr=3e-3)
for step in range(50):
    idx = torch.randint(0, 512, (64,))
    opt.zero_grad()
    loss = nn.functional.mse_loss(dec(enc(X[idx])), X[idx])
    loss.backward()
    opt.step()
print("loss", loss.item())

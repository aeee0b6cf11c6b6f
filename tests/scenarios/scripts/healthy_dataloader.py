"""Healthy: a DataLoader over a TensorDataset with shuffling, a few epochs, AdamW."""
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(13)
X = torch.randn(320, 6)
Y = (X @ torch.randn(6, 1)).tanh()
loader = DataLoader(TensorDataset(X, Y), batch_size=32, shuffle=True)
model = nn.Sequential(nn.Linear(6, 32), nn.GELU(), nn.Linear(32, 1))
opt = torch.optim.AdamW(model.parameters(), lr=5e-3)
for epoch in range(5):
    for xb, yb in loader:
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(xb), yb)
        loss.backward()
        opt.step()
print("loss", loss.item())

"""Healthy: a small CNN with BatchNorm on synthetic 'images' (class = bright quadrant), Adam."""
import torch
from torch import nn
import torch.nn.functional as F

torch.manual_seed(2)
N = 256
X = torch.randn(N, 1, 12, 12) * 0.5
Y = torch.randint(0, 4, (N,))
for i in range(N):
    r, c = divmod(int(Y[i]), 2)
    X[i, 0, r * 6:(r + 1) * 6, c * 6:(c + 1) * 6] += 1.5

model = nn.Sequential(
    nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.AdaptiveAvgPool2d(2),
    nn.Flatten(), nn.Linear(64, 4),
)
opt = torch.optim.Adam(model.parameters(), lr=3e-3)
for step in range(40):
    idx = torch.randint(0, N, (32,))
    opt.zero_grad()
    loss = F.cross_entropy(model(X[idx]), Y[idx])
    loss.backward()
    opt.step()
print("loss", loss.item())

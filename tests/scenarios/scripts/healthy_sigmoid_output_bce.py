"""Healthy: a binary classifier with a Sigmoid output layer and BCELoss on an easy task: the
output saturates because the classifier is confident, which is fine."""
import torch
from torch import nn

torch.manual_seed(45)
X = torch.randn(512, 4)
Y = (X[:, 0] > 0).float().unsqueeze(1)
model = nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Linear(32, 1), nn.Sigmoid())
opt = torch.optim.Adam(model.parameters(), lr=2e-2)
for step in range(60):
    idx = torch.randint(0, 512, (64,))
    opt.zero_grad()
    loss = nn.functional.binary_cross_entropy(model(X[idx]), Y[idx])
    loss.backward()
    opt.step()
print("loss", loss.item())

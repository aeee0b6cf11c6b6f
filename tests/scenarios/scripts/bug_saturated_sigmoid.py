"""Bug: a sigmoid hidden layer fed with large unnormalised inputs (scale 50): its outputs sit at
0 or 1."""
import torch
from torch import nn

torch.manual_seed(33)
X = torch.randn(512, 8) * 50
Y = (X[:, 0] > 0).float().unsqueeze(1)
model = nn.Sequential(nn.Linear(8, 32), nn.Sigmoid(), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 1))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
for step in range(40):
    idx = torch.randint(0, 512, (64,))
    opt.zero_grad()
    loss = nn.functional.binary_cross_entropy_with_logits(model(X[idx]), Y[idx])
    loss.backward()
    opt.step()
print("loss", loss.item())

"""Bug: an accumulation loop (4 micro-batches per step) that never clears the gradients."""
import torch
from torch import nn

torch.manual_seed(22)
accum = 4
X = torch.randn(512, 8)
Y = X[:, :1] * 2 - X[:, 1:2]
model = nn.Sequential(nn.Linear(8, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.01)
for it in range(20):
    for micro in range(accum):
        idx = torch.randint(0, 512, (16,))
        loss = nn.functional.mse_loss(model(X[idx]), Y[idx]) / accum
        loss.backward()
    opt.step()
print("loss", loss.item())

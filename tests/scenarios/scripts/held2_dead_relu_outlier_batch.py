"""Regression CNN on sensor images, one corrupted batch (a saturated sensor reading 1e3 instead
of ~1) arrives at step 10 without clipping: that single SGD step throws the conv biases far
negative and most ReLU units never fire again."""

import torch
from torch import nn

torch.manual_seed(111)
X = torch.randn(512, 1, 8, 8)
Y = X.mean(dim=(1, 2, 3)).unsqueeze(1) * 3
model = nn.Sequential(
    nn.Conv2d(1, 16, 3, padding=1),
    nn.ReLU(),
    nn.Conv2d(16, 16, 3, padding=1),
    nn.ReLU(),
    nn.AdaptiveAvgPool2d(1),
    nn.Flatten(),
    nn.Linear(16, 1),
)
opt = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
for step in range(60):
    idx = torch.randint(0, 512, (32,))
    xb, yb = X[idx], Y[idx]
    if step == 10:
        xb = xb.clone()
        xb[:4] = 1e3  # the corrupted readings
        yb = yb.clone()
        yb[:4] = 1e3
    opt.zero_grad()
    loss = nn.functional.mse_loss(model(xb), yb)
    loss.backward()
    opt.step()
print("loss", loss.item())

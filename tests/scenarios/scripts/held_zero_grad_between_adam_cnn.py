"""Held out. Bug: a CNN whose loop calls model.zero_grad() after backward(), before step()."""
import torch
from torch import nn

torch.manual_seed(106)
model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                      nn.Linear(8, 3))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
for step in range(30):
    x = torch.randn(16, 3, 8, 8)
    y = x.mean(dim=(2, 3)).argmax(dim=1)
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    model.zero_grad(set_to_none=True)
    opt.step()
print("loss", loss.item())

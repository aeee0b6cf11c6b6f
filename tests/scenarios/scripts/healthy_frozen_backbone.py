"""Healthy: fine-tuning a head on a frozen 'pretrained' backbone (requires_grad=False)."""
import torch
from torch import nn

torch.manual_seed(11)
backbone = nn.Sequential(nn.Linear(12, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU())
head = nn.Linear(32, 3)
for p in backbone.parameters():
    p.requires_grad_(False)
model = nn.Sequential(backbone, head)
X = torch.randn(400, 12)
with torch.no_grad():
    Y = backbone(X)[:, :3].argmax(dim=1)
opt = torch.optim.Adam(head.parameters(), lr=1e-2)
for step in range(50):
    idx = torch.randint(0, 400, (40,))
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(X[idx]), Y[idx])
    loss.backward()
    opt.step()
print("loss", loss.item())

import torch, torch.nn as nn
torch.manual_seed(6)
backbone = nn.Sequential(nn.Linear(30, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU())
for p in backbone.parameters(): p.requires_grad_(False)
head = nn.Linear(64, 3)
model = nn.Sequential(backbone, head)
opt = torch.optim.Adam(head.parameters(), lr=1e-3)
X = torch.randn(512, 30); y = torch.randint(0, 3, (512,))
for step in range(60):
    i = (step * 32) % 512
    opt.zero_grad(); loss = nn.functional.cross_entropy(model(X[i:i+32]), y[i:i+32]); loss.backward(); opt.step()

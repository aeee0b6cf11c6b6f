"""Healthy: discriminative learning rates, a slow body and a fast head, in two param groups."""
import torch
from torch import nn

torch.manual_seed(42)


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(12, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU())
        self.head = nn.Linear(64, 4)

    def forward(self, x):
        return self.head(self.body(x))


model = Model()
X = torch.randn(400, 12)
Y = (X[:, :4] + 0.3 * X[:, 4:8]).argmax(dim=1)
opt = torch.optim.Adam([
    {"params": model.body.parameters(), "lr": 3e-4},
    {"params": model.head.parameters(), "lr": 3e-3},
])
for step in range(50):
    idx = torch.randint(0, 400, (40,))
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(X[idx]), Y[idx])
    loss.backward()
    opt.step()
print("loss", loss.item())

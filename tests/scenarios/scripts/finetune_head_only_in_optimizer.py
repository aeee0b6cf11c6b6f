"""Fine-tuning where only the head is given to the optimizer and the backbone is left with
requires_grad=True: the backbone's gradients are computed for nothing (not_in_optimizer, info)."""
import torch
from torch import nn

torch.manual_seed(12)


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(nn.Linear(10, 48), nn.ReLU(), nn.Linear(48, 24), nn.ReLU())
        self.head = nn.Linear(24, 2)

    def forward(self, x):
        return self.head(self.backbone(x))


model = Model()
X = torch.randn(300, 10)
Y = (X[:, 0] * X[:, 1] > 0).long()
opt = torch.optim.SGD(model.head.parameters(), lr=0.1, momentum=0.9)
for step in range(50):
    idx = torch.randint(0, 300, (30,))
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(X[idx]), Y[idx])
    loss.backward()
    opt.step()
print("loss", loss.item())

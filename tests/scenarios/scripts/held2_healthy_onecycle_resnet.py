"""Healthy: a small residual CNN (BasicBlock-style, BatchNorm, identity shortcuts) trained with
SGD + Nesterov momentum, weight decay and OneCycleLR, data through a DataLoader."""

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(115)
X = torch.randn(512, 3, 8, 8)
Y = (X[:, 0, :4].mean(dim=(1, 2)) > X[:, 1, 4:].mean(dim=(1, 2))).long()


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(x + self.bn2(self.conv2(out)))


model = nn.Sequential(
    nn.Conv2d(3, 16, 3, padding=1, bias=False),
    nn.BatchNorm2d(16),
    nn.ReLU(),
    Block(16),
    Block(16),
    Block(16),
    nn.AdaptiveAvgPool2d(1),
    nn.Flatten(),
    nn.Linear(16, 2),
)
loader = DataLoader(TensorDataset(X, Y), batch_size=32, shuffle=True)
EPOCHS = 4
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
sched = torch.optim.lr_scheduler.OneCycleLR(
    opt, max_lr=0.1, epochs=EPOCHS, steps_per_epoch=len(loader)
)
for epoch in range(EPOCHS):
    for xb, yb in loader:
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        sched.step()
print("loss", loss.item())

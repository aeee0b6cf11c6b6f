"""Meant to freeze only the first conv block of a small CNN, the name filter froze every conv
layer ("conv" in name); the optimizer still holds all parameters. Frozen parameters are a
choice the trace cannot second-guess: frozen is not no_gradient, and the head still learns."""

import torch
from torch import nn

torch.manual_seed(104)
X = torch.randn(256, 3, 10, 10)
Y = (X[:, 0].mean(dim=(1, 2)) > X[:, 1].mean(dim=(1, 2))).long()


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(32)
        self.fc1 = nn.Linear(32, 32)
        self.fc2 = nn.Linear(32, 2)

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        x = nn.functional.max_pool2d(x, 2)
        x = torch.relu(self.bn2(self.conv2(x)))
        x = x.mean(dim=(2, 3))
        return self.fc2(torch.relu(self.fc1(x)))


model = Net()
for name, p in model.named_parameters():
    if "conv" in name:  # meant: "conv1"
        p.requires_grad = False
opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.01)
for step in range(50):
    idx = torch.randint(0, 256, (32,))
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(X[idx]), Y[idx])
    loss.backward()
    opt.step()
print("loss", loss.item())

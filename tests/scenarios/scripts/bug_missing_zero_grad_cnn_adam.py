"""Bug: a CNN trained with Adam where the zero_grad call was lost in a refactor."""
import torch
from torch import nn
import torch.nn.functional as F

torch.manual_seed(21)


class ConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3)
        self.c2 = nn.Conv2d(8, 8, 3)
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        x = F.relu(self.c1(x))
        x = F.relu(self.c2(x))
        return self.fc(x.mean(dim=(2, 3)))


model = ConvNet()
opt = torch.optim.Adam(model.parameters(), lr=1e-3)


def train_step(x, y):
    out = model(x)
    loss = F.cross_entropy(out, y)
    loss.backward()
    opt.step()
    return loss


for step in range(30):
    x = torch.randn(16, 3, 10, 10)
    y = torch.randint(0, 5, (16,))
    loss = train_step(x, y)
print("loss", loss.item())

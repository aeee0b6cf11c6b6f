"""Bug: a two-branch model whose forward forgets the second branch."""
import torch
from torch import nn

torch.manual_seed(36)


class TwoBranch(nn.Module):
    def __init__(self):
        super().__init__()
        self.left = nn.Sequential(nn.Linear(12, 24), nn.ReLU())
        self.right = nn.Sequential(nn.Linear(12, 24), nn.ReLU())
        self.head = nn.Linear(24, 1)

    def forward(self, x):
        a = self.left(x)
        return self.head(a)  # should be self.head(a + self.right(x))


model = TwoBranch()
X = torch.randn(300, 12)
Y = X[:, :1] - X[:, 1:2]
opt = torch.optim.SGD(model.parameters(), lr=0.05)
for step in range(40):
    opt.zero_grad()
    loss = nn.functional.mse_loss(model(X), Y)
    loss.backward()
    opt.step()
print("loss", loss.item())

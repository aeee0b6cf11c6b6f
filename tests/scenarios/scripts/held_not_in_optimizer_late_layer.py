"""Held out. Bug: an extra hidden layer is added to the model after the optimizer was built."""
import torch
from torch import nn

torch.manual_seed(104)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(8, 32)
        self.b = nn.Identity()
        self.c = nn.Linear(32, 1)

    def forward(self, x):
        return self.c(torch.relu(self.b(torch.relu(self.a(x)))))


model = Net()
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
model.b = nn.Linear(32, 32)  # "let's make it deeper" -- after the optimizer exists
X = torch.randn(256, 8)
Y = torch.cos(X[:, :1]) + X[:, 1:2]
for step in range(40):
    opt.zero_grad()
    loss = nn.functional.mse_loss(model(X), Y)
    loss.backward()
    opt.step()
print("loss", loss.item())

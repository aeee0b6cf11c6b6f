"""Healthy: a subclassed MLP classifier, SGD with momentum and weight decay."""
import torch
from torch import nn
import torch.nn.functional as F

torch.manual_seed(1)
X = torch.randn(600, 20)
w_true = torch.randn(20, 3)
Y = (X @ w_true).argmax(dim=1)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(20, 48)
        self.fc2 = nn.Linear(48, 48)
        self.out = nn.Linear(48, 3)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.out(x)


model = Net()
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
for step in range(60):
    idx = torch.randint(0, 600, (50,))
    opt.zero_grad()
    loss = F.cross_entropy(model(X[idx]), Y[idx])
    loss.backward()
    opt.step()
print("loss", loss.item())

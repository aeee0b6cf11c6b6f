"""Bug: the classifier head is replaced after the optimizer was built, so the new head is in
no param group: it gets gradients but never learns."""
import torch
from torch import nn

torch.manual_seed(37)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU())
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        return self.fc(self.features(x))


model = Net()
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
model.fc = nn.Linear(32, 3)  # new task with 3 classes
X = torch.randn(300, 10)
Y = X[:, :3].argmax(dim=1)
for step in range(40):
    idx = torch.randint(0, 300, (32,))
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(X[idx]), Y[idx])
    loss.backward()
    opt.step()
print("loss", loss.item())

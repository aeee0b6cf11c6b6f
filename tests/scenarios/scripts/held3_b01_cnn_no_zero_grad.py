"""Third held-out batch (outside tester, written and labelled blind; its report: tests/scenarios/held3_blind_report.md)."""
# CNN+BN classifier, DataLoader, SGD momentum -- BUG: optimizer.zero_grad() forgotten
import torch, torch.nn as nn
from torch.utils.data import TensorDataset, DataLoader
torch.manual_seed(10)
X = torch.randn(640, 3, 10, 10)
y = (X[:, 0].mean((1, 2)) > X[:, 1].mean((1, 2))).long()
dl = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True)
model = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
                      nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 2))
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
crit = nn.CrossEntropyLoss()
for epoch in range(3):
    for i, (xb, yb) in enumerate(dl):
        out = model(xb)
        loss = crit(out, yb)
        loss.backward()
        opt.step()
        if i % 10 == 0:
            print(epoch, i, loss.item())

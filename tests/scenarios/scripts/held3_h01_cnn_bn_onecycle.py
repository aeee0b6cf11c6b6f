"""Third held-out batch (outside tester, written and labelled blind; its report: tests/scenarios/held3_blind_report.md)."""
# CNN with BatchNorm, DataLoader, SGD nesterov + OneCycleLR, label smoothing, weight decay
import torch, torch.nn as nn
from torch.utils.data import TensorDataset, DataLoader
torch.manual_seed(0)
X = torch.randn(512, 1, 12, 12)
y = (X[:, 0, :6].mean((1, 2)) > X[:, 0, 6:].mean((1, 2))).long() + 2 * (X[:, 0, :, :6].mean((1, 2)) > 0).long()
dl = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True)
model = nn.Sequential(
    nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
    nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(16 * 6 * 6, 32), nn.ReLU(), nn.Linear(32, 4))
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
epochs = 4
sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=epochs * len(dl))
crit = nn.CrossEntropyLoss(label_smoothing=0.1)
for ep in range(epochs):
    model.train()
    tot = 0
    for xb, yb in dl:
        opt.zero_grad()
        loss = crit(model(xb), yb)
        loss.backward()
        opt.step()
        sched.step()
        tot += loss.item()
    print(f"epoch {ep} loss {tot/len(dl):.4f}")

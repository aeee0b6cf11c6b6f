"""The user evaluates every 10 steps under model.eval() and forgets model.train() afterwards:
dropout is off and BatchNorm uses its running statistics for the rest of training. It changes
what is trained, not how gradients flow: no gradient finding applies."""

import torch
from torch import nn

torch.manual_seed(102)
X = torch.randn(600, 20)
Y = (X[:, :5].sum(dim=1) > 0).long()
Xtr, Ytr, Xva, Yva = X[:500], Y[:500], X[500:], Y[500:]
model = nn.Sequential(
    nn.Linear(20, 64),
    nn.BatchNorm1d(64),
    nn.ReLU(),
    nn.Dropout(0.3),
    nn.Linear(64, 64),
    nn.BatchNorm1d(64),
    nn.ReLU(),
    nn.Dropout(0.3),
    nn.Linear(64, 2),
)
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
model.train()
for step in range(60):
    idx = torch.randint(0, 500, (64,))
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(Xtr[idx]), Ytr[idx])
    loss.backward()
    opt.step()
    if step % 10 == 9:
        model.eval()
        with torch.no_grad():
            acc = (model(Xva).argmax(1) == Yva).float().mean()
        print(step, "val acc", acc.item())
        # bug: no model.train() here

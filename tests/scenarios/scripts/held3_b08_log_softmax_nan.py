"""Third held-out batch (outside tester, written and labelled blind; its report: tests/scenarios/held3_blind_report.md)."""
# image-ish MLP classifier -- BUG: hand-written loss torch.log(softmax(.)) on unnormalised
# pixel values (0..255); softmax underflows to exactly 0 -> log(0) = -inf -> NaN
import torch, torch.nn as nn
torch.manual_seed(17)
X = torch.randint(0, 256, (800, 64)).float()          # forgot /255
y = (X[:, :32].mean(1) > X[:, 32:].mean(1)).long() + 2 * (X[:, ::2].mean(1) > 127.5).long()
model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 4))
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
for step in range(50):
    idx = torch.randint(0, 800, (32,))
    probs = torch.softmax(model(X[idx]), dim=1)
    onehot = nn.functional.one_hot(y[idx], 4).float()
    loss = -(onehot * torch.log(probs)).sum(1).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 10 == 0:
        print(step, loss.item())

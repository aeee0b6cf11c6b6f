"""Bug: a hand-written KL(target || model) on one-hot targets: t * (log t - log q) is 0 * -inf =
NaN wherever t is 0, so the printed loss is NaN on every step. The gradient with respect to the
model is -t / q, finite: training goes on, the loss cannot be watched."""
import torch
from torch import nn

torch.manual_seed(61)
X = torch.randn(512, 12)
Y = (X[:, :3].sum(dim=1) > 0).long() + (X[:, 3] > 0.5).long()
model = nn.Sequential(nn.Linear(12, 48), nn.ReLU(), nn.Linear(48, 3))
opt = torch.optim.Adam(model.parameters(), lr=3e-3)
for step in range(50):
    idx = torch.randint(0, 512, (64,))
    opt.zero_grad()
    logp = torch.log_softmax(model(X[idx]), dim=1)
    t = nn.functional.one_hot(Y[idx], 3).float()
    ce = nn.functional.nll_loss(logp, Y[idx])
    kl = (t * (t.log() - logp)).sum(dim=1).mean()  # should be torch.xlogy(t, t) - t * logp
    loss = 0.5 * ce + 0.5 * kl
    loss.backward()
    opt.step()
print("loss", loss.item(), "ce", ce.item())

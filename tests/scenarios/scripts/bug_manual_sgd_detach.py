"""Bug: manual SGD (no optimizer) with the first layer's output detached: it never learns. The
update loop skips parameters without a gradient, so nothing crashes."""
import torch
from torch import nn

torch.manual_seed(12)
X = torch.randn(256, 8)
Y = torch.sin(X[:, :1]) + X[:, 1:2]
first = nn.Linear(8, 32)
rest = nn.Sequential(nn.Tanh(), nn.Linear(32, 1))
params = list(first.parameters()) + list(rest.parameters())
for step in range(50):
    for p in params:
        p.grad = None
    hidden = first(X).detach()  # meant for a plot; cuts the graph
    loss = ((rest(hidden) - Y) ** 2).mean()
    loss.backward()
    with torch.no_grad():
        for p in params:
            if p.grad is not None:
                p -= 0.1 * p.grad
print("loss", loss.item())

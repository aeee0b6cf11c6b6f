"""No optimizer: a linear model on raw tensors, updated by hand under no_grad and via .data."""

import torch

torch.manual_seed(0)
w = torch.randn(4, 1, requires_grad=True)
b = torch.zeros(1, requires_grad=True)
x = torch.randn(32, 4)
y = x @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]]) + 0.1
lr = 0.1
for _ in range(4):
    loss = ((x @ w + b - y) ** 2).mean()
    loss.backward()
    print(f"grad norms {w.grad.norm().item():.6f} {b.grad.norm().item():.6f}")
    with torch.no_grad():
        w -= lr * w.grad
    b.data -= lr * b.grad  # does not bump the version counter
    w.grad = None
    b.grad.zero_()

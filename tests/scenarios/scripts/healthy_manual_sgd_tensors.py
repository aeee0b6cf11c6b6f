"""Healthy: linear regression with raw tensors and a manual SGD update, grads zeroed in place."""
import torch

torch.manual_seed(7)
X = torch.randn(256, 5)
Y = X @ torch.tensor([[1.0], [-2.0], [0.5], [3.0], [0.0]]) + 0.1
w = (torch.randn(5, 1) * 0.1).requires_grad_()
b = torch.zeros(1, requires_grad=True)
lr = 0.05
for step in range(50):
    loss = ((X @ w + b - Y) ** 2).mean()
    loss.backward()
    with torch.no_grad():
        w -= lr * w.grad
        b -= lr * b.grad
        w.grad.zero_()
        b.grad.zero_()
print("loss", loss.item())

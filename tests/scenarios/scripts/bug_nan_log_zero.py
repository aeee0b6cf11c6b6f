"""Bug: a hand-written cross-entropy takes log of softmax probabilities that underflow to 0."""
import torch
from torch import nn

torch.manual_seed(34)
X = torch.randn(256, 10)
Y = X[:, :4].argmax(dim=1)
model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 4))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for step in range(40):
    idx = torch.randint(0, 256, (32,))
    opt.zero_grad()
    logits = model(X[idx]) * (1.0 + step * 5.0)  # a temperature schedule gone wrong
    probs = torch.softmax(logits, dim=1)
    loss = -(torch.log(probs[torch.arange(32), Y[idx]])).mean()
    loss.backward()
    opt.step()
print("loss", loss.item())

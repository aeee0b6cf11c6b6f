"""Bug: a 16-layer sigmoid MLP: gradients vanish toward the input."""
import torch
from torch import nn

torch.manual_seed(24)
layers = [nn.Linear(20, 32), nn.Sigmoid()]
for _ in range(14):
    layers += [nn.Linear(32, 32), nn.Sigmoid()]
model = nn.Sequential(*layers, nn.Linear(32, 1))
X = torch.randn(256, 20)
Y = (X[:, 0] > 0).float().unsqueeze(1)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for step in range(40):
    opt.zero_grad()
    loss = nn.functional.binary_cross_entropy_with_logits(model(X), Y)
    loss.backward()
    opt.step()
print("loss", loss.item())

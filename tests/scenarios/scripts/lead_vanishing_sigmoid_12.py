import torch, torch.nn as nn
torch.manual_seed(3)
layers = []
for i in range(12):
    layers += [nn.Linear(32, 32), nn.Sigmoid()]
model = nn.Sequential(*layers, nn.Linear(32, 2))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
X = torch.randn(400, 32); y = (X[:, 0] > 0).long()
for step in range(80):
    opt.zero_grad(set_to_none=True)
    loss = nn.functional.cross_entropy(model(X), y)
    loss.backward(); opt.step()

import torch, torch.nn as nn
torch.manual_seed(5)
model = nn.Sequential(nn.Linear(10, 50), nn.ReLU(), nn.Linear(50, 50), nn.ReLU(), nn.Linear(50, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.9)
X = torch.randn(300, 10) * 3; y = X.pow(2).sum(1, keepdim=True)
for step in range(60):
    opt.zero_grad(); loss = nn.functional.mse_loss(model(X), y); loss.backward(); opt.step()

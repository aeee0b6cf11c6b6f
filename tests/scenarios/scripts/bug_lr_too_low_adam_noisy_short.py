"""Bug: Adam at lr 1e-6 (1000x below its usual 1e-3) for 30 batches of a noisy regression, the
shape of a Lightning quick run. The weights move by ~1e-5 of their size per step, 3e-4 over the
run; the batch losses scatter so much that the last quarter happens to sit 25 % below the start."""
import torch
from torch import nn

torch.manual_seed(0)
x = torch.randn(2048, 16)
y = x[:, :4].sum(dim=1, keepdim=True) + 0.1 * torch.randn(2048, 1)
loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=32)
net = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU())
head = nn.Linear(64, 1)
model = nn.Sequential(net, head)
opt = torch.optim.Adam(model.parameters(), lr=1e-6)
for step, (xb, yb) in zip(range(30), loader, strict=False):
    opt.zero_grad()
    loss = nn.functional.mse_loss(model(xb), yb)
    loss.backward()
    opt.step()
print("loss", loss.item())

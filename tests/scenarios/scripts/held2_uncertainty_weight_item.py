"""Multi-task loss with learned uncertainty weights (Kendall et al.), written with .item():
the log-variances enter the loss as Python floats, so they never receive a gradient although
they are trainable and in the optimizer."""

import torch
from torch import nn

torch.manual_seed(103)
X = torch.randn(512, 8)
y_reg = X[:, :2].sum(dim=1, keepdim=True)
y_cls = (X[:, 2] > 0).long()


class MultiTask(nn.Module):
    def __init__(self):
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU())
        self.reg_head = nn.Linear(32, 1)
        self.cls_head = nn.Linear(32, 2)
        self.log_var = nn.Parameter(torch.zeros(2))

    def forward(self, x):
        h = self.trunk(x)
        return self.reg_head(h), self.cls_head(h)


model = MultiTask()
opt = torch.optim.Adam(model.parameters(), lr=2e-3)
for step in range(60):
    idx = torch.randint(0, 512, (64,))
    opt.zero_grad()
    reg, cls = model(X[idx])
    l_reg = nn.functional.mse_loss(reg, y_reg[idx])
    l_cls = nn.functional.cross_entropy(cls, y_cls[idx])
    s = model.log_var
    # bug: .item() turns the weights into constants, cutting log_var out of the graph
    loss = (
        l_reg * torch.exp(-s[0]).item()
        + s[0].item()
        + l_cls * torch.exp(-s[1]).item()
        + s[1].item()
    )
    loss.backward()
    opt.step()
print("loss", loss.item())

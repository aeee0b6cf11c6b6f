"""Bug: a vanilla ReLU RNN with recurrent weights initialised at 1.5x identity over 30 steps:
the gradient through time explodes."""
import torch
from torch import nn

torch.manual_seed(40)


class RNNModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.RNN(4, 32, nonlinearity="relu", batch_first=True)
        with torch.no_grad():
            self.rnn.weight_hh_l0.copy_(torch.eye(32) * 1.5)
        self.out = nn.Linear(32, 1)

    def forward(self, x):
        h, _ = self.rnn(x)
        return self.out(h[:, -1])


model = RNNModel()
opt = torch.optim.SGD(model.parameters(), lr=1e-3)
for step in range(30):
    x = torch.rand(16, 30, 4)
    y = x.sum(dim=(1, 2)).unsqueeze(1) / 30
    opt.zero_grad()
    loss = nn.functional.mse_loss(model(x), y)
    loss.backward()
    opt.step()
print("loss", loss.item())

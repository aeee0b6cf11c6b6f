"""Healthy: an LSTM predicting the running mean of a sequence, Adam."""
import torch
from torch import nn

torch.manual_seed(3)


class Seq(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(input_size=1, hidden_size=24, num_layers=2, batch_first=True)
        self.head = nn.Linear(24, 1)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(out[:, -1])


model = Seq()
opt = torch.optim.Adam(model.parameters(), lr=5e-3)
for step in range(40):
    x = torch.randn(32, 12, 1)
    y = x.mean(dim=1)
    opt.zero_grad()
    loss = nn.functional.mse_loss(model(x), y)
    loss.backward()
    opt.step()
print("loss", loss.item())

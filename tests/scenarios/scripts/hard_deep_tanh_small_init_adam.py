"""Hard negative: a 10-layer tanh net initialised with std=0.05, trained with Adam. The signal
shrinks forward, but weight gradients stay level across layers (small deltas times large
activations near the input) and Adam escapes: the loss falls. Not vanishing gradients."""
import torch
from torch import nn

torch.manual_seed(25)


class Deep(nn.Module):
    def __init__(self, depth=10, width=64):
        super().__init__()
        self.inp = nn.Linear(16, width)
        self.hidden = nn.ModuleList(nn.Linear(width, width) for _ in range(depth))
        self.out = nn.Linear(width, 4)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, std=0.05)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = torch.tanh(self.inp(x))
        for layer in self.hidden:
            x = torch.tanh(layer(x))
        return self.out(x)


model = Deep()
X = torch.randn(256, 16)
Y = X[:, :4].argmax(dim=1)
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
for step in range(40):
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(X), Y)
    loss.backward()
    opt.step()
print("loss", loss.item())

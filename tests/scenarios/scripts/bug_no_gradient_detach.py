"""Bug: the encoder output is detached, so the encoder never gets a gradient."""
import torch
from torch import nn

torch.manual_seed(35)


class AutoEncoderClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 8))
        self.classifier = nn.Linear(8, 3)

    def forward(self, x):
        z = self.encoder(x).detach()  # meant for logging, breaks the graph
        return self.classifier(z)


model = AutoEncoderClassifier()
X = torch.randn(300, 16)
Y = X[:, :3].argmax(dim=1)
opt = torch.optim.Adam(model.parameters(), lr=1e-2)
for step in range(40):
    idx = torch.randint(0, 300, (32,))
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(X[idx]), Y[idx])
    loss.backward()
    opt.step()
print("loss", loss.item())

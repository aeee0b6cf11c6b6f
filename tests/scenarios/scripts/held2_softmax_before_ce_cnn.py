"""A common mistake: the model ends in nn.Softmax and its probabilities go into
nn.CrossEntropyLoss, which applies log_softmax again. The loss is bounded and the gradients are
damped by the softmax Jacobian, but with Adam the CNN still learns, only worse. Not a gradient
pathology the trace can name (no code for a wrong loss)."""

import torch
from torch import nn

torch.manual_seed(101)
X = torch.randn(256, 1, 12, 12)
Y = (X[:, 0, :6].mean(dim=(1, 2)) > X[:, 0, 6:].mean(dim=(1, 2))).long() + 2 * (
    X[:, 0, :, :6].mean(dim=(1, 2)) > 0
).long()


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(16, 4), nn.Softmax(dim=1))

    def forward(self, x):
        return self.classifier(self.features(x))


model = SmallCNN()
criterion = nn.CrossEntropyLoss()
opt = torch.optim.Adam(model.parameters(), lr=3e-3)
for step in range(60):
    idx = torch.randint(0, 256, (32,))
    opt.zero_grad()
    loss = criterion(model(X[idx]), Y[idx])
    loss.backward()
    opt.step()
print("loss", loss.item())

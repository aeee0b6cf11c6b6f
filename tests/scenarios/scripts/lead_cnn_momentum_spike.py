import torch, torch.nn as nn
torch.manual_seed(1)
model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
X = torch.randn(256, 1, 12, 12); y = (X.mean((1,2,3)) > 0).long()
for epoch in range(8):
    for i in range(0, 256, 32):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(X[i:i+32]), y[i:i+32])
        loss.backward(); opt.step()
print("done", loss.item())

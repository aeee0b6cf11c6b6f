import torch, torch.nn as nn, torch.nn.functional as F
torch.manual_seed(0)
# synthetic "images": class = which quadrant is bright
N = 1024
X = torch.randn(N, 1, 12, 12) * 0.5
y = torch.randint(0, 4, (N,))
for i in range(N):
    r, c = divmod(y[i].item(), 2)
    X[i, 0, r*6:(r+1)*6, c*6:(c+1)*6] += 1.0
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.fc = nn.Linear(16 * 3 * 3, 4)
    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc(x.flatten(1))
net = Net()
opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
sched = torch.optim.lr_scheduler.StepLR(opt, step_size=60, gamma=0.5)
for step in range(180):
    idx = torch.randint(0, N, (64,))
    out = net(X[idx])
    loss = F.cross_entropy(out, y[idx])
    opt.zero_grad()
    loss.backward()
    opt.step(); sched.step()

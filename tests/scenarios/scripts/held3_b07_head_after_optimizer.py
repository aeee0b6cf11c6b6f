"""Third held-out batch (outside tester, written and labelled blind; its report: tests/scenarios/held3_blind_report.md)."""
# fine-tuning: frozen "pretrained" backbone; BUG: new head assigned after the optimizer was built
import torch, torch.nn as nn
torch.manual_seed(16)
class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(nn.Linear(24, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU())
        self.head = nn.Linear(64, 10)   # "pretrained" 10-class head
    def forward(self, x):
        return self.head(self.backbone(x))
model = Model()
for p in model.backbone.parameters():
    p.requires_grad = False
opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)
model.head = nn.Linear(64, 3)         # new task has 3 classes -- replaced AFTER building opt
X = torch.randn(900, 24)
y = X[:, :3].argmax(1)
for step in range(60):
    idx = torch.randint(0, 900, (64,))
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(X[idx]), y[idx])
    loss.backward()
    opt.step()
    if step % 10 == 0:
        print(step, loss.item())

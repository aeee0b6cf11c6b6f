"""Third held-out batch (outside tester, written and labelled blind; its report: tests/scenarios/held3_blind_report.md)."""
# custom module with ModuleDict of residual MLP blocks, RMSprop + ReduceLROnPlateau,
# grads cleared with p.grad = None; a learnable temperature updated by hand (no optimizer)
import torch, torch.nn as nn
torch.manual_seed(3)
class Block(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.ln = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, 2 * d)
        self.fc2 = nn.Linear(2 * d, d)
    def forward(self, x):
        return x + self.fc2(torch.relu(self.fc1(self.ln(x))))
class Net(nn.Module):
    def __init__(self, d_in=10, d=32, n_out=3):
        super().__init__()
        self.parts = nn.ModuleDict({
            "stem": nn.Linear(d_in, d),
            "b1": Block(d), "b2": Block(d), "b3": Block(d),
            "out": nn.Linear(d, n_out),
        })
        self.log_temp = nn.Parameter(torch.zeros(()))
    def forward(self, x):
        h = self.parts["stem"](x)
        for k in ("b1", "b2", "b3"):
            h = self.parts[k](h)
        return self.parts["out"](h) / self.log_temp.exp()
X = torch.randn(600, 10)
W = torch.randn(10, 3)
y = (X @ W + 0.3 * torch.randn(600, 3)).argmax(1)
model = Net()
main_params = [p for n, p in model.named_parameters() if n != "log_temp"]
opt = torch.optim.RMSprop(main_params, lr=1e-3, alpha=0.99)
sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=3)
for step in range(60):
    idx = torch.randint(0, 600, (48,))
    loss = nn.functional.cross_entropy(model(X[idx]), y[idx])
    for p in model.parameters():
        p.grad = None
    loss.backward()
    opt.step()
    with torch.no_grad():
        model.log_temp -= 1e-2 * model.log_temp.grad
    sched.step(loss.item())
    if step % 10 == 0:
        print(step, loss.item(), model.log_temp.item())

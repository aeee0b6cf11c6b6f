"""Third held-out batch (outside tester, written and labelled blind; its report: tests/scenarios/held3_blind_report.md)."""
# small transformer encoder, Adam w/ linear warmup (LambdaLR), dropout, autocast bfloat16 on CPU
import torch, torch.nn as nn
torch.manual_seed(2)
V, D, T = 40, 32, 16
class Enc(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok = nn.Embedding(V, D)
        self.pos = nn.Parameter(torch.randn(1, T, D) * 0.02)
        layer = nn.TransformerEncoderLayer(D, nhead=4, dim_feedforward=64, dropout=0.1, batch_first=True)
        self.enc = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(D)
        self.head = nn.Linear(D, 2)
    def forward(self, x):
        h = self.enc(self.tok(x) + self.pos)
        return self.head(self.norm(h.mean(1)))
X = torch.randint(0, V, (512, T))
y = ((X == 7).any(1) & (X == 9).any(1)).long()
model = Enc()
opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.98))
warm = 10
sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warm))
for step in range(60):
    idx = torch.randint(0, 512, (32,))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = model(X[idx])
        loss = nn.functional.cross_entropy(logits.float(), y[idx])
    opt.zero_grad()
    loss.backward()
    opt.step()
    sched.step()
    if step % 10 == 0:
        print(step, loss.item())

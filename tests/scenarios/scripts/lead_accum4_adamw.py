import torch, torch.nn as nn
torch.manual_seed(4)
model = nn.Sequential(nn.Linear(16, 64), nn.GELU(), nn.Linear(64, 4))
opt = torch.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.01)
sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=40)
X = torch.randn(1024, 16); y = torch.randint(0, 4, (1024,))
accum = 4
for step in range(160):
    i = (step * 16) % 1024
    loss = nn.functional.cross_entropy(model(X[i:i+16]), y[i:i+16]) / accum
    loss.backward()
    if (step + 1) % accum == 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step(); sched.step(); opt.zero_grad()

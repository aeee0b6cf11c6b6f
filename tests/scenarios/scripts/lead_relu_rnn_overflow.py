import torch, torch.nn as nn
torch.manual_seed(8)
rnn = nn.RNN(4, 64, batch_first=True, nonlinearity="relu"); head = nn.Linear(64, 1)
with torch.no_grad():
    rnn.weight_hh_l0.copy_(torch.eye(64) * 1.6)
params = list(rnn.parameters()) + list(head.parameters())
opt = torch.optim.SGD(params, lr=0.01)
X = torch.randn(32, 60, 4); y = torch.randn(32, 1)
for step in range(30):
    opt.zero_grad(); out, _ = rnn(X); loss = nn.functional.mse_loss(head(out[:, -1]), y); loss.backward(); opt.step()

"""DDP on CPU with gloo, launched by torchrun, with the classic bug: the forward pass calls the
wrapped module (`model.module(x)`), so DDP's hooks never all-reduce; each rank has its own data."""

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

dist.init_process_group("gloo")
torch.manual_seed(0)  # the same initial weights (DDP would broadcast them anyway)
model = DistributedDataParallel(nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1)))
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
torch.manual_seed(1 + dist.get_rank())  # each rank its own shard of data
x, y = torch.randn(64, 8), torch.randn(64, 1)
for _step in range(20):
    optimizer.zero_grad()
    nn.functional.mse_loss(model.module(x), y).backward()
    optimizer.step()
dist.destroy_process_group()

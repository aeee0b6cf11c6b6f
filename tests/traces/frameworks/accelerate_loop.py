"""HF accelerate: the README's loop (accelerator.prepare, accelerator.backward), CPU, a small CNN
on synthetic images; with N > 1 the documented accelerator.accumulate(model) context.

python accelerate_loop.py [GRADIENT_ACCUMULATION_STEPS]"""

import sys

import torch
from accelerate import Accelerator
from torch import nn

accumulation = int(sys.argv[1]) if len(sys.argv) > 1 else 1
torch.manual_seed(0)
accelerator = Accelerator(cpu=True, gradient_accumulation_steps=accumulation)
model = nn.Sequential(
    nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(16 * 4 * 4, 10),
)  # fmt: skip
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
images = torch.randn(32 * 30 * accumulation, 1, 16, 16)
labels = (images.mean(dim=(1, 2, 3)) > 0).long() + 2 * (images[:, 0, :8].mean(dim=(1, 2)) > 0)
loader = torch.utils.data.DataLoader(
    torch.utils.data.TensorDataset(images, labels), batch_size=32, shuffle=True
)
model, optimizer, loader = accelerator.prepare(model, optimizer, loader)
model.train()
for inputs, targets in loader:
    with accelerator.accumulate(model):
        loss = nn.functional.cross_entropy(model(inputs), targets)
        accelerator.backward(loss)
        optimizer.step()
        optimizer.zero_grad()

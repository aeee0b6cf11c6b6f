"""PyTorch Lightning: a LightningModule MLP regression, Trainer.fit on CPU, synthetic data.

python lightning_fit.py [ACCUMULATE_GRAD_BATCHES]"""

import sys

import pytorch_lightning as pl
import torch
from torch import nn

accumulate = int(sys.argv[1]) if len(sys.argv) > 1 else 1


class Regressor(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU())
        self.head = nn.Linear(64, 1)

    def forward(self, x):
        return self.head(self.net(x))

    def training_step(self, batch, batch_idx):
        x, y = batch
        return nn.functional.mse_loss(self(x), y)

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=1e-3)


torch.manual_seed(0)
x = torch.randn(2048, 16)
y = x[:, :4].sum(dim=1, keepdim=True) + 0.1 * torch.randn(2048, 1)
loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=32)
trainer = pl.Trainer(
    max_steps=30,
    accumulate_grad_batches=accumulate,
    accelerator="cpu",
    logger=False,
    enable_checkpointing=False,
    enable_progress_bar=False,
    enable_model_summary=False,
)
trainer.fit(Regressor(), loader)

"""HF Trainer on a tiny randomly initialised GPT-2 (nothing downloaded), synthetic tokens.

python hf_trainer.py [ACCUMULATION_STEPS]"""

import os
import sys
import tempfile

import torch
from transformers import GPT2Config, GPT2LMHeadModel, Trainer, TrainingArguments

accumulation = int(sys.argv[1]) if len(sys.argv) > 1 else 1
torch.manual_seed(0)
config = GPT2Config(vocab_size=64, n_positions=32, n_embd=32, n_layer=2, n_head=2)
model = GPT2LMHeadModel(config)


class Tokens(torch.utils.data.Dataset):
    """A learnable pattern: each sequence counts up from a random start (mod the vocabulary)."""

    def __init__(self, n: int):
        starts = torch.randint(0, 64, (n, 1))
        self.ids = (starts + torch.arange(32)) % 64

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, i):
        return {"input_ids": self.ids[i], "labels": self.ids[i]}


args = TrainingArguments(
    output_dir=os.path.join(tempfile.mkdtemp(), "out"),
    per_device_train_batch_size=8,
    gradient_accumulation_steps=accumulation,
    max_steps=24,
    learning_rate=1e-3,
    logging_steps=1000,
    save_strategy="no",
    report_to=[],
    use_cpu=True,
    disable_tqdm=True,
)
Trainer(model=model, args=args, train_dataset=Tokens(8 * 24 * accumulation)).train()

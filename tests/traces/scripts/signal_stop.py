"""Stopped by a signal (SIGTERM or SIGINT, from argv) after two optimizer steps."""

import os
import signal
import sys
import time

import torch
from torch import nn

which = signal.SIGTERM if sys.argv[1] == "TERM" else signal.SIGINT
# Ctrl-C as in a terminal, even when the suite runs as a background job (which starts with
# SIGINT ignored, so Python would install no KeyboardInterrupt handler).
signal.signal(signal.SIGINT, signal.default_int_handler)
torch.manual_seed(0)
model = nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for step in range(5):
    if step == 2:
        os.kill(os.getpid(), which)
        time.sleep(5)  # the signal interrupts this
    optimizer.zero_grad()
    model(torch.randn(8, 4)).pow(2).mean().backward()
    optimizer.step()

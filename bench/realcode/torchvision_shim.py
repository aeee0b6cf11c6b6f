"""A tiny stand-in for the parts of torchvision the pytorch/examples programs import, written by
the harness into a folder on PYTHONPATH (never into a checkout).

Why: torchvision has no wheel for our torch build, and the examples would download MNIST. The
stand-in serves generated, learnable data instead (each class a bright bar at its own place plus
noise) through the same calls: ``datasets.MNIST``, ``datasets.FakeData``, ``transforms.Compose``
/ ``ToTensor`` / ``Normalize`` / ``Resize`` / ``CenterCrop``, ``utils.save_image`` (writes
nothing). Sizes: ``SHIM_TRAIN_SIZE`` / ``SHIM_TEST_SIZE`` / ``SHIM_FAKE_SIZE``.
"""

from __future__ import annotations

from pathlib import Path

FILES = {
    "torchvision/__init__.py": "from torchvision import datasets, transforms, utils  # noqa\n",
    "torchvision/transforms.py": """
import torch


class Compose:
    def __init__(self, transforms):
        self.transforms = transforms

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x


class ToTensor:
    def __call__(self, x):
        return x  # the datasets below already serve float tensors in [0, 1]


class Normalize:
    def __init__(self, mean, std):
        self.mean = torch.tensor(mean).view(-1, 1, 1)
        self.std = torch.tensor(std).view(-1, 1, 1)

    def __call__(self, x):
        return (x - self.mean) / self.std


class Resize:
    def __init__(self, size):
        self.size = size

    def __call__(self, x):
        size = (self.size, self.size) if isinstance(self.size, int) else tuple(self.size)
        return torch.nn.functional.interpolate(x[None], size=size, mode="bilinear")[0]


class CenterCrop(Resize):
    pass
""",
    "torchvision/datasets.py": """
import os

import torch


def _images(n, channels, size, seed):
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 10, (n,), generator=g)
    x = 0.1 * torch.rand(n, channels, size, size, generator=g)
    rows = (labels * (size - 4) // 9).tolist()
    for i, r in enumerate(rows):
        x[i, :, r : r + 3, 2 : size - 2] += 0.8  # the class is where the bar is
    return x.clamp_(0, 1), labels


class _Dataset(torch.utils.data.Dataset):
    def __init__(self, x, y, transform):
        self.x, self.y, self.transform = x, y, transform

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        x = self.x[i]
        return (self.transform(x) if self.transform else x), int(self.y[i])


class MNIST(_Dataset):
    def __init__(self, root, train=True, download=False, transform=None, **kwargs):
        n = int(os.environ.get("SHIM_TRAIN_SIZE" if train else "SHIM_TEST_SIZE", 1024 if train else 256))
        super().__init__(*_images(n, 1, 28, 0 if train else 1), transform)


class FakeData(_Dataset):
    def __init__(self, size=None, image_size=(3, 224, 224), num_classes=10, transform=None, **kw):
        n = int(os.environ.get("SHIM_FAKE_SIZE", size or 1000))
        super().__init__(*_images(n, image_size[0], image_size[1], 2), transform)
""",
    "torchvision/utils.py": '''
def save_image(*args, **kwargs):
    """Writes nothing: the harness judges gradients, not samples."""
''',
}


def write(folder: Path) -> Path:
    """Write the stand-in under ``folder``; returns the folder to put on PYTHONPATH."""
    for name, text in FILES.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.lstrip("\n"))
    return folder

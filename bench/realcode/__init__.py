"""Parts of the real-code harness (``python bench/realworld.py``): its data generators, the torchvision
stand-in and the source mutations live here; the manifest is ``bench/realworld.yaml``."""

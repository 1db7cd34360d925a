"""Imported by the preloaded server (preloaded.py): torchvision, timm and pytorch-ood, through
evofool's shim (evofool.vision_libs), which the ImageNet and OOD scripts all import (about
2 CPU-seconds each in a new interpreter)."""

from evofool.vision_libs import import_pytorch_ood, import_timm

import_timm()
import_pytorch_ood()

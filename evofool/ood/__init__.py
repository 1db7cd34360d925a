"""Fooling images against out-of-distribution (OOD) detectors: ``evofool ood``.

Sets of images (natural in-distribution, fooling, noise) become logits and
features of one classifier (representations), pytorch-ood's detectors score
them (detectors), and its metrics say how well each detector tells each OOD set
from the natural test images (report). pytorch-ood is the optional extra
``evofool[ood]``; it imports torchvision, so it is imported through
evofool.vision_libs.
"""

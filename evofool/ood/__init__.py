"""Out-of-distribution (OOD) detectors over one classifier's logits and features.

Images become logits and features (representations), pytorch-ood's detectors score
them (detectors), and a fitted detector can gate a search (gate). How well each
detector tells fooling images from natural ones is evofool.analysis.ood_report.
pytorch-ood is the optional extra ``evofool[ood]``; it imports torchvision, so it is
imported through evofool.vision_libs.
"""

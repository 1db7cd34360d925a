"""The GPU fast path at ImageNet scale (skips, saying so, without CUDA).

Runs benchmarks/imagenet.py on CUDA: EfficientNet-Lite0 and ResNet-50
(random weights) with CPPN rendering included, 400 children per generation,
against the bare forward pass (goals: ratio <= 1.10; >= 5,000 evaluations/s
for EfficientNet-Lite0 on an H100), then a full ImageNet CPPN run of
2,000,000 evaluations (goal: median best confidence >= 0.95 over the 1000
classes; the paper's AlexNet run reached 0.8811). The last stdout line is JSON.

    python benchmarks/gpu.py [--full-run-evaluations 2000000] [any option of imagenet.py]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
import imagenet  # noqa: E402  (the sibling benchmark script)

if __name__ == "__main__":
    if not torch.cuda.is_available():
        print(json.dumps({"benchmark": "gpu", "skipped": "no CUDA device on this machine"}))
        sys.exit(0)
    imagenet.main(["--device", "cuda", "--encodings", "cppn",
                   "--full-run-evaluations", "2000000", *sys.argv[1:]])

"""evofool: evolve images that trained classifiers label with near-certainty.

After Nguyen, Yosinski & Clune, "Deep Neural Networks are Easily Fooled" (CVPR 2015).

Importing evofool also settles one process-wide numerical choice. MKL's
vector-math library (VML: torch's log, exp, sin, sqrt, tanh, erf and more on
CPU tensors) picks its code path on its first call in a process, and torch
calls it from several threads at once for tensors over 2,048 elements. When
that first call is such a parallel one, a thread can compute its share on
another path, whose values differ in the last bits from every later call's: a
resumed run's first mutation (the direct encoding's first ``torch.log``) then
differed from the uninterrupted run's in about one process in eight on an
Intel Xeon, and the two runs diverged. One serial call, here, settles the
choice before anything runs in parallel.
"""

import torch

__version__ = "0.1.0"

torch.log(torch.ones(1))  # MKL's vector-math path, chosen in this thread alone

"""Process-wide numerics that a run's results must not depend on.

MKL's vector-math library (VML; torch's log, exp, sin, sqrt, tanh, erf and more
on CPU tensors) picks its code path on its first call in a process. torch
calls it from several threads at once for tensors over 2,048 elements, and
when that first call is such a parallel one, a thread can compute its share on
another path, whose values differ in the last bits from every later call's.
A resumed run's first mutation (its first ``torch.log``, in the direct
encoding's mutation positions) then differed from the uninterrupted run's in
about one process in eight on an Intel Xeon, and the two runs diverged. One
serial call settles the choice before anything runs in parallel.
"""

import torch


def settle_vector_math() -> None:
    """Make MKL's one-time choice of vector-math code path now, in this thread alone."""
    torch.log(torch.ones(1))

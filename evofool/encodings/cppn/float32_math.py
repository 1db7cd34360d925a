"""sin and exp in plain float32 arithmetic, written so a compiler vectorises them.

Why our own: the CPU renderer (``cpu_kernel``) runs a loop over a row of
pixels per node; LLVM turns that loop into SIMD code only if every call in it
is inline arithmetic, and ``math.sin`` is a libm call. These use only IEEE
operations (no fused multiply-add, no reassociation: numba compiles without
fastmath), so every processor, whatever its vector width, gets the same bits.

Both are the Cephes single-precision algorithms (Moshier, Cephes Math
Library: ``sinf.c``, ``expf.c``): Cody-Waite range reduction, then a short
minimax polynomial; error about 1 ulp for the arguments a CPPN produces.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

F = np.float32

# sin: x = n * pi/2 + r with |r| <= pi/4; pi/2 split in three so n * part is exact.
TWO_OVER_PI = F(0.636619772367581343)
HALF_PI_1, HALF_PI_2 = F(1.5703125), F(4.837512969970703125e-4)
HALF_PI_3 = F(7.54978995489188216e-8)
SIN_1, SIN_2, SIN_3 = F(-1.6666654611e-1), F(8.3321608736e-3), F(-1.9515295891e-4)
COS_1, COS_2, COS_3 = F(4.166664568298827e-2), F(-1.388731625493765e-3), F(2.443315711809948e-5)

# exp: x = n * ln 2 + r with |r| <= ln2 / 2; exp(x) = 2^n * exp(r).
LOG2_E = F(1.44269504088896341)
LN2_HI, LN2_LO = F(0.693359375), F(-2.12194440e-4)
EXP_1, EXP_2, EXP_3 = F(1.9875691500e-4), F(1.3981999507e-3), F(8.3334519073e-3)
EXP_4, EXP_5, EXP_6 = F(4.1665795894e-2), F(1.6666665459e-1), F(5.0000001201e-1)
# Past these exp overflows or leaves the normal range; results there are 0 or
# huge to within float32's resolution of the node functions that use exp.
EXP_LOW, EXP_HIGH = F(-87.0), F(88.0)


@intrinsic
def _float_from_bits(typingctx, bits):
    """The float32 whose IEEE bits are the int32 ``bits`` (a vectorisable bitcast)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())
    return types.float32(types.int32), codegen


@njit(inline="always")
def sin32(x):
    n = np.floor(x * TWO_OVER_PI + F(0.5))
    r = ((x - n * HALF_PI_1) - n * HALF_PI_2) - n * HALF_PI_3
    r2 = r * r
    sine = r + r * r2 * (SIN_1 + r2 * (SIN_2 + r2 * SIN_3))
    cosine = F(1.0) - F(0.5) * r2 + r2 * r2 * (COS_1 + r2 * (COS_2 + r2 * COS_3))
    quadrant = np.int32(n) & 3
    value = sine if (quadrant & 1) == 0 else cosine
    return -value if quadrant >= 2 else value


@njit(inline="always")
def exp32(x):
    x = min(max(x, EXP_LOW), EXP_HIGH)
    n = np.floor(x * LOG2_E + F(0.5))
    r = (x - n * LN2_HI) - n * LN2_LO
    r2 = r * r
    poly = ((((EXP_1 * r + EXP_2) * r + EXP_3) * r + EXP_4) * r + EXP_5) * r + EXP_6
    return (poly * r2 + r + F(1.0)) * _float_from_bits((np.int32(n) + 127) << 23)

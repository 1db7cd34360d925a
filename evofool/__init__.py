"""evofool: evolve images that trained classifiers label with near-certainty.

After Nguyen, Yosinski & Clune, "Deep Neural Networks are Easily Fooled" (CVPR 2015).
"""

__version__ = "0.1.0"

from evofool.numerics import settle_vector_math

settle_vector_math()  # before anything in the process runs in parallel (evofool.numerics)

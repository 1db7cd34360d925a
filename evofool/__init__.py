"""evofool: evolve images that trained classifiers label with near-certainty.

After Nguyen, Yosinski & Clune, "Deep Neural Networks are Easily Fooled" (CVPR 2015).
"""

__version__ = "0.1.0"

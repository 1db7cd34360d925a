"""Natural datasets the classifiers are trained on."""

from evofool.data.mnist import MNIST_CLASS_NAMES, MnistArrays, load_mnist

__all__ = ["MNIST_CLASS_NAMES", "MnistArrays", "load_mnist"]

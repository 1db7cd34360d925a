"""Natural datasets the classifiers are trained on."""

from evofool.data.labelled import LabelledImages, load_labelled_images
from evofool.data.mnist import MNIST_CLASS_NAMES, MnistArrays, load_mnist

__all__ = ["MNIST_CLASS_NAMES", "LabelledImages", "MnistArrays", "load_labelled_images",
           "load_mnist"]

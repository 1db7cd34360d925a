"""Training the classifiers that evolution then fools."""

from evofool.training.lenet_training import TrainingResult, train_mnist_lenet

__all__ = ["TrainingResult", "train_mnist_lenet"]

"""Classifiers: the networks fooled, behind one interface."""

from evofool.models.classifier import Classifier
from evofool.models.ensemble import ClassifierEnsemble
from evofool.models.input_spec import InputSpec
from evofool.models.lenet import LeNet, default_lenet_path
from evofool.models.loading import load_classifier, load_classifiers

__all__ = ["Classifier", "ClassifierEnsemble", "InputSpec", "LeNet", "default_lenet_path",
           "load_classifier", "load_classifiers"]

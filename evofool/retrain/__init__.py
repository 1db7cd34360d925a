"""The n+1 experiment: fooling images become a garbage class, the model is retrained, repeat."""

from evofool.retrain.config import RetrainConfig, load_retrain_config
from evofool.retrain.experiment import RetrainExperiment
from evofool.retrain.layout import is_retrain_dir

__all__ = ["RetrainConfig", "RetrainExperiment", "is_retrain_dir", "load_retrain_config"]

"""Errors that describe a user's mistake or an unavailable resource.

The command line prints an ``EvofoolError`` as one line and exits with code 2;
anything else is a bug and keeps its traceback (behind ``--debug``).
"""


class EvofoolError(Exception):
    """A problem the user can fix; its message is one self-contained line."""


class ModelLoadError(EvofoolError):
    """A model spec that names nothing loadable, or a missing or corrupt model file."""


class InputShapeError(EvofoolError, ValueError):
    """Images whose shape does not fit the classifier they are given to."""


class NonFiniteScoresError(EvofoolError, RuntimeError):
    """A model produced NaN or infinite outputs, so its confidences mean nothing."""


class DataUnavailableError(EvofoolError):
    """A dataset that none of its sources could provide."""


class ImageReadError(EvofoolError):
    """A file that is missing or is not a readable image."""


def first_line(error: BaseException) -> str:
    """The first line of an exception's message, for one-line reports."""
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]


class ConfigError(EvofoolError):
    """A config that does not validate; the message names the key."""

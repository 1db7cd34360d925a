"""Errors that describe a user's mistake or an unavailable resource.

The command line prints an ``EvofoolError`` as one line and exits with code 2;
anything else is a bug and keeps its traceback (behind ``--debug``).
"""

import reprlib


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


MESSAGE_LIMIT = 600  # characters of one error line; a value quoted in full could be huge


def first_line(error: BaseException) -> str:
    """The first line of an exception's message, at most MESSAGE_LIMIT characters, for
    one-line reports."""
    text = str(error).strip() or type(error).__name__
    line = text.splitlines()[0]
    return line if len(line) <= MESSAGE_LIMIT else line[:MESSAGE_LIMIT - 3] + "..."


_QUOTE = reprlib.Repr()  # keyword arguments only from Python 3.12
_QUOTE.maxstring = _QUOTE.maxother = 80
_QUOTE.maxlist = _QUOTE.maxdict = 6
_QUOTE.maxlevel = 2


def printable(text: str) -> str:
    """``text`` with the bytes of a file name that is not UTF-8 written as ``\\xff``:
    Python holds them as lone surrogates, which no page, JSON answer or message can encode."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def quoted(value: object) -> str:
    """``repr(value)``, bounded: what an error quotes of user input (a YAML document that
    expands through aliases can hold a value whose full repr is hundreds of MB)."""
    return _QUOTE.repr(value)


class ConfigError(EvofoolError):
    """A config that does not validate; the message names the key."""


def describe_os_error(error: OSError) -> str:
    """An OS error as one line naming the path and the problem ("/x/run.sqlite: No space
    left on device"): the environment's answer, which the user can act on."""
    paths = [str(path) for path in (error.filename, error.filename2) if path]
    problem = error.strerror or first_line(error)
    return f"{' -> '.join(paths)}: {problem}" if paths else problem

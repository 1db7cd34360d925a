"""Entry point: parse, dispatch to one subcommand module, turn user errors into one line.

Each subcommand lives in its own module exposing ``register(subparsers)``,
which adds its parser and sets ``handler`` to a function of the parsed args.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import subprocess
import sys

from evofool import __version__
from evofool.cli import (
    browse,
    classify,
    defend,
    export,
    ood,
    plot,
    retrain,
    run,
    train,
    transfer,
)
from evofool.errors import EvofoolError, describe_os_error, first_line

EXIT_USER_ERROR = 2
EXIT_INTERNAL_ERROR = 1
_SUBCOMMANDS = (train, classify, run, retrain, transfer, export, ood, defend, plot, browse)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="evofool", description="Evolve images that classifiers label with near-certainty.")
    parser.add_argument("--version", action="version", version=f"evofool {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show full tracebacks instead of one-line errors")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in _SUBCOMMANDS:
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; return its exit code (2 for a user mistake)."""
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args) or 0
    except EvofoolError as error:
        if args.debug:
            raise
        print(f"evofool: error: {first_line(error)}", file=sys.stderr)
        return EXIT_USER_ERROR
    except OSError as error:  # the machine's answer (read-only, disk full, not a directory)
        if args.debug:
            raise
        print(f"evofool: error: {describe_os_error(error)}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("evofool: interrupted", file=sys.stderr)
        return 130
    except Exception as error:
        if args.debug:
            raise
        print(f"evofool: internal error: {type(error).__name__}: {first_line(error)} "
              "(rerun with --debug for the traceback)", file=sys.stderr)
        return EXIT_INTERNAL_ERROR


def run_captured(argv: list[str]) -> subprocess.CompletedProcess:
    """Run one command in this process with its output captured, as a new ``evofool``
    process would (the same parser, handlers and one-line errors, argparse's usage errors
    as their exit code), without the second or two each new process spends importing
    torch: how the tests and the benchmarks call commands that need no process of their
    own."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(argv))
        except SystemExit as exit:  # argparse's usage errors, --help, --version
            code = exit.code if isinstance(exit.code, int) else int(exit.code is not None)
    return subprocess.CompletedProcess(["evofool", *argv], code, out.getvalue(), err.getvalue())


if __name__ == "__main__":
    sys.exit(main())

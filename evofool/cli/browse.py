"""``evofool browse [DIR ...]``: the archive browser on a local web server."""

from __future__ import annotations

import argparse
import socket
import sys
from pathlib import Path

from evofool.errors import EvofoolError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "browse", help="browse runs in a local web gallery (read-only)",
        description="Serve a read-only web gallery of runs: a runs directory, run directories "
                    "or retrain experiments. Pages update while runs write.")
    parser.add_argument("paths", type=Path, nargs="*", default=[Path("runs")], metavar="DIR",
                        help="runs directory, run or experiment directories (default: runs)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                        help="also answer requests for this host name (the server answers "
                             "only for localhost, 127.0.0.1, ::1 and --host: a page "
                             "elsewhere cannot read the runs through DNS rebinding)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn  # imported here: only this command needs a web server

    from evofool.browse import create_app
    from evofool.store import is_run_dir
    from evofool.store.retrain_layout import is_retrain_dir

    if not 0 < args.port < 65536:
        raise EvofoolError(f"--port must be in 1..65535, not {args.port}")
    missing = [str(path) for path in args.paths if not path.exists()]
    if len(missing) == len(args.paths):
        raise EvofoolError(f"nothing to browse: {', '.join(missing)} does not exist")
    files = [str(path) for path in args.paths if path.is_file()]
    if files:
        raise EvofoolError(f"{files[0]} is a file; browse takes a runs directory, run "
                           "directories or retrain experiments")
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"evofool: serving on {args.host}: other machines can read these runs",
              file=sys.stderr)
    for root in args.paths:  # say what a runs directory holds that the browser cannot show
        others = [child.name for child in sorted(root.iterdir()) if child.is_dir()
                  and not (is_run_dir(child) or is_retrain_dir(child))] \
            if root.is_dir() and not (is_run_dir(root) or is_retrain_dir(root)) else []
        if others:
            print(f"evofool: not shown, not runs: {', '.join(others[:5])}"
                  f"{f' and {len(others) - 5} more' if len(others) > 5 else ''} in {root}",
                  file=sys.stderr)
    print(f"evofool: browsing {', '.join(map(str, args.paths))} at "
          f"http://{url_host(args.host)}:{args.port}/ (Ctrl-C stops)", file=sys.stderr)
    listening = _bound_socket(args.host, args.port)
    app = create_app(list(args.paths), hosts=(args.host, *args.allow_host))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    server.run(sockets=[listening])
    return 0


def _bound_socket(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so a taken port is one line, not uvicorn's exit."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        listening = socket.socket(family, socket.SOCK_STREAM)
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listening.bind((host, port))
    except OSError as error:
        raise EvofoolError(f"cannot serve on {host}:{port}: {error.strerror or error}"
                           ) from error
    return listening


def url_host(host: str) -> str:
    """``host`` as a URL writes it: an IPv6 address in brackets (http://[::1]:8768/)."""
    return f"[{host}]" if ":" in host else host

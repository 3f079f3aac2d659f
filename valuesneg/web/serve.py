"""`valuesneg serve`: the web interface under uvicorn, bound to 127.0.0.1 unless told."""

from __future__ import annotations

import argparse
import socket
import sys
from pathlib import Path

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def add_serve_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`valuesneg serve` and its options."""
    serve = sub.add_parser("serve", help="a web interface: people play parties in a browser; "
                                         "browse runs, their reports and verification")
    serve.add_argument("--host", default="127.0.0.1",
                       help="the address to bind (default 127.0.0.1, this machine only)")
    serve.add_argument("--port", type=int, default=8000,
                       help="the port (default 8000; 0: any free port, printed at start)")
    serve.add_argument("--runs", default="runs", metavar="DIR",
                       help="the runs folder: new runs go here, unfinished ones resume "
                            "(default runs)")
    serve.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    """Listen (the socket bound before the URL is printed, so it answers at once) and serve
    until stopped."""
    import uvicorn

    from valuesneg.io.files import UserError

    from .app import create_app

    root = Path(args.runs)
    if root.exists() and not root.is_dir():
        raise UserError(f"--runs {root}: not a folder")
    root.mkdir(parents=True, exist_ok=True)
    try:
        family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((args.host, args.port))
        listener.listen(2048)  # connections wait in the backlog until uvicorn accepts
    except OSError as error:
        raise UserError(f"cannot listen on {args.host}:{args.port}: {error.strerror}") from None
    port = listener.getsockname()[1]
    if args.host not in LOOPBACK:
        print(f"valuesneg serve: WARNING: listening on {args.host}, not on this machine "
              "only. Anyone who can reach it can start runs and browse finished ones; a "
              "party's turns are guarded by its link's token alone, and this is plain HTTP "
              "(links travel unencrypted): put it behind TLS, or bind 127.0.0.1.",
              file=sys.stderr, flush=True)
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"valuesneg serve: http://{host}:{port}/ (runs in {root})", flush=True)
    hosts = (*LOOPBACK, "[::1]") if args.host in LOOPBACK else ("*",)
    config = uvicorn.Config(create_app(root, hosts), log_level="warning", access_log=False,
                            timeout_graceful_shutdown=2)
    # No access log: a party's link carries its token in the path.
    uvicorn.Server(config).run(sockets=[listener])
    return 0

"""``aoai-mock``: the command line. :mod:`.parser` holds every command and flag, :mod:`.serve` the server's
start, :mod:`.commands` the others; each command imports what it needs only when it runs (start-up is timed)."""

from __future__ import annotations

from collections.abc import Sequence

from aoai_mock.cli.parser import build_parser

__all__ = ["main", "build_parser"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:  # bare `aoai-mock`: what it can do, not an error
        parser.print_help()
        return 0
    if args.command == "serve":
        from aoai_mock.cli.serve import serve

        return serve(args)
    from aoai_mock.cli import commands

    run = {
        "wait": commands.wait,
        "deployments": commands.deployments,
        "scenarios": commands.scenarios,
        "record": commands.record,
        "token": commands.token,
        "schema": commands.schema,
        "validate": commands.validate,
    }.get(args.command)
    if run is None:  # pragma: no cover - argparse rejects unknown commands
        return 2
    try:
        return run(args)
    except BrokenPipeError:  # `aoai-mock deployments | head`: the reader has gone, which is no error of ours
        import os
        import sys

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # Python's flush at exit would fail again
        return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

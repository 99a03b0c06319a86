"""``aoai-mock``: the command line."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["main"]


class _Version(argparse.Action):
    """``--version``: the installed package's version, looked up only when asked for (start-up is timed)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("aoai-mock")
        except PackageNotFoundError:  # a source tree that was not installed
            found = "unknown (not installed)"
        sys.stdout.write(f"aoai-mock {found}\n")
        parser.exit()


_LOG_LEVEL = "how much the server logs: critical, error, warning, info (default) or debug"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aoai-mock", description="A local, deterministic Azure OpenAI.")
    parser.add_argument("--version", action=_Version)
    commands = parser.add_subparsers(dest="command", metavar="{serve,record,schema,validate}")
    serve = commands.add_parser("serve", help="serve the mock over HTTP")
    serve.add_argument("--host", help="address to bind (env AOAI_MOCK_HOST; default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (env AOAI_MOCK_PORT; default 8000; 0 picks a free one)")
    serve.add_argument("--config", dest="config_path", help="YAML configuration file (env AOAI_MOCK_CONFIG)")
    serve.add_argument(
        "--api-key",
        dest="api_keys",
        action="append",
        help="accept only this key; repeatable (env AOAI_MOCK_API_KEYS, comma-separated). "
        "Without any, every non-empty key is accepted.",
    )
    serve.add_argument("--seed", type=int, help="seed for answers; also freezes ids and timestamps (env AOAI_MOCK_SEED)")
    serve.add_argument(
        "--scenario",
        dest="scenarios",
        action="append",
        help="scenario file, folder or shipped scenario name to load; repeatable (env AOAI_MOCK_SCENARIOS, "
        "comma-separated). The first one loaded is active.",
    )
    serve.add_argument("--watch", action="store_true", default=None, help="reload scenario files when they change")
    serve.add_argument("--admin-key", help="require this key on the /_mock/ control API (env AOAI_MOCK_ADMIN_KEY)")
    serve.add_argument(
        "--insecure-control-api",
        action="store_true",
        default=None,
        help="serve the /_mock/ control API without an admin key on an address other machines reach (0.0.0.0, "
        "a LAN address); without this or --admin-key, such a start is refused (env AOAI_MOCK_INSECURE_CONTROL_API=1)",
    )
    serve.add_argument("--journal-size", type=int, help="requests the journal keeps (env AOAI_MOCK_JOURNAL_SIZE)")
    serve.add_argument(
        "--log-format",
        choices=["text", "json"],
        help="json: one structured line per request, never a key (env AOAI_MOCK_LOG_FORMAT; default text)",
    )
    serve.add_argument(
        "--workers",
        type=int,
        help="processes serving (env AOAI_MOCK_WORKERS; default 1); journal, quotas and counters are per process",
    )
    serve.add_argument(
        "--state",
        dest="state_path",
        metavar="PATH",
        help="keep files, batches, fine-tuning jobs, assistants and threads in this SQLite file, so a restarted "
        "server still has them (env AOAI_MOCK_STATE; default: in memory only)",
    )
    serve.add_argument(
        "--batch-seconds", type=float, help="how long a batch takes, validating to completed (env AOAI_MOCK_BATCH_SECONDS)"
    )
    serve.add_argument(
        "--fine-tuning-seconds",
        type=float,
        help="how long a fine-tuning job takes, pending to succeeded (env AOAI_MOCK_FINE_TUNING_SECONDS)",
    )
    serve.add_argument(
        "--run-seconds",
        type=float,
        help="how long a polled assistant run takes, queued to its outcome (env AOAI_MOCK_RUN_SECONDS; default 2)",
    )
    serve.add_argument(
        "--read-timeout",
        type=float,
        metavar="SECONDS",
        help="close a connection whose request headers or body stall this long (env AOAI_MOCK_READ_TIMEOUT; "
        "default 30)",
    )
    serve.add_argument(
        "--max-connections",
        type=int,
        metavar="N",
        help="connections served at once; more get a 503 and are closed (env AOAI_MOCK_MAX_CONNECTIONS; "
        "default: what the open-file limit allows)",
    )
    serve.add_argument("--max-file-bytes", type=int, help="largest upload accepted (env AOAI_MOCK_MAX_FILE_BYTES)")
    serve.add_argument(
        "--replay",
        dest="replay_dir",
        metavar="DIR",
        help="answer /openai/ requests from the recordings in DIR (aoai-mock record) (env AOAI_MOCK_REPLAY)",
    )
    serve.add_argument(
        "--replay-miss",
        metavar="POLICY",
        help="a request not recorded: 'error' (a 400 naming the nearest recordings; the default) or "
        "'responder:NAME' (served as usual, by that responder) (env AOAI_MOCK_REPLAY_MISS)",
    )
    serve.add_argument(
        "--replay-speed",
        type=float,
        help="recorded stream timing is divided by this; 0 sends at once (env AOAI_MOCK_REPLAY_SPEED; default 1)",
    )
    serve.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"], help=_LOG_LEVEL
    )
    _record_parser(commands)
    schema = commands.add_parser("schema", help="print the JSON Schema of scenario files, for editors")
    schema.add_argument("-o", "--output", help="write it to this file instead of standard output")
    validate = commands.add_parser(
        "validate", help="check scenario files; print every problem with its file, line and field"
    )
    validate.add_argument("paths", nargs="+", metavar="FILE", help="scenario file, folder or shipped scenario name")
    return parser


def _record_parser(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    record = commands.add_parser(
        "record", help="proxy to a real Azure OpenAI resource and write each exchange as a fixture"
    )
    record.add_argument("--upstream", required=True, metavar="URL", help="the resource, https://NAME.openai.azure.com")
    record.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    record.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    record.add_argument("--out", default="fixtures/recorded", metavar="DIR", help="where fixtures go (default %(default)s)")
    record.add_argument(
        "--api-key-env",
        default="AZURE_OPENAI_API_KEY",
        metavar="NAME",
        help="environment variable holding the upstream's key (default %(default)s); never written anywhere",
    )
    record.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"], help=_LOG_LEVEL
    )


def _record(args: argparse.Namespace) -> int:
    import os
    from pathlib import Path

    key = os.environ.get(args.api_key_env, "").strip()
    if not key:
        print(f"aoai-mock: set {args.api_key_env} to the upstream's key (or name another variable with "
              "--api-key-env)", file=sys.stderr)
        return 2
    if not args.upstream.startswith(("http://", "https://")):
        print(f"aoai-mock: --upstream must be an http(s) URL, not {args.upstream!r}", file=sys.stderr)
        return 2
    import uvicorn

    from aoai_mock.record.proxy import RecordingProxy, RecordOptions

    proxy = RecordingProxy(RecordOptions(args.upstream, key, Path(args.out)))
    print(f"aoai-mock: recording {args.upstream} into {args.out}", file=sys.stderr, flush=True)
    uvicorn.run(proxy, host=args.host, port=args.port, log_level=args.log_level,
                access_log=args.log_level == "debug", timeout_graceful_shutdown=1)
    return 0


def _schema(args: argparse.Namespace) -> int:
    import json

    from aoai_mock.behaviour.scenarios import json_schema

    text = json.dumps(json_schema(), indent=2) + "\n"
    if args.output:
        with open(args.output, "w", encoding="utf-8") as out:
            out.write(text)
    else:
        sys.stdout.write(text)
    return 0


def _validate(args: argparse.Namespace) -> int:
    from aoai_mock.behaviour.scenarios import ScenarioError, load_paths
    from aoai_mock.behaviour.scenarios.engine import ScenarioBook

    try:
        scenarios = load_paths(args.paths)
        for scenario in scenarios:
            ScenarioBook().load(scenario)  # compiles it: responders and fixtures, as the server would
    except ScenarioError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        count = len(exc.problems)
        print(f"aoai-mock: {count} problem{'s' if count != 1 else ''} found", file=sys.stderr)
        return 1
    if not scenarios:
        print("no scenario files found")
    for scenario in scenarios:
        rules = len(scenario.rules)
        print(f"ok: {scenario.name} ({rules} rule{'s' if rules != 1 else ''}) from {scenario.source}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    import gc

    gc.disable()  # start-up allocates much and frees little: no collection until it is over (own_process_collector)
    from aoai_mock.settings import ConfigError, resolve

    given: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "config_path": args.config_path,
        "api_keys": tuple(args.api_keys or ()),
        "seed": args.seed,
        "scenarios": tuple(args.scenarios or ()),
        "watch": args.watch,
        "admin_key": args.admin_key,
        "journal_size": args.journal_size,
        "state_path": args.state_path,
        "batch_seconds": args.batch_seconds,
        "fine_tuning_seconds": args.fine_tuning_seconds,
        "run_seconds": args.run_seconds,
        "max_file_bytes": args.max_file_bytes,
        "log_format": args.log_format,
        "workers": args.workers,
        "replay_dir": args.replay_dir,
        "replay_miss": args.replay_miss,
        "replay_speed": args.replay_speed,
        "read_timeout": args.read_timeout,
        "max_connections": args.max_connections,
        "insecure_control_api": args.insecure_control_api,
    }
    try:
        settings = resolve(given)
    except ConfigError as exc:
        print(f"aoai-mock: {exc}", file=sys.stderr)
        return 2

    if settings.exposed_control_api and not settings.insecure_control_api:
        print(
            f"aoai-mock: not starting: on {settings.host} the /_mock/ control API (scenarios, faults, the journal, "
            "state) would be open to anyone who reaches the port. Set an admin key (--admin-key or "
            "AOAI_MOCK_ADMIN_KEY), or say --insecure-control-api (AOAI_MOCK_INSECURE_CONTROL_API=1) to serve it open.",
            file=sys.stderr,
        )
        return 2
    if settings.exposed_control_api:
        print(f"aoai-mock: warning: the /_mock/ control API is open to anyone who reaches {settings.host}:"
              f"{settings.port} (--insecure-control-api)", file=sys.stderr)

    import uvicorn

    from aoai_mock.app import WORKER_SETTINGS, ReplayError, create_app, own_process_collector
    from aoai_mock.behaviour.scenarios import ScenarioError
    from aoai_mock.http.protocol import UVICORN_OPTIONS
    from aoai_mock.state.store import StateFileError

    try:
        app = create_app(settings)  # also checks scenarios and the state file before any worker starts
    except ScenarioError as exc:
        print(f"aoai-mock: not starting, the scenarios have {len(exc.problems)} problem(s):", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    except (StateFileError, ReplayError) as exc:
        print(f"aoai-mock: not starting: {exc}", file=sys.stderr)
        return 2
    _server_log(settings.log_format, args.log_level)
    if settings.log_format == "json":
        _json_request_log()
    options = {
        "host": settings.host,
        "port": settings.port,
        "log_level": args.log_level,
        "access_log": args.log_level == "debug" and settings.log_format == "text",
        "timeout_graceful_shutdown": 1,
        **UVICORN_OPTIONS,
    }
    own_process_collector()
    if settings.workers > 1:  # each worker process builds its own app from the same settings
        os.environ[WORKER_SETTINGS] = json.dumps(given, default=str)
        uvicorn.run("aoai_mock.app:app_for_worker", factory=True, workers=settings.workers, **options)
    else:
        uvicorn.run(app, **options)
    return 0


def _server_log(log_format: str, level: str) -> None:
    """The mock's own messages (a scenario reload, an unexpected error) on stderr, at ``--log-level``: as
    uvicorn writes its lines in text mode, one JSON object a line in JSON mode."""
    import logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JsonLines() if log_format == "json" else _TextLines())
    logger = logging.getLogger("aoai_mock")
    logger.addHandler(handler)
    logger.setLevel(level.upper())
    logger.propagate = False


class _TextLines:
    """``INFO:     message``, as uvicorn's own lines look."""

    def format(self, record: Any) -> str:
        import logging

        text = f"{record.levelname + ':':<10}{record.getMessage()}"
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        return text


class _JsonLines:
    """``{"time", "event": "log", "level", "logger", "message"}`` (and ``error``, a traceback, when there is one)."""

    def format(self, record: Any) -> str:
        import logging
        from datetime import UTC, datetime

        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "event": "log",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["error"] = logging.Formatter().formatException(record.exc_info)
        return json.dumps(line)


def _json_request_log() -> None:
    """One JSON line per request on stderr (the aoai_mock.requests logger's messages are JSON already)."""
    import logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("aoai_mock.requests")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:  # bare `aoai-mock`: what it can do, not an error
        parser.print_help()
        return 0
    if args.command == "serve":
        return _serve(args)
    if args.command == "record":
        return _record(args)
    if args.command == "schema":
        return _schema(args)
    if args.command == "validate":
        return _validate(args)
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

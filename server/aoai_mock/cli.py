"""``aoai-mock``: the command line."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import socket

    from aoai_mock.console import Start
    from aoai_mock.settings import Settings

__all__ = ["main"]


class _Version(argparse.Action):
    """``--version``: the installed package's version, looked up only when asked for (start-up is timed)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        sys.stdout.write(f"aoai-mock {_installed_version()}\n")
        parser.exit()


def _installed_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("aoai-mock")
    except PackageNotFoundError:  # a source tree that was not installed
        return "unknown (not installed)"


_LOG_LEVEL = "how much the server logs: critical, error, warning, info (default) or debug"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aoai-mock", description="A local, deterministic Azure OpenAI.")
    parser.add_argument("--version", action=_Version)
    commands = parser.add_subparsers(
        dest="command", metavar="{serve,wait,deployments,scenarios,record,schema,validate}"
    )
    serve = commands.add_parser("serve", help="serve the mock over HTTP")
    serve.add_argument("--host", help="address to bind (env AOAI_MOCK_HOST; default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (env AOAI_MOCK_PORT; default 8000; 0 picks a free one)")
    serve.add_argument(
        "--config", dest="config_path", metavar="FILE", help="YAML configuration file (env AOAI_MOCK_CONFIG)"
    )
    serve.add_argument(
        "--api-key",
        dest="api_keys",
        action="append",
        metavar="KEY",
        help="accept only this key; repeatable (env AOAI_MOCK_API_KEYS, comma-separated). "
        "Without any, every non-empty key is accepted.",
    )
    serve.add_argument(
        "--seed", type=int, metavar="N", help="seed for answers; also freezes ids and timestamps (env AOAI_MOCK_SEED)"
    )
    serve.add_argument(
        "--scenario",
        dest="scenarios",
        action="append",
        metavar="PATH_OR_NAME",
        help="scenario file, folder or shipped scenario name to load; repeatable (env AOAI_MOCK_SCENARIOS, "
        "comma-separated). The first one loaded is active.",
    )
    serve.add_argument("--watch", action="store_true", default=None, help="reload scenario files when they change")
    serve.add_argument(
        "--admin-key", metavar="KEY", help="require this key on the /_mock/ control API (env AOAI_MOCK_ADMIN_KEY)"
    )
    serve.add_argument(
        "--insecure-control-api",
        action="store_true",
        default=None,
        help="serve the /_mock/ control API without an admin key on an address other machines reach (0.0.0.0, "
        "a LAN address); without this or --admin-key, such a start is refused (env AOAI_MOCK_INSECURE_CONTROL_API=1)",
    )
    serve.add_argument(
        "--journal-size", type=int, metavar="N", help="requests the journal keeps (env AOAI_MOCK_JOURNAL_SIZE)"
    )
    serve.add_argument(
        "--log-format",
        choices=["text", "json"],
        help="json: one structured line per request, never a key (env AOAI_MOCK_LOG_FORMAT; default text)",
    )
    serve.add_argument(
        "--no-request-log",
        action="store_true",
        help="no line per request on stderr (env AOAI_MOCK_REQUEST_LOG=0); the start-up banner and errors remain",
    )
    serve.add_argument(
        "--ready-file",
        metavar="PATH",
        help="once serving, write the server's URL (one line) to PATH, by an atomic rename (port 0 shows the real one)",
    )
    serve.add_argument(
        "--workers",
        type=int,
        metavar="N",
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
        "--batch-seconds", type=float, metavar="SECONDS",
        help="how long a batch takes, validating to completed (env AOAI_MOCK_BATCH_SECONDS)"
    )
    serve.add_argument(
        "--fine-tuning-seconds",
        type=float,
        metavar="SECONDS",
        help="how long a fine-tuning job takes, pending to succeeded (env AOAI_MOCK_FINE_TUNING_SECONDS)",
    )
    serve.add_argument(
        "--run-seconds",
        type=float,
        metavar="SECONDS",
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
    serve.add_argument(
        "--max-file-bytes", type=int, metavar="N", help="largest upload accepted (env AOAI_MOCK_MAX_FILE_BYTES)"
    )
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
        metavar="X",
        help="recorded stream timing is divided by this; 0 sends at once (env AOAI_MOCK_REPLAY_SPEED; default 1)",
    )
    serve.add_argument(
        "--otel",
        action="store_true",
        default=None,
        help="send a span and GenAI metrics per request over OTLP, as the OTEL_* variables say (env AOAI_MOCK_OTEL; "
        "on too when OTEL_EXPORTER_OTLP_ENDPOINT is set; needs the otel extra; docs/opentelemetry.md)",
    )
    serve.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"], help=_LOG_LEVEL
    )
    _look_parsers(commands)
    _record_parser(commands)
    schema = commands.add_parser("schema", help="print the JSON Schema of scenario or configuration files, for editors")
    schema.add_argument(
        "of", nargs="?", choices=["scenario", "config"], default="scenario",
        help="scenario files (the default) or the configuration file (--config)",
    )
    schema.add_argument("-o", "--output", help="write it to this file instead of standard output")
    validate = commands.add_parser(
        "validate", help="check configuration and scenario files; print every problem with its file, line and field"
    )
    validate.add_argument(
        "paths", nargs="*", metavar="FILE",
        help="configuration file, scenario file, folder or shipped scenario name; a YAML file with `deployments:` "
        "and nothing a scenario has, or with a server setting (port, region, ...), is a configuration file",
    )
    validate.add_argument(
        "--config", dest="configs", action="append", default=[], metavar="FILE",
        help="check FILE as a configuration file, whatever it holds; repeatable",
    )
    validate.add_argument("--json", action="store_true", help="print {ok: [...], problems: [...]} as JSON")
    return parser


def _look_parsers(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """The commands that look without serving: wait for a server, list deployments and scenarios."""
    wait = commands.add_parser("wait", help="wait until a server at URL answers its health check (for CI)")
    wait.add_argument("url", metavar="URL", help="the server, e.g. http://127.0.0.1:8000 (/_mock/health is asked)")
    wait.add_argument(
        "--timeout", type=float, default=30.0, metavar="SECONDS", help="give up after this long (default 30); exit 1"
    )
    wait.add_argument(
        "--interval", type=float, default=0.1, metavar="SECONDS", help="time between two tries (default 0.1)"
    )
    deployments = commands.add_parser("deployments", help="list the deployments a configuration offers")
    deployments.add_argument(
        "--config", dest="config_path", metavar="FILE",
        help="YAML configuration file (env AOAI_MOCK_CONFIG; default: the built-in one)",
    )
    deployments.add_argument("--json", action="store_true", help="one JSON array instead of a table")
    scenarios = commands.add_parser("scenarios", help="list the shipped scenarios, and those in the paths given")
    scenarios.add_argument(
        "paths", nargs="*", metavar="PATH", help="scenario files or folders to list after the shipped ones"
    )
    scenarios.add_argument("--json", action="store_true", help="one JSON array instead of a table")


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

    if args.of == "config":
        from aoai_mock.config import json_schema
    else:
        from aoai_mock.behaviour.scenarios import json_schema

    text = json.dumps(json_schema(), indent=2) + "\n"
    if args.output:
        with open(args.output, "w", encoding="utf-8") as out:
            out.write(text)
    else:
        sys.stdout.write(text)
    return 0


def _validate(args: argparse.Namespace) -> int:
    """Configuration files, then scenario files (compiled as the server would); exit 1 on any problem."""
    from pathlib import Path

    from aoai_mock.behaviour.scenarios import ScenarioError, load_paths
    from aoai_mock.behaviour.scenarios.engine import ScenarioBook
    from aoai_mock.config import ConfigError, load_config, sort_paths

    if not args.paths and not args.configs:
        print("aoai-mock: validate needs files, folders or shipped scenario names, or --config FILE", file=sys.stderr)
        return 2
    configs, others = sort_paths(args.paths)
    problems: list[Any] = []
    ok: list[dict[str, Any]] = []
    for path in [*configs, *map(Path, args.configs)]:
        try:
            ok.append({"file": str(path), "kind": "config", "deployments": len(load_config(path).deployments)})
        except ConfigError as exc:
            problems += exc.problems
    try:
        for scenario in load_paths(others) if others else []:
            ScenarioBook().load(scenario)  # compiles it: responders and fixtures, as the server would
            ok.append({"file": str(scenario.source), "kind": "scenario", "name": scenario.name,
                       "rules": len(scenario.rules)})
    except ScenarioError as exc:
        problems += exc.problems
    if args.json:
        shown = [{"file": p.file, "line": p.line, "field": p.field, "message": p.message} for p in problems]
        print(json.dumps({"ok": ok, "problems": shown}, indent=2))
        return 1 if problems else 0
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        print(f"aoai-mock: {len(problems)} problem{'s' if len(problems) != 1 else ''} found", file=sys.stderr)
        return 1
    for item in ok:
        name, count, what = (item["name"], item["rules"], "rule") if item["kind"] == "scenario" else (
            "configuration", item["deployments"], "deployment")
        print(f"ok: {name} ({count} {what}{'s' if count != 1 else ''}) from {item['file']}")
    if not ok:
        print("no configuration or scenario files found")
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
        "request_lines": False if args.no_request_log else None,
        "workers": args.workers,
        "replay_dir": args.replay_dir,
        "replay_miss": args.replay_miss,
        "replay_speed": args.replay_speed,
        "read_timeout": args.read_timeout,
        "max_connections": args.max_connections,
        "insecure_control_api": args.insecure_control_api,
        "otel": args.otel,
    }
    if given["request_lines"] is None and "AOAI_MOCK_REQUEST_LOG" not in os.environ:
        given["request_lines"] = True  # the command's own default; embedded servers (LiveServer) stay quiet
    try:
        settings = resolve(given)
    except ConfigError as exc:
        if not exc.problems:  # a flag or an environment variable
            print(f"aoai-mock: {exc}", file=sys.stderr)
            return 2
        print(f"aoai-mock: not starting, the configuration has {len(exc.problems)} problem(s):", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
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

    listener = _bind(settings.host, settings.port)
    if isinstance(listener, int):
        return listener
    with listener:
        return _serve_on(listener, args, settings, given)


BIND_FAILED = 4  # exit code: the address could not be bound (the port is in use, or not allowed here)


def _bind(host: str, port: int) -> "socket.socket | int":
    """The listening socket, bound before anything else starts: a port in use is one clear line and exit code
    :data:`BIND_FAILED` before uvicorn says a word, and with port 0 the real port is known for the banner."""
    import errno
    import socket

    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        print(f"aoai-mock: cannot listen on {host}: {exc.strerror}", file=sys.stderr)
        return BIND_FAILED
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: a restart reuses the port
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            print(f"aoai-mock: port {port} on {host} is in use (another aoai-mock still running?); choose another "
                  "with --port or AOAI_MOCK_PORT, or --port 0 for a free one", file=sys.stderr)
        else:
            print(f"aoai-mock: cannot listen on {host} port {port}: {exc.strerror}", file=sys.stderr)
        return BIND_FAILED
    sock.set_inheritable(True)  # --workers: every worker process serves on this socket
    return sock


def _serve_on(listener: "socket.socket", args: argparse.Namespace, settings: "Settings", given: dict[str, Any]) -> int:
    import uvicorn

    from aoai_mock.app import WORKER_SETTINGS, ReplayError, create_app, own_process_collector
    from aoai_mock.behaviour.scenarios import ScenarioError
    from aoai_mock.console import Start, wants_colour
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
    book = app.state.runtime.book
    start = Start.of(settings, listener.getsockname()[1], _installed_version(), tuple(book.names()), book.active)
    colour = settings.log_format == "text" and wants_colour(sys.stderr)
    options = {
        "log_config": _log_config(settings.log_format, args.log_level, settings.request_lines, colour),
        "use_colors": colour if settings.log_format == "text" else None,
        "log_level": args.log_level,
        "access_log": args.log_level == "debug" and settings.log_format == "text" and not settings.request_lines,
        "timeout_graceful_shutdown": 1,
        **UVICORN_OPTIONS,
    }
    announce = _Announce(start, settings.log_format, colour, args.ready_file)
    _lean_logging()
    own_process_collector()
    if settings.workers > 1:  # each worker process builds its own app from the same settings
        from threading import Thread

        from uvicorn.supervisors import Multiprocess

        os.environ[WORKER_SETTINGS] = json.dumps(given, default=str)
        config = uvicorn.Config("aoai_mock.app:app_for_worker", factory=True, workers=settings.workers, **options)
        Thread(target=announce.when_healthy, name="aoai-mock-ready", daemon=True).start()
        Multiprocess(config, sockets=[listener]).run()
        return 0
    server = _announcing_server(uvicorn.Config(app, **options), announce)
    try:
        server.run(sockets=[listener])
    except KeyboardInterrupt:  # Ctrl-C: uvicorn stopped gracefully, then raised it again
        pass
    return 0 if server.started else 3


def _announcing_server(config: Any, announce: "_Announce") -> Any:
    """A uvicorn server that announces itself once it serves (its socket listening, start-up complete)."""
    import uvicorn

    class Announcing(uvicorn.Server):
        async def startup(self, sockets: list[Any] | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.started:
                announce()

    return Announcing(config)


class _Announce:
    """Once serving: the banner on stderr (text, or one JSON line), and the URL in ``--ready-file``."""

    def __init__(self, start: "Start", log_format: str, colour: bool, ready_file: str | None) -> None:
        self.start = start
        self.log_format = log_format
        self.colour = colour
        self.ready_file = ready_file

    def __call__(self) -> None:
        from aoai_mock.console import banner, banner_json

        text = banner_json(self.start) if self.log_format == "json" else banner(self.start, self.colour)
        print(text, file=sys.stderr, flush=True)
        if self.ready_file:
            try:
                _write_atomically(self.ready_file, self.start.url + "\n")
            except OSError as exc:
                print(f"aoai-mock: cannot write --ready-file {self.ready_file}: {exc.strerror}", file=sys.stderr)

    def when_healthy(self) -> None:
        """For ``--workers``: announce once a worker answers the health check."""
        import time

        while _health(self.start.url, 1.0) != "200":
            time.sleep(0.05)
        self()


def _write_atomically(path: str, text: str) -> None:
    """``path`` holds ``text`` or nothing: written beside it, then renamed over it."""
    target = os.path.abspath(path)
    partial = f"{target}.{os.getpid()}.partial"
    with open(partial, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(partial, target)


def _lean_logging() -> None:
    """The logging module's documented optimisations: no caller lookup, no thread or process names. No formatter
    of the server prints them, and a request's line costs about half as much."""
    import logging

    logging._srcfile = None  # type: ignore[attr-defined]
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False


def _log_config(log_format: str, level: str, request_log: bool, colour: bool) -> dict[str, Any]:
    """uvicorn's logging configuration plus the mock's, which uvicorn applies in the server process and again in
    each ``--workers`` process. The mock's own messages (a scenario reload, an unexpected error) go to stderr at
    ``--log-level``, as uvicorn's lines look in text mode (request lines among them, so ``--log-level warning``
    silences those too) and as JSON lines in JSON mode, where the request lines are JSON already."""
    from copy import deepcopy

    from uvicorn.config import LOGGING_CONFIG

    config = deepcopy(LOGGING_CONFIG)
    stderr = {"class": "logging.StreamHandler", "stream": "ext://sys.stderr"}
    if log_format == "json":  # uvicorn's own lines too
        config["formatters"]["default"] = config["formatters"]["aoai_mock"] = {"()": "aoai_mock.console.JsonLines"}
        config["formatters"]["aoai_mock.requests"] = {"format": "%(message)s"}
        config["handlers"]["aoai_mock.requests"] = {**stderr, "formatter": "aoai_mock.requests"}
        config["loggers"]["aoai_mock.requests"] = {
            "handlers": ["aoai_mock.requests"], "level": "INFO" if request_log else "WARNING", "propagate": False
        }
    else:
        config["formatters"]["aoai_mock"] = {"()": "aoai_mock.console.TextLines", "colour": colour}
    config["handlers"]["aoai_mock"] = {**stderr, "formatter": "aoai_mock"}
    config["loggers"]["aoai_mock"] = {"handlers": ["aoai_mock"], "level": level.upper(), "propagate": False}
    return config


def _health(url: str, timeout: float) -> str:
    """One look at ``URL/_mock/health``: ``"200"``, another status, or what went wrong instead (in words)."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = kind(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    try:
        connection.request("GET", parts.path.rstrip("/") + "/_mock/health")
        return str(connection.getresponse().status)
    except OSError as exc:
        return exc.strerror or type(exc).__name__  # "Connection refused", "timed out", ...
    except http.client.HTTPException as exc:
        return f"not HTTP ({type(exc).__name__})"
    finally:
        connection.close()


def _wait(args: argparse.Namespace) -> int:
    """``aoai-mock wait URL``: exit 0 once its health check answers 200, 1 after ``--timeout`` seconds."""
    import time

    url = args.url if "://" in args.url else "http://" + args.url
    deadline = time.monotonic() + args.timeout
    while True:
        seen = _health(url, max(0.1, min(2.0, deadline - time.monotonic())))
        if seen == "200":
            return 0
        if time.monotonic() + args.interval > deadline:
            shown = f"HTTP {seen}" if seen.isdigit() else seen
            print(f"aoai-mock: {url} not ready after {args.timeout:g} s; last: {shown}", file=sys.stderr)
            return 1
        time.sleep(args.interval)


def _deployments(args: argparse.Namespace) -> int:
    from pathlib import Path

    from aoai_mock.config import ConfigError, load_config
    from aoai_mock.console import DEPLOYMENT_HEADER, deployment_facts, deployment_row, table

    path = args.config_path or os.environ.get("AOAI_MOCK_CONFIG")
    try:
        config = load_config(Path(path) if path else None)
    except ConfigError as exc:
        print(f"aoai-mock: {exc}", file=sys.stderr)
        return 2
    facts = [deployment_facts(d) for d in config.deployments]
    if args.json:
        print(json.dumps(facts, indent=2))
    else:
        print(table(DEPLOYMENT_HEADER, [deployment_row(f) for f in facts]))
    return 0


def _scenarios(args: argparse.Namespace) -> int:
    """``aoai-mock scenarios [PATH...]``: the shipped scenarios, then those in the paths given."""
    from aoai_mock.behaviour.scenarios import ScenarioError, load_paths, shipped
    from aoai_mock.console import SCENARIO_HEADER, gist, table

    try:
        found = [(s, True) for s in load_paths(shipped())] + [(s, False) for s in load_paths(args.paths)]
    except ScenarioError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    facts = [
        {"name": str(s.name), "description": s.description.strip(), "rules": len(s.rules), "faults": len(s.faults),
         "shipped": ours, "source": str(s.source)}
        for s, ours in found
    ]
    if args.json:
        print(json.dumps(facts, indent=2))
    else:
        rows = [(f["name"], str(f["rules"]), str(f["faults"]), gist(f["description"])) for f in facts]
        print(table(SCENARIO_HEADER, rows))
    return 0


_LOOKS = {"wait": _wait, "deployments": _deployments, "scenarios": _scenarios}


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:  # bare `aoai-mock`: what it can do, not an error
        parser.print_help()
        return 0
    if args.command == "serve":
        return _serve(args)
    if args.command in _LOOKS:
        return _LOOKS[args.command](args)
    if args.command == "record":
        return _record(args)
    if args.command == "schema":
        return _schema(args)
    if args.command == "validate":
        return _validate(args)
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

"""``aoai-mock serve``: settings resolved and checked, the socket bound first (a port in use is one line and
exit :data:`BIND_FAILED`), the app built, the banner once serving, one process or ``--workers``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING, Any

from aoai_mock.cli.commands import health
from aoai_mock.cli.parser import installed_version

if TYPE_CHECKING:
    import socket

    from aoai_mock.console import Start
    from aoai_mock.settings import Settings
    from aoai_mock.tls import TlsFiles

__all__ = ["serve", "BIND_FAILED"]


def serve(args: argparse.Namespace) -> int:
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
        "disable_local_auth": args.disable_local_auth,
        "entra_audiences": tuple(args.entra_audiences or ()),
        "entra_roles": tuple(args.entra_roles or ()),
        "entra_object_ids": tuple(args.entra_object_ids or ()),
        "entra_signing_key": args.entra_signing_key,
        "tls": args.tls,
        "tls_cert": args.tls_cert,
        "tls_key": args.tls_key,
        "tls_dir": args.tls_dir,
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

    tls = _certificate(settings)
    if isinstance(tls, int):
        return tls
    listener = _bind(settings.host, settings.port)
    if isinstance(listener, int):
        return listener
    with listener:
        return _serve_on(listener, args, settings, given, tls)


def _certificate(settings: "Settings") -> "TlsFiles | None | int":
    """With TLS on, the certificate to serve: the user's, checked, or one made now by the mock's CA. A file
    that cannot be used or a folder that cannot be written is one line and exit 2."""
    if not settings.tls:
        return None
    from aoai_mock.tls import TlsError, default_dir, generated, own, server_names

    try:
        if settings.tls_cert is not None and settings.tls_key is not None:
            return own(settings.tls_cert, settings.tls_key)
        return generated(settings.tls_dir or default_dir(), server_names(settings.host))
    except TlsError as exc:
        print(f"aoai-mock: not starting: {exc}", file=sys.stderr)
        return 2


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


def _serve_on(
    listener: "socket.socket", args: argparse.Namespace, settings: "Settings", given: dict[str, Any],
    tls: "TlsFiles | None",
) -> int:
    import uvicorn

    from aoai_mock.app import WORKER_SETTINGS, ReplayError, create_app, own_process_collector
    from aoai_mock.behaviour.scenarios import ScenarioError
    from aoai_mock.console import Https, Start, wants_colour
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
    https = None if tls is None else Https(str(tls.certfile), tls.ca and str(tls.ca), tls.names)
    start = Start.of(
        settings, listener.getsockname()[1], installed_version(), tuple(book.names()), book.active, https
    )
    colour = settings.log_format == "text" and wants_colour(sys.stderr)
    options = {
        "log_config": _log_config(settings.log_format, args.log_level, settings.request_lines, colour),
        "use_colors": colour if settings.log_format == "text" else None,
        "log_level": args.log_level,
        "access_log": args.log_level == "debug" and settings.log_format == "text" and not settings.request_lines,
        "timeout_graceful_shutdown": 1,
        **UVICORN_OPTIONS,
    }
    if tls is not None:  # uvicorn loads them in each process it serves from, --workers too
        options |= {"ssl_certfile": str(tls.certfile), "ssl_keyfile": str(tls.keyfile)}
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
        """For ``--workers``: announce once a worker answers the health check (over HTTPS, without verifying the
        certificate: this process is asking its own workers, whatever CA signed it)."""
        import ssl
        import time

        context = None
        if self.start.tls:
            context = ssl.create_default_context()
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        while health(self.start.url, 1.0, context) != "200":
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

"""The command line's parser: every command, flag and help text (the README's synopsis is checked against it)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["build_parser", "installed_version"]


class _Version(argparse.Action):
    """``--version``: the installed package's version, looked up only when asked for (start-up is timed)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        sys.stdout.write(f"aoai-mock {installed_version()}\n")
        parser.exit()


def installed_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("aoai-mock")
    except PackageNotFoundError:  # a source tree that was not installed
        return "unknown (not installed)"


LOG_LEVEL = "how much the server logs: critical, error, warning, info (default) or debug"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aoai-mock", description="A local, deterministic Azure OpenAI.")
    parser.add_argument("--version", action=_Version)
    commands = parser.add_subparsers(
        dest="command", metavar="{serve,wait,deployments,scenarios,record,token,schema,validate}"
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
        help="processes serving (env AOAI_MOCK_WORKERS; default 1); journal, quotas and counters are per process "
        "unless --state names a Redis, which they then share",
    )
    serve.add_argument(
        "--state",
        dest="state_path",
        metavar="PATH|URL",
        help="keep files, batches, fine-tuning jobs, assistants and threads in this SQLite file, so a restarted "
        "server still has them; or, with redis://HOST:PORT/DB (rediss:// for TLS), share stored objects, quotas, "
        "fault schedules, scenario counters, the journal, metrics and control API changes with every process on "
        "that Redis (docs/shared-state.md) "
        "(env AOAI_MOCK_STATE; default: in memory only)",
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
    _tls_flags(serve)
    _entra_flags(serve)
    serve.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"], help=LOG_LEVEL
    )
    _look_parsers(commands)
    _record_parser(commands)
    _token_parser(commands)
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


def _tls_flags(serve: argparse.ArgumentParser) -> None:
    """HTTPS (docs/https.md)."""
    serve.add_argument(
        "--tls",
        action="store_true",
        default=None,
        help="serve HTTPS (and wss://) with a certificate for localhost, 127.0.0.1 and ::1 made at start by a "
        "local CA of the mock's own; the banner says where the CA is for clients to trust (env AOAI_MOCK_TLS=1)",
    )
    serve.add_argument(
        "--tls-cert", metavar="FILE",
        help="serve HTTPS with this PEM certificate (chain) instead; with --tls-key (env AOAI_MOCK_TLS_CERT)",
    )
    serve.add_argument(
        "--tls-key", metavar="FILE", help="the private key of --tls-cert, in PEM (env AOAI_MOCK_TLS_KEY)"
    )
    serve.add_argument(
        "--tls-dir", metavar="DIR",
        help="where --tls keeps its CA (made once, then reused) and the server certificate (env AOAI_MOCK_TLS_DIR; "
        "default $XDG_STATE_HOME/aoai-mock/tls, else ~/.local/state/aoai-mock/tls)",
    )


def _entra_flags(serve: argparse.ArgumentParser) -> None:
    """Entra ID (docs/entra-id.md): how Bearer tokens that are JWTs are judged, and whether keys still work."""
    serve.add_argument(
        "--disable-local-auth",
        action="store_true",
        default=None,
        help="refuse api-keys (and plain Bearer keys) with Azure's 403 AuthenticationTypeDisabled, as a resource "
        "with local auth disabled does; Entra ID tokens still work (env AOAI_MOCK_DISABLE_LOCAL_AUTH=1)",
    )
    serve.add_argument(
        "--entra-audience", dest="entra_audiences", action="append", metavar="AUD",
        help="accept tokens for this audience; repeatable (env AOAI_MOCK_ENTRA_AUDIENCES, comma-separated; "
        "default https://cognitiveservices.azure.com and https://ai.azure.com)",
    )
    serve.add_argument(
        "--entra-role", dest="entra_roles", action="append", metavar="ROLE",
        help="grant access only to tokens whose roles claim holds this role (or whose oid is an --entra-object-id); "
        "repeatable (env AOAI_MOCK_ENTRA_ROLES); others get Azure's 401 PermissionDenied",
    )
    serve.add_argument(
        "--entra-object-id", dest="entra_object_ids", action="append", metavar="OID",
        help="grant access to the principal with this object id (oid), as a role assignment does; repeatable "
        "(env AOAI_MOCK_ENTRA_OBJECT_IDS)",
    )
    serve.add_argument(
        "--entra-signing-key", metavar="SECRET|FILE",
        help="verify token signatures: an HS256 secret, or a file with a PEM public key (env "
        "AOAI_MOCK_ENTRA_SIGNING_KEY; default: signatures are not checked)",
    )


def _token_parser(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    token = commands.add_parser("token", help="print an Entra ID access token the mock accepts, for tests")
    token.add_argument(
        "--audience", default="https://cognitiveservices.azure.com", metavar="AUD",
        help="the aud claim (default %(default)s)",
    )
    token.add_argument(
        "--expires-in", type=float, default=3600, metavar="SECONDS",
        help="seconds until it expires (default 3600; negative: already expired)",
    )
    token.add_argument("--role", dest="roles", action="append", default=[], metavar="ROLE",
                       help="a role in the roles claim; repeatable")
    token.add_argument("--object-id", metavar="OID", help="the oid claim (default: a fixed made-up principal)")
    token.add_argument("--name", metavar="UPN", help="the upn claim, the name a 401 PermissionDenied shows")
    token.add_argument(
        "--signing-key", metavar="SECRET",
        help="sign with HS256 and this secret (as the server's --entra-signing-key); default: unsigned (alg none)",
    )


def _look_parsers(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """The commands that look without serving: wait for a server, list deployments and scenarios."""
    wait = commands.add_parser("wait", help="wait until a server at URL answers its health check (for CI)")
    wait.add_argument(
        "url", metavar="URL", help="the server, e.g. http://127.0.0.1:8000 or https://... (/_mock/health is asked)"
    )
    wait.add_argument(
        "--timeout", type=float, default=30.0, metavar="SECONDS", help="give up after this long (default 30); exit 1"
    )
    wait.add_argument(
        "--interval", type=float, default=0.1, metavar="SECONDS", help="time between two tries (default 0.1)"
    )
    wait.add_argument(
        "--cacert", metavar="FILE",
        help="for an https:// URL, trust the CA certificates in FILE (aoai-mock serve --tls prints its ca.pem); "
        "default: the system's, or SSL_CERT_FILE",
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
        "--pass-bearer",
        action="store_true",
        help="for an Entra ID upstream: send the client's Authorization: Bearer token on instead of an api-key "
        "(then no key is needed); the token is never written",
    )
    record.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"], help=LOG_LEVEL
    )

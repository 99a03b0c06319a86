"""What the server says on its console: the start-up banner, one line per request, and its own log lines.

Everything here is text made from facts others gather (the serve command collects the start's facts; the
front door's record holds a request's). The request line sits on the request path, so it is made lazily:
the observer logs a :class:`RequestLine` holding the record, and the text is written only if a handler
emits it (``--log-level warning`` costs one level check). Colour is decided once, for the stream the lines
go to, and never reaches a file or a pipe unless asked for (``FORCE_COLOR``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

import orjson

from aoai_mock.config import Deployment
from aoai_mock.settings import Settings
from aoai_mock.state.record import SCENARIO_DEFAULT, SENT, Record

__all__ = [
    "Start",
    "Https",
    "CA_ENV",
    "banner",
    "banner_json",
    "iso_now",
    "local_url",
    "wants_colour",
    "RequestLine",
    "request_line",
    "TextLines",
    "JsonLines",
    "deployment_facts",
    "deployment_row",
    "table",
    "gist",
    "DEPLOYMENT_HEADER",
    "SCENARIO_HEADER",
]

_RESET = "\x1b[0m"
_BOLD = "\x1b[1m"
_DIM = "\x1b[2m"
_RED = "\x1b[31m"
_GREEN = "\x1b[32m"
_YELLOW = "\x1b[33m"
_MAGENTA = "\x1b[35m"
_CYAN = "\x1b[36m"
_STATUS_COLOUR = {"1": _DIM, "2": _GREEN, "3": _CYAN, "4": _YELLOW, "5": _RED}
_LEVEL_COLOUR = {"DEBUG": _CYAN, "INFO": _GREEN, "WARNING": _YELLOW, "ERROR": _RED, "CRITICAL": _RED}
_NAMES_WIDTH = 60  # characters of deployment names the banner shows before it says how many more


def wants_colour(stream: IO[str], env: Mapping[str, str] | None = None) -> bool:
    """Colour for ``stream``: never with ``NO_COLOR`` set, always with ``FORCE_COLOR`` set (not ``0``), else
    when the stream is a terminal."""
    env = os.environ if env is None else env
    if env.get("NO_COLOR"):
        return False
    if env.get("FORCE_COLOR", "") not in ("", "0"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def local_url(host: str, port: int, scheme: str = "http") -> str:
    """A URL this machine reaches the server at: a wildcard address is reached on loopback."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"


CA_ENV = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS")  # where clients read a CA file from


# -- the banner -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Start:
    """What a starting server states about itself. Counts of keys only: a key is never printed."""

    version: str
    host: str  # the address bound
    port: int  # the port bound (the real one when 0 was asked for)
    deployments: tuple[str, ...]
    scenarios: tuple[str, ...]  # loaded, in order
    active: str | None
    seed: int | None
    api_keys: int  # configured keys; 0: any non-empty key is accepted
    admin_key: bool
    workers: int
    shared: bool = False  # --state redis://
    tls: "Https | None" = None
    local_auth: bool = True  # False: --disable-local-auth, keys refused

    @classmethod
    def of(
        cls, settings: Settings, port: int, version: str, scenarios: tuple[str, ...], active: str | None,
        tls: "Https | None" = None,
    ) -> "Start":
        return cls(
            version=version,
            host=settings.host,
            port=port,
            deployments=tuple(d.name for d in settings.config.deployments),
            scenarios=scenarios,
            active=active,
            seed=settings.seed,
            api_keys=len(settings.api_keys),
            admin_key=settings.admin_key is not None,
            workers=settings.workers,
            shared=settings.shared_state_url is not None,
            tls=tls,
            local_auth=not settings.disable_local_auth,
        )

    @property
    def url(self) -> str:
        return local_url(self.host, self.port, "https" if self.tls else "http")


@dataclass(frozen=True, slots=True)
class Https:
    """How a server with TLS on is trusted: the certificate served and, when the mock made it, the CA's file
    and the names the certificate is for."""

    certificate: str
    ca: str | None = None  # None: the user's own certificate (--tls-cert)
    names: tuple[str, ...] = ()

    def env(self) -> dict[str, str]:
        """The variables that make clients trust the CA: Python's ssl and httpx, requests, Node."""
        return {name: self.ca for name in CA_ENV} if self.ca else {}


def banner(start: Start, colour: bool = False) -> str:
    """The text banner: a first line with the URL, then one indented line per fact."""
    url = start.url
    first = f"aoai-mock {start.version} serving {_paint(url, _BOLD, colour)}"
    if start.host in ("", "0.0.0.0", "::"):
        first += f" (listening on {start.host or '0.0.0.0'}: every interface)"
    facts = [
        ("deployments", _deployments(start.deployments)),
        ("scenarios", _scenarios(start.scenarios, start.active)),
        ("seed", _seed(start.seed)),
        ("api keys", _keys(start.api_keys) if start.local_auth else "refused (local auth disabled); Entra ID tokens only"),
        ("admin key", "on: the control API asks for it" if start.admin_key else "off: the control API is open"),
        ("control API", f"{url}/_mock/"),
        ("web view", f"{url}/_mock/ui"),
    ]
    if start.workers > 1:
        alone = "sharing state through Redis" if start.shared else "each with its own journal, quotas and counters"
        facts.append(("workers", f"{start.workers}, {alone}"))
    if start.tls is not None:
        facts += _https(start.tls)
    width = max(len(name) for name, _ in facts)
    return "\n".join([first, *(f"  {_paint(name.ljust(width), _DIM, colour)}  {text}" for name, text in facts)])


def iso_now() -> str:
    """The time of a JSON line: UTC, to the millisecond, ``Z``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def banner_json(start: Start) -> str:
    """The banner as one JSON line, ``"event": "start"``, with the same facts."""
    url = start.url
    line = {
        "time": iso_now(),
        "event": "start",
        "version": start.version,
        "url": url,
        "host": start.host,
        "port": start.port,
        "deployments": list(start.deployments),
        "scenarios": list(start.scenarios),
        "active_scenario": start.active,
        "seed": start.seed,
        "auth": "entra-only" if not start.local_auth else "configured-keys" if start.api_keys else "any-key",
        "api_keys": start.api_keys,
        "admin_key": start.admin_key,
        "control_api": f"{url}/_mock/",
        "web_view": f"{url}/_mock/ui",
        "workers": start.workers,
    }
    if start.tls is not None:
        https = start.tls
        line["tls"] = {"certificate": https.certificate, "ca": https.ca, "names": list(https.names), "env": https.env()}
    return orjson.dumps(line).decode()


def _https(https: Https) -> list[tuple[str, str]]:
    """The banner's HTTPS lines: what is served, and (for the mock's own CA) the line to paste into a shell."""
    if https.ca is None:
        return [("https", f"your certificate {https.certificate} (--tls-cert)")]
    from shlex import quote

    exports = " ".join(f"{name}={quote(path)}" for name, path in https.env().items())
    return [
        ("https", f"certificate for {', '.join(https.names)} by the mock's CA {https.ca}"),
        ("trust it", f"export {exports}"),
    ]


def _deployments(names: tuple[str, ...]) -> str:
    if not names:
        return "none"
    shown: list[str] = []
    used = 0
    for name in names:
        if shown and used + len(name) + 2 > _NAMES_WIDTH:
            break
        shown.append(name)
        used += len(name) + 2
    more = len(names) - len(shown)
    listed = ", ".join(shown) + (f" and {more} more (aoai-mock deployments)" if more else "")
    return f"{len(names)}: {listed}"


def _scenarios(names: tuple[str, ...], active: str | None) -> str:
    if not names:
        return "none: each deployment answers with its responder"
    listed = ", ".join(f"{name} (active)" if name == active else name for name in names)
    return listed if active is not None else f"{listed}; none active"


def _seed(seed: int | None) -> str:
    if seed is None:
        return "none: ids and timestamps are new each run"
    return f"{seed}: ids and timestamps are frozen too"


def _keys(count: int) -> str:
    if not count:
        return "any non-empty key or token"
    return f"{count} configured key{'s' if count != 1 else ''} (api-key or Bearer)"


def _paint(text: str, code: str, colour: bool) -> str:
    return f"{code}{text}{_RESET}" if colour else text


# -- one line per request -------------------------------------------------------------------------------------


class RequestLine:
    """A finished request, logged as it is: made into text (:func:`request_line`) only when emitted."""

    __slots__ = ("record",)

    def __init__(self, record: Record) -> None:
        self.record = record

    def __str__(self) -> str:
        return request_line(self.record)


def request_line(record: Record, colour: bool = False) -> str:
    """``POST /openai/deployments/gpt-4o/chat/completions 200 tokens=14/9 2.1ms``: method, path, the status
    (and how the response ended, when not whole), then what is known: the deployment when the path does not
    name it, the scenario and rule, the fault, tokens in/out, and the time to the last byte."""
    path = _printable(record.path)
    status = record.status
    outcome = record.outcome
    shown = outcome if status is None else (str(status) if outcome == SENT else f"{status} {outcome}")
    if colour:
        tint = _STATUS_COLOUR.get(shown[0], _DIM) if status is not None and outcome == SENT else _MAGENTA
        shown = f"{tint}{shown}{_RESET}"
    parts = [record.method, path, shown]
    deployment = record.deployment
    if deployment and f"/{deployment}/" not in path:
        parts.append("deployment=" + _printable(deployment))
    if record.scenario is not None:
        rule = record.rule
        parts.append(f"scenario={record.scenario} rule={'default' if rule == SCENARIO_DEFAULT else rule}")
    if record.fault is not None:
        parts.append(f"fault={_RED}{record.fault}{_RESET}" if colour else "fault=" + record.fault)
    if record.tokens_in is not None or record.tokens_out is not None:
        parts.append(f"tokens={record.tokens_in or 0}/{record.tokens_out or 0}")
    took = f"{record.duration * 1000:.1f}ms"
    parts.append(f"{_DIM}{took}{_RESET}" if colour else took)
    return " ".join(parts)


def _printable(text: str) -> str:
    """A path or name from a client, with control characters (a terminal escape, a newline) escaped."""
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")


# -- log formatters (the serve command's logging configuration names them) --------------------------------------


class TextLines(logging.Formatter):
    """``INFO:     message``, as uvicorn's own lines look; a request's line with colour when asked for."""

    def __init__(self, colour: bool = False) -> None:
        super().__init__()
        self.colour = colour

    def format(self, record: logging.LogRecord) -> str:
        msg = record.msg
        text = request_line(msg.record, self.colour) if type(msg) is RequestLine else record.getMessage()
        level = record.levelname
        pad = " " * max(1, 9 - len(level))
        if self.colour:
            level = _paint(level, _LEVEL_COLOUR.get(level, ""), True)
        line = f"{level}:{pad}{text}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonLines(logging.Formatter):
    """``{"time", "event": "log", "level", "logger", "message"}`` (and ``error``, a traceback, when there is one)."""

    def format(self, record: logging.LogRecord) -> str:
        created = datetime.fromtimestamp(record.created, UTC)
        line: dict[str, Any] = {
            "time": created.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "event": "log",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return orjson.dumps(line).decode()


# -- listings (aoai-mock deployments, aoai-mock scenarios) ------------------------------------------------------


def deployment_facts(deployment: Deployment) -> dict[str, Any]:
    """One deployment as ``aoai-mock deployments --json`` lists it."""
    pacing = deployment.pacing
    return {
        "name": deployment.name,
        "model": deployment.model,
        "version": deployment.version,
        "kind": deployment.kind.value,
        "responder": deployment.responder.name,
        "tokens_per_minute": deployment.tokens_per_minute,
        "requests_per_minute": deployment.requests_per_minute,
        "quota_enforced": deployment.rate_limit.enforce,
        "sku": deployment.sku.value,
        "ptu": deployment.ptu,
        "spillover_to": deployment.spillover_to,
        "time_to_first_token_ms": pacing.time_to_first_token_ms,
        "tokens_per_second": pacing.tokens_per_second,
        "jitter": pacing.jitter,
    }


def deployment_row(facts: Mapping[str, Any]) -> tuple[str, ...]:
    """The table row of :func:`deployment_facts`: name, model and version, kind, responder, quota, pacing."""
    quota = f"{facts['tokens_per_minute']:,} / {facts['requests_per_minute']:,}"
    quota += " enforced" if facts["quota_enforced"] else " reported"
    if facts.get("ptu"):
        quota = f"{facts['ptu']} PTU {facts['sku']}"
        quota += f", spills to {facts['spillover_to']}" if facts.get("spillover_to") else ""
    pacing = "none"
    if facts["time_to_first_token_ms"] or facts["tokens_per_second"]:
        pacing = f"{facts['time_to_first_token_ms']:g} ms first, {facts['tokens_per_second']:g} tokens/s"
        pacing += f" +-{facts['jitter']:.0%}" if facts["jitter"] else ""
    model = f"{facts['model']} {facts['version']}".strip()
    return (facts["name"], model, facts["kind"], facts["responder"], quota, pacing)


DEPLOYMENT_HEADER = ("NAME", "MODEL", "KIND", "RESPONDER", "QUOTA TPM / RPM", "PACING")
SCENARIO_HEADER = ("NAME", "RULES", "FAULTS", "DESCRIPTION")


def table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    """Columns padded to their widest cell; the last one is not padded."""
    widths = [max(len(str(row[i])) for row in (header, *rows)) for i in range(len(header) - 1)]
    lines = []
    for row in (header, *rows):
        cells = [str(cell).ljust(width) for cell, width in zip(row, widths)] + [str(row[-1])]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def gist(text: str, width: int = 72) -> str:
    """The first line of ``text``, cut at a word before ``width`` characters (``...`` says it was)."""
    line = text.strip().partition("\n")[0]
    if len(line) <= width:
        return line
    return line[: width - 3].rsplit(" ", 1)[0].rstrip(",.;:") + "..."

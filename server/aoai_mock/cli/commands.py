"""The commands that do not serve the mock: record, schema, validate, wait, deployments, scenarios."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import ssl

__all__ = ["record", "token", "schema", "validate", "health", "wait", "deployments", "scenarios"]


def record(args: argparse.Namespace) -> int:
    import os
    from pathlib import Path

    key = os.environ.get(args.api_key_env, "").strip()
    if not key and not args.pass_bearer:
        print(f"aoai-mock: set {args.api_key_env} to the upstream's key (or name another variable with "
              "--api-key-env), or pass clients' Entra ID tokens on with --pass-bearer", file=sys.stderr)
        return 2
    if not args.upstream.startswith(("http://", "https://")):
        print(f"aoai-mock: --upstream must be an http(s) URL, not {args.upstream!r}", file=sys.stderr)
        return 2
    import uvicorn

    from aoai_mock.record.proxy import RecordingProxy, RecordOptions

    proxy = RecordingProxy(RecordOptions(args.upstream, key, Path(args.out), pass_bearer=args.pass_bearer))
    print(f"aoai-mock: recording {args.upstream} into {args.out}", file=sys.stderr, flush=True)
    uvicorn.run(proxy, host=args.host, port=args.port, log_level=args.log_level,
                access_log=args.log_level == "debug", timeout_graceful_shutdown=1)
    return 0


def token(args: argparse.Namespace) -> int:
    """``aoai-mock token``: an Entra ID access token the mock accepts, on one line (docs/entra-id.md)."""
    import time

    from aoai_mock.behaviour.entra import DEFAULT_OBJECT_ID, issue

    print(issue(time.time(), audience=args.audience, expires_in=args.expires_in, roles=args.roles,
                object_id=args.object_id or DEFAULT_OBJECT_ID, name=args.name, signing_key=args.signing_key))
    return 0


def schema(args: argparse.Namespace) -> int:
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


def validate(args: argparse.Namespace) -> int:
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


def health(url: str, timeout: float, context: "ssl.SSLContext | None" = None) -> str:
    """One look at ``URL/_mock/health``: ``"200"``, another status, or what went wrong instead (in words).
    An https URL is verified with ``context``, by default the system's CAs (or ``SSL_CERT_FILE``)."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    if parts.scheme == "https":
        connection: http.client.HTTPConnection = http.client.HTTPSConnection(
            host, parts.port, timeout=timeout, context=context
        )
    else:
        connection = http.client.HTTPConnection(host, parts.port, timeout=timeout)
    try:
        connection.request("GET", parts.path.rstrip("/") + "/_mock/health")
        return str(connection.getresponse().status)
    except OSError as exc:
        return exc.strerror or type(exc).__name__  # "Connection refused", "timed out", ...
    except http.client.HTTPException as exc:
        return f"not HTTP ({type(exc).__name__})"
    finally:
        connection.close()


def wait(args: argparse.Namespace) -> int:
    """``aoai-mock wait URL``: exit 0 once its health check answers 200, 1 after ``--timeout`` seconds."""
    import ssl
    import time

    url = args.url if "://" in args.url else "http://" + args.url
    try:
        context = ssl.create_default_context(cafile=args.cacert) if args.cacert else None
    except (OSError, ssl.SSLError) as exc:
        print(f"aoai-mock: --cacert {args.cacert}: {exc.strerror or 'not PEM certificates'}", file=sys.stderr)
        return 2
    deadline = time.monotonic() + args.timeout
    while True:
        seen = health(url, max(0.1, min(2.0, deadline - time.monotonic())), context)
        if seen == "200":
            return 0
        if time.monotonic() + args.interval > deadline:
            shown = f"HTTP {seen}" if seen.isdigit() else seen
            print(f"aoai-mock: {url} not ready after {args.timeout:g} s; last: {shown}", file=sys.stderr)
            return 1
        time.sleep(args.interval)


def deployments(args: argparse.Namespace) -> int:
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


def scenarios(args: argparse.Namespace) -> int:
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

"""Checking the journal from a test: which requests match what a test expects, and, when none does, the
nearest ones and what differed in each (pytest-httpserver's near misses)."""

from __future__ import annotations

from typing import Any

__all__ = ["CallAssertionError", "matching", "near_misses", "message_text"]


class CallAssertionError(AssertionError):
    """The journal does not hold the requests a test expected; the message lists the nearest ones."""


def message_text(entry: dict[str, Any]) -> str:
    """Every message of a journal entry's body, and its ``prompt`` or ``input``, as one text."""
    body = entry.get("body")
    if not isinstance(body, dict):
        return ""
    parts = [str(m.get("content")) for m in body.get("messages", []) if isinstance(m, dict)]
    for key in ("prompt", "input"):
        if key in body:
            parts.append(str(body[key]))
    return "\n".join(parts)


def differences(entry: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    found = []
    for key, want in expected.items():
        if key == "message_contains":
            if str(want) not in message_text(entry):
                found.append(f"no message contains {want!r}")
        elif entry.get(key) != want:
            found.append(f"{key} is {entry.get(key)!r}, not {want!r}")
    return found


def matching(entries: list[dict[str, Any]], expected: dict[str, Any]) -> list[dict[str, Any]]:
    return [entry for entry in entries if not differences(entry, expected)]


def near_misses(entries: list[dict[str, Any]], expected: dict[str, Any], most: int = 5) -> str:
    if not entries:
        return "The journal is empty: the mock received no request during this test."
    ranked = sorted(entries, key=lambda e: len(differences(e, expected)))[:most]
    lines = [f"Nearest of {len(entries)} request(s):"]
    for entry in ranked:
        why = "; ".join(differences(entry, expected)) or "matches"
        lines.append(f"  #{entry['seq']} {entry['method']} {entry['path']} -> {entry['status']}: {why}")
    return "\n".join(lines)

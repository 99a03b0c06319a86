"""``--watch``: reload the scenario files given at start whenever one of them changes.

A change that breaks a file is logged with every problem and leaves the scenarios as they were, so a
half-saved edit never takes a running demo down.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.scenarios.loader import ScenarioError, load_paths

__all__ = ["watched_paths", "reload", "watch"]

log = logging.getLogger("aoai_mock")


def watched_paths(entries: Sequence[str]) -> list[Path]:
    """The files and folders among ``entries`` (names of shipped scenarios do not change)."""
    return [Path(e) for e in entries if Path(e).exists()]


def reload(runtime: Runtime, entries: Sequence[str]) -> bool:
    """Load ``entries`` again into the runtime's book; False (and the book untouched) when any file is broken."""
    book = runtime.book
    try:
        scenarios = load_paths(entries)
    except ScenarioError as exc:
        log.error("scenarios not reloaded:\n%s", "\n".join(str(p) for p in exc.problems))
        return False
    active = book.active
    for scenario in scenarios:
        book.load(scenario)
    if active in book.names():
        book.activate(active)
    runtime.sync_scenario_faults()
    log.info("scenarios reloaded: %s", ", ".join(str(s.name) for s in scenarios))
    return True


async def watch(runtime: Runtime, entries: Sequence[str]) -> None:
    """Runs until cancelled: every batch of changes to the watched files reloads them all."""
    from watchfiles import awatch

    paths = watched_paths(entries)
    if not paths:
        return
    async for _changes in awatch(*paths, debounce=200, step=50):
        reload(runtime, entries)

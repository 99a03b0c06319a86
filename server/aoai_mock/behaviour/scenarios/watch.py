"""``--watch``: reload the scenario files given at start whenever one of them changes.

A change that breaks a file is logged with every problem and leaves the scenarios as they were, so a
half-saved edit never takes a running demo down. What a good reload does with the scenarios is the
caller's ``apply`` (the server's runtime loads them into its book and installs the active one's faults).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from aoai_mock.behaviour.scenarios.loader import ScenarioError, load_paths
from aoai_mock.behaviour.scenarios.schema import Scenario

__all__ = ["Apply", "watched_paths", "reload", "watch"]

log = logging.getLogger("aoai_mock")

Apply = Callable[[list[Scenario]], None]  # takes the scenarios of a good reload


def watched_paths(entries: Sequence[str]) -> list[Path]:
    """The files and folders among ``entries`` (names of shipped scenarios do not change)."""
    return [Path(e) for e in entries if Path(e).exists()]


def reload(entries: Sequence[str], apply: Apply) -> bool:
    """Load ``entries`` again and hand them to ``apply``; False (and ``apply`` not called) when any file is broken."""
    try:
        scenarios = load_paths(entries)
    except ScenarioError as exc:
        log.error("scenarios not reloaded:\n%s", "\n".join(str(p) for p in exc.problems))
        return False
    apply(scenarios)
    log.info("scenarios reloaded: %s", ", ".join(str(s.name) for s in scenarios))
    return True


async def watch(entries: Sequence[str], apply: Apply) -> None:
    """Runs until cancelled: every batch of changes to the watched files reloads them all."""
    from watchfiles import awatch

    paths = watched_paths(entries)
    if not paths:
        return
    async for _changes in awatch(*paths, debounce=200, step=50):
        reload(entries, apply)

"""What is wrong with scenario files: each :class:`Problem` names its file, line and field; a
:class:`ScenarioError` carries them all. Apart from the loader, so that what catches the error (the serve
command, the control API) need not load the format to do so."""

from __future__ import annotations

from collections.abc import Iterable

from aoai_mock.wire.bounded_yaml import Problem

__all__ = ["Problem", "ScenarioError"]


class ScenarioError(ValueError):
    """Scenario files that cannot be used; ``problems`` lists each one."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

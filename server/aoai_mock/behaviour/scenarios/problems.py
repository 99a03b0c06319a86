"""What is wrong with scenario files: each :class:`Problem` names its file, line and field; a
:class:`ScenarioError` carries them all. Apart from the loader, so that what catches the error (the serve
command, the control API) need not load the format to do so."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["Problem", "ScenarioError"]


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    line: int | None  # 1-based; None when the problem has no place in a file
    field: str  # e.g. rules[2].match.message[0].regex; "" for the whole file
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class ScenarioError(ValueError):
    """Scenario files that cannot be used; ``problems`` lists each one."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

"""YAML from people (scenarios, fault plans, the config file), read safely and within bounds.

PyYAML's safe loader builds no objects but plain ones; it still follows aliases, so 534 bytes of anchors can
stand for hundreds of millions of values (the "billion laughs"), and it composes nesting by recursion. Here
nesting deeper than ``MAX_DEPTH`` is refused as it is read, and a document holding more than ``MAX_NODES``
values once its aliases are expanded is refused before anything walks the expanded tree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

__all__ = ["MAX_DEPTH", "MAX_NODES", "TooBig", "Problem", "compose", "compose_in_file", "load"]

MAX_DEPTH = 64  # far beyond any real scenario or plan, far below the parser's recursion limit
MAX_NODES = 100_000  # values a document may hold with its aliases expanded


class TooBig(yaml.YAMLError):
    """A document past the bounds; ``mark`` is where, when known."""

    def __init__(self, message: str, mark: Any = None) -> None:
        super().__init__(message)
        self.problem = message
        self.mark = mark


class _BoundedLoader(yaml.SafeLoader):
    depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise TooBig(f"nests deeper than {MAX_DEPTH} levels", self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _expanded_size(root: yaml.Node) -> int:
    """How many values the tree holds with every alias expanded, counted without expanding anything: an
    alias is the very node object of its anchor, so each node's size is worked out once."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node) -> int:
        known = sizes.get(id(node))
        if known is None:
            if isinstance(node, yaml.MappingNode):
                known = 1 + sum(size(k) + size(v) for k, v in node.value)
            elif isinstance(node, yaml.SequenceNode):
                known = 1 + sum(size(item) for item in node.value)
            else:
                known = 1
            sizes[id(node)] = known = min(known, MAX_NODES + 1)
        return known

    return size(root)  # the recursion is bounded by MAX_DEPTH


def compose(text: str | bytes) -> tuple[yaml.Node | None, Any]:
    """The node tree (with line marks) and the plain data of one YAML document; raises ``yaml.YAMLError``
    (``TooBig`` past the bounds)."""
    loader = _BoundedLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None
        if _expanded_size(node) > MAX_NODES:
            raise TooBig(f"holds more than {MAX_NODES} values once its aliases are expanded")
        return node, loader.construct_document(node)
    finally:
        loader.dispose()


def load(text: str | bytes) -> Any:
    """The plain data of one YAML document (``yaml.safe_load`` within the bounds)."""
    return compose(text)[1]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a file the mock reads (a configuration, a scenario): its file, line and field."""

    file: str
    line: int | None  # 1-based; None when the problem has no place in a file
    field: str  # e.g. rules[2].match.message[0].regex; "" for the whole file
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


def compose_in_file(text: str | bytes, source: str, what: str) -> tuple[yaml.Node | None, Any] | Problem:
    """:func:`compose`, or the :class:`Problem` that stopped it (too big for ``what``, "a scenario"; not YAML),
    placed in ``source`` for the caller's own error."""
    try:
        return compose(text)
    except TooBig as exc:
        line = exc.mark.line + 1 if exc.mark else None
        return Problem(source, line, "", f"{exc.problem}; {what} is far smaller")
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        return Problem(source, mark.line + 1 if mark else None, "", f"not valid YAML: {exc.problem or exc}")
    except yaml.YAMLError as exc:  # e.g. a reader error, which has no mark
        return Problem(source, None, "", f"not valid YAML: {exc}")

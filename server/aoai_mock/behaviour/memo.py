"""Answers remembered for requests that come again: :class:`AnswerMemo`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aoai_mock.config import Deployment

__all__ = ["AnswerMemo"]

_Key = tuple[str, str, str, bytes]  # operation, deployment name, api-version, body


class AnswerMemo:
    """The answers of requests that come again, as load tests send them: the same body to the same deployment
    and api-version, answered by the deployment's own responder when it is pure (echo, generated: the answer is
    a function of the body, the deployment and the server's seed). Its validated body and result are reused,
    and the family gives it the request's own id and time; faults, quotas, pacing, the journal and metrics go
    on as for any request. A body is remembered the second time it comes (the first time, only that it came:
    a body never repeated costs a set look-up); bodies up to ``BODY`` bytes, ``SIZE`` answers, then it starts
    afresh. A scenario, a responder header or another deployment object (a changed configuration) never hits,
    and ``/_mock/reset`` empties it."""

    BODY = 4096
    SIZE = 1024
    SEEN = 65536

    __slots__ = ("_answers", "_seen")

    def __init__(self) -> None:
        self._answers: dict[_Key, tuple[Deployment, Any, Any]] = {}
        self._seen: set[int] = set()  # the hashes of the keys that came once

    def get(self, key: _Key, deployment: Deployment) -> tuple[Any, Any] | None:
        found = self._answers.get(key)
        if found is None or found[0] is not deployment:
            return None
        return found[1], found[2]

    def again(self, key: _Key) -> bool:
        """Whether ``key`` came before (noting that it came): by its hash, a number (two keys of one hash only
        make the second remembered the first time it comes)."""
        seen, mark = self._seen, hash(key)
        if mark in seen:
            return True
        if len(seen) >= self.SEEN:
            seen.clear()
        seen.add(mark)
        return False

    def put(self, key: _Key, deployment: Deployment, parsed: Any, result: Any) -> None:
        answers = self._answers
        if len(answers) >= self.SIZE:
            answers.clear()
        answers[key] = (deployment, parsed, result)

    def clear(self) -> None:
        self._answers.clear()
        self._seen.clear()

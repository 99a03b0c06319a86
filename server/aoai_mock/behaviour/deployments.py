"""The deployments a server serves now: the configured ones, as the control API has changed them.

:class:`Deployments` is the one owner of the current deployments of a worker process (the runtime holds it).
Every lookup, on the answering path and off it, reads its ``by_name`` dict, so a change is seen by
the very next request and a lookup stays one dict lookup.

Changes come from ``/_mock/deployments`` (:mod:`aoai_mock.http.control_deployments`):

* :meth:`Deployments.add`: a new deployment, written as in the configuration file and validated by the
  same model (:class:`~aoai_mock.config.Deployment`);
* :meth:`Deployments.change`: a JSON merge patch (RFC 7386) applied to the deployment *as written* (the
  fields its configuration or its ``POST`` gave, not the defaults): a mapping merges key by key
  (``{"rate_limit": {"enforce": true}}`` keeps the other rate-limit settings), any other value replaces,
  ``null`` removes a field so that it takes its default again. ``responder`` is the exception: it is replaced
  whole, since its options belong to the responder they were written for. Fields derived from others when
  not written (``response_model``, ``operations``) are derived again;
* :meth:`Deployments.remove`; :meth:`Deployments.restore`, every configured deployment as configured;
* :meth:`Deployments.put`: what another process made of one name, as it is there (``--state redis://``:
  :mod:`aoai_mock.behaviour.shared_control` follows the changes made through the other processes).

A bad body is an :class:`~aoai_mock.errors.InvalidRequest` whose ``param`` names the field (dotted:
``rate_limit.tokens_per_minute``), the message every problem. The table never knows about HTTP, caches or
quotas: the runtime forgets what a change makes stale (``Runtime._forget``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from aoai_mock.behaviour.scenarios.loader import fixture_name_problem
from aoai_mock.config import Deployment
from aoai_mock.config.problems import validation_problems
from aoai_mock.errors import AzureError, InvalidRequest

__all__ = ["Deployments", "Change", "CONFIG", "CONTROL", "merge_patch", "written", "DeploymentConflict",
           "UnknownDeployment"]

CONFIG = "config"  # the configuration file (or the built-in one) declares it
CONTROL = "control"  # added through the control API

_INVALID = "invalid_deployment"


class UnknownDeployment(AzureError):
    status = 404

    def __init__(self, name: str) -> None:
        super().__init__(f"aoai-mock: no deployment named {name!r} (GET /_mock/deployments lists them).",
                         code="unknown_deployment", param="name")


class DeploymentConflict(AzureError):
    status = 409

    def __init__(self, message: str) -> None:
        super().__init__(message, code="deployment_conflict", param="name")


@dataclass(frozen=True, slots=True)
class Change:
    """One change to the table: the deployment before (None: added) and after (None: removed)."""

    name: str
    before: Deployment | None
    after: Deployment | None


def written(deployment: Deployment) -> dict[str, Any]:
    """The deployment as written: the fields its source gave, as JSON values (what a patch applies to)."""
    return deployment.model_dump(mode="json", exclude_unset=True)


def merge_patch(
    target: Mapping[str, Any], patch: Mapping[str, Any], whole: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """RFC 7386: ``patch`` applied to ``target``; the keys in ``whole`` are replaced, never merged."""
    merged = dict(target)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and key not in whole and isinstance(merged.get(key), Mapping):
            merged[key] = merge_patch(merged[key], value)
        elif isinstance(value, Mapping):
            merged[key] = merge_patch({}, value)  # a new mapping: its nulls mean nothing
        else:
            merged[key] = value
    return merged


class Deployments:
    """The configured deployments, then those added at run time, by name; see the module's docstring."""

    def __init__(self, configured: Iterable[Deployment]) -> None:
        self._configured: dict[str, Deployment] = {d.name: d for d in configured}
        self.by_name: dict[str, Deployment] = dict(self._configured)  # read on every request

    def get(self, name: str) -> Deployment | None:
        return self.by_name.get(name)

    def __iter__(self) -> Iterator[Deployment]:
        return iter(list(self.by_name.values()))

    def __len__(self) -> int:
        return len(self.by_name)

    def __contains__(self, name: object) -> bool:
        return name in self.by_name

    def source(self, name: str) -> str:
        """Where the deployment of this name came from: ``config`` (changed or not) or ``control``."""
        return CONFIG if name in self._configured else CONTROL

    def changed(self, name: str) -> bool:
        """Whether a configured deployment is no longer as configured (changed, or removed)."""
        configured = self._configured.get(name)
        return configured is not None and self.by_name.get(name) is not configured

    def add(self, body: Any) -> Change:
        """A new deployment, from a body in the configuration file's shape; a name already here is a 409."""
        deployment = _validated(_mapping(body))
        if deployment.name in self.by_name:
            raise DeploymentConflict(f"aoai-mock: a deployment named {deployment.name!r} exists; change it with "
                                     f"PATCH /_mock/deployments/{deployment.name}.")
        self.by_name[deployment.name] = deployment
        return Change(deployment.name, None, deployment)

    def change(self, name: str, patch: Any) -> Change:
        """The deployment ``name`` with ``patch`` merged in (see the module's docstring)."""
        before = self._require(name)
        patch = _mapping(patch)
        if patch.get("name", name) != name:
            raise InvalidRequest("aoai-mock: a deployment cannot be renamed; add one under the new name and remove "
                                 "this one.", param="name", code=_INVALID)
        after = _validated(merge_patch(written(before), patch, whole=frozenset({"responder"})))
        self.by_name[name] = after
        return Change(name, before, after)

    def remove(self, name: str) -> Change:
        before = self._require(name)
        del self.by_name[name]
        return Change(name, before, None)

    def put(self, name: str, deployment: Deployment | None) -> Change:
        """Serve ``deployment`` under ``name``, or nothing (None), whatever was served before."""
        before = self.by_name.get(name)
        if deployment is None:
            self.by_name.pop(name, None)
        else:
            self.by_name[name] = deployment
        return Change(name, before, deployment)

    def configured(self, name: str) -> Deployment | None:
        """The deployment of this name as configured (None: the configuration has none)."""
        return self._configured.get(name)

    def restore(self) -> list[Change]:
        """Every configured deployment as configured, and no other; the changes that made."""
        current = self.by_name
        configured = self._configured
        changes = [Change(n, d, configured.get(n)) for n, d in current.items() if configured.get(n) is not d]
        changes += [Change(n, None, d) for n, d in configured.items() if n not in current]
        self.by_name = dict(configured)  # one assignment: a request in a worker thread never sees it half done
        return changes

    def _require(self, name: str) -> Deployment:
        found = self.by_name.get(name)
        if found is None:
            raise UnknownDeployment(name)
        return found


def _mapping(body: Any) -> dict[str, Any]:
    if not isinstance(body, Mapping):
        raise InvalidRequest("aoai-mock: a deployment is a JSON object, as one entry of the configuration file's "
                             "`deployments:`.", code=_INVALID)
    return dict(body)


def _validated(data: dict[str, Any]) -> Deployment:
    """The deployment ``data`` describes, checked as the configuration file is (its responder and options
    included), and its fixture as a posted scenario's is: a name inside the fixture folders."""
    try:
        deployment = Deployment.model_validate(data)
    except ValidationError as exc:
        raise _invalid(exc) from None
    file = deployment.responder.options.get("file") if deployment.responder.name == "fixture" else None
    problem = fixture_name_problem(str(file)) if file is not None else None
    if problem is not None:
        raise InvalidRequest(f"aoai-mock: {problem}.", param="responder.options.file", code=_INVALID)
    return deployment


def _invalid(exc: ValidationError) -> InvalidRequest:
    """Every problem in the message (as a configuration file's are said), the first one's field as ``param``."""
    problems = validation_problems(exc, None, "deployment", Deployment)
    listed = "; ".join(f"{p.field}: {p.message}" if p.field else p.message for p in problems)
    return InvalidRequest(f"aoai-mock: the deployment is not valid: {listed}", param=problems[0].field or None,
                          code=_INVALID)

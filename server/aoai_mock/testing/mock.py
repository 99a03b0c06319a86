"""The session's aoai-mock as a test sees it (the ``aoai_mock`` fixture): arrange, then check.

Everything here acts on the running server's objects directly (the scenario book, the fault book, the
journal), in the test's own process, and everything a test arranges is undone by :meth:`MockServer.reset`,
which the plugin calls before and after every test. Only the standard library is imported at the top: the
plugin imports this module in every pytest session of an environment with aoai-mock installed.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aoai_mock.testing import API_KEY
from aoai_mock.testing.calls import CallAssertionError, matching, near_misses

if TYPE_CHECKING:
    from aoai_mock.behaviour.scenarios import Rule, Scenario
    from aoai_mock.testing.builder import RequestPattern
    from aoai_mock.testing.server import LiveServer

__all__ = ["MockServer", "CallAssertionError", "RULES_SCENARIO"]

RULES_SCENARIO = "test-rules"  # holds a test's on(...) rules when no scenario is active
TEST_FAULTS = "test"  # fault-plan sources of a test: "test-1", "test-2", ... ("marker" for @aoai_fault)


class MockServer:
    """The session's live aoai-mock, reset before and after every test.

    ``endpoint`` and ``api_key`` for clients (any non-empty key is accepted unless the configuration names
    keys); ``on(...)``, ``load_scenario``, ``use_scenario`` and ``inject_faults`` to arrange;
    ``requests`` and ``assert_called`` to check.
    """

    def __init__(self, server: LiveServer, api_version: str, clear_state: bool = False) -> None:
        self.server = server
        self.api_version = api_version
        self.clear_state_between_tests = clear_state
        runtime = server.app.state.runtime
        self.runtime = runtime
        self.journal = server.app.state.journal
        keys = runtime.settings.api_keys
        self.api_key: str = keys[0] if keys else API_KEY
        self._default_scenario = runtime.book.active
        self._session: dict[str, Scenario] = {name: runtime.book.get(name) for name in runtime.book.names()}
        self._rules: list[Rule] = []  # the test's on(...) rules, validated, in order
        self._bases: dict[str, Scenario] = {}  # scenarios the rules were put in front of, as they were
        self._fault_plans = 0

    @property
    def endpoint(self) -> str:
        """The base URL (``http://127.0.0.1:<port>``), for ``azure_endpoint`` or ``AZURE_OPENAI_ENDPOINT``."""
        return self.server.url

    # -- between tests ------------------------------------------------------------------------------

    def reset(self) -> None:
        """The session's scenarios as loaded, the first active; no faults, no rules of a test; counters,
        quotas and the journal empty. Stored objects stay unless ``aoai_mock_clear_state`` is set."""
        book = self.runtime.book
        for name in set(book.names()) - set(self._session):
            book.remove(name)
        for name, scenario in self._session.items():
            if name not in book.names() or book.get(name) is not scenario:
                book.load(scenario)
        book.activate(self._default_scenario)
        self._rules.clear()
        self._bases.clear()
        self._fault_plans = 0
        self.runtime.faults.clear()
        self.runtime.sync_scenario_faults()
        self.runtime.reset()
        self.journal.clear()
        if self.clear_state_between_tests:
            self.clear_state()

    def clear_state(self) -> None:
        """Forget every stored object (files, batches, fine-tuning jobs and the deployments they made,
        assistants, threads, vector stores, stored responses) and remembered images and audio (on the server's
        event loop: the store is asynchronous)."""
        self.server.call(self.runtime.clear_stored)

    # -- arranging ----------------------------------------------------------------------------------

    def on(self, **match: Any) -> RequestPattern:
        """Requests this test answers its own way: ``on(deployment="gpt-4o", message_contains="weather")``
        then ``.reply(text=...)``, ``.replies(...)`` or ``.fail(429, times=2)``. See
        :class:`aoai_mock.testing.builder.RequestPattern`."""
        from aoai_mock.testing.builder import RequestPattern

        return RequestPattern(self, **match)

    def load_scenario(self, source: Mapping[str, Any] | str | Path, activate: bool = True) -> str:
        """Load a scenario for this test and (by default) make it active; returns its name.

        ``source``: a mapping (the scenario), a Path (a file or folder), or a string: an existing file or
        folder, a shipped scenario's name, else YAML text whose top level is a mapping.
        """
        from aoai_mock.testing.sources import scenarios_from

        scenarios = scenarios_from(source)
        active = self.runtime.book.active  # the book makes the first scenario it gets active
        for scenario in scenarios:
            self.runtime.book.load(scenario)
            self._bases.pop(str(scenario.name), None)
        name = str(scenarios[0].name)
        self.use_scenario(name if activate else active)
        return name

    def use_scenario(self, name: str | None) -> None:
        """Make a loaded scenario active (None: none; rules made with ``on(...)`` still answer first)."""
        self.runtime.book.activate(name)
        self.runtime.sync_scenario_faults()
        self._put_rules_first()

    def inject_faults(self, *entries: dict[str, Any]) -> list[str]:
        """Add fault entries (as in a scenario's ``faults:``) for this test; returns their ids.

        Each call installs a plan of its own, so earlier calls' entries stay (and keep their counters).
        """
        return self.install_faults(list(entries))[1]

    def install_faults(self, entries: list[dict[str, Any]], source: str | None = None) -> tuple[str, list[str]]:
        """Install ``entries`` as one plan; returns its source (as in the journal's ``fault.source``) and ids.

        A bad entry is a ValueError naming the field (the control API's 400 says the same)."""
        from aoai_mock.behaviour.faults import load_plan
        from aoai_mock.errors import AzureError

        try:
            plan = load_plan(entries)
        except AzureError as exc:
            raise ValueError(str(exc)) from None
        if source is None:
            self._fault_plans += 1
            source = f"{TEST_FAULTS}-{self._fault_plans}"
        return source, self.runtime.faults.install(plan, source)

    def add_rule(self, rule: Mapping[str, Any]) -> str:
        """Put a rule (as in a scenario's ``rules:``) in front of the active scenario's for this test;
        returns its name (``test-rule-<n>`` unless it has one)."""
        from aoai_mock.testing.builder import validated_rule

        taken = {r.name for r in self._rules}
        checked = validated_rule({"name": f"test-rule-{len(self._rules) + 1}", **rule}, taken)
        self._rules.append(checked)
        try:
            self._put_rules_first()
        except Exception:
            self._rules.pop()
            raise
        return str(checked.name)

    def _put_rules_first(self) -> None:
        """The active scenario with the test's rules in front of its own (a scenario of the rules alone when
        none is active); any other scenario they were in front of is as it was again."""
        if not self._rules:
            return
        from aoai_mock.behaviour.scenarios import Scenario
        from aoai_mock.testing.builder import in_front

        book = self.runtime.book
        active = book.active
        for name in [n for n in self._bases if n != active]:
            book.load(self._bases.pop(name))
        if active is None or active == RULES_SCENARIO:
            book.load(Scenario.model_validate({"name": RULES_SCENARIO, "rules": list(self._rules)}))
            book.activate(RULES_SCENARIO)
        else:
            book.load(in_front(self._rules, self._bases.setdefault(active, book.get(active))))

    # -- checking -----------------------------------------------------------------------------------

    def requests(self, **filters: str | int) -> list[dict[str, Any]]:
        """The journal's entries (``deployment``, ``operation``, ``status``, ``scenario``, ``rule``, ``path``,
        ``fault``, ``outcome``, ``since``, ``limit``, as ``GET /_mock/requests`` filters)."""
        from aoai_mock.state.journal import Filters

        return self.journal.entries(Filters.parse([(k, str(v)) for k, v in filters.items()]))

    def assert_called(self, times: int | None = None, **expected: Any) -> list[dict[str, Any]]:
        """Assert the journal holds requests with every ``expected`` value (``deployment``, ``operation``,
        ``status``, ``scenario``, ``rule``, ``path``, ``stream``, ``message_contains``); ``times``: exactly
        that many. On failure the message lists the nearest requests and what differed in each."""
        __tracebackhide__ = True
        entries = self.journal.entries()
        hits = matching(entries, expected)
        if (times is None and hits) or (times is not None and len(hits) == times):
            return hits
        wanted = f"{times} call(s)" if times is not None else "a call"
        raise CallAssertionError(
            f"expected {wanted} with {expected}, found {len(hits)}.\n" + near_misses(entries, expected)
        )

    def assert_not_called(self, **expected: Any) -> None:
        """Assert no request in the journal has every ``expected`` value (nothing given: no request at all)."""
        __tracebackhide__ = True
        hits = matching(self.journal.entries(), expected)
        if hits:
            shown = ", ".join(f"#{e['seq']} {e['method']} {e['path']} -> {e['status']}" for e in hits[:5])
            raise CallAssertionError(f"expected no call with {expected}, found {len(hits)}: {shown}")

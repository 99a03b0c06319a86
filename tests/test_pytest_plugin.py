"""The pytest plugin, exercised with pytester: fixtures, reset between tests, the scenario marker and
journal assertions with near misses."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]


def test_fixtures_clients_and_reset_between_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        def test_first(azure_openai_client, aoai_mock):
            reply = azure_openai_client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "hello plugin"}])
            assert reply.choices[0].message.content == "hello plugin"
            aoai_mock.assert_called(deployment="gpt-4o", message_contains="hello plugin", times=1)

        def test_second_starts_clean(aoai_mock, aoai_mock_endpoint):
            assert aoai_mock.requests() == []
            assert aoai_mock_endpoint.startswith("http://127.0.0.1:")

        async def test_async_client(async_azure_openai_client):
            reply = await async_azure_openai_client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "async"}])
            assert reply.choices[0].message.content == "async"
        """
    )
    pytester.makeini("[pytest]\nasyncio_mode = auto\n")
    result = pytester.runpytest_subprocess("-q")
    result.assert_outcomes(passed=3)


def test_the_scenario_marker_and_faults(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import json
        import openai
        import pytest

        TOOL = {"type": "function", "function": {"name": "get_current_weather",
                "parameters": {"type": "object", "properties": {"location": {"type": "string"}}}}}

        @pytest.mark.aoai_scenario("weather-agent")
        def test_marker_activates(azure_openai_client, aoai_mock):
            reply = azure_openai_client.chat.completions.create(
                model="gpt-4o", tools=[TOOL],
                messages=[{"role": "user", "content": "What's the weather in Oslo?"}])
            (call,) = reply.choices[0].message.tool_calls
            assert json.loads(call.function.arguments)["location"] == "Oslo"
            aoai_mock.assert_called(scenario="weather-agent", rule="ask-for-one-city")

        def test_no_scenario_after_the_marked_test(aoai_mock):
            assert aoai_mock.runtime.book.active is None

        def test_faults_last_one_test(azure_openai_client, aoai_mock):
            aoai_mock.inject_faults({"kind": "429", "next": 1, "retry_after_ms": 5})
            with pytest.raises(openai.RateLimitError):
                azure_openai_client.chat.completions.create(
                    model="gpt-4o", messages=[{"role": "user", "content": "x"}])

        def test_faults_are_gone(azure_openai_client):
            azure_openai_client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "x"}])
        """
    )
    result = pytester.runpytest_subprocess("-q")
    result.assert_outcomes(passed=4)


def test_assert_called_shows_near_misses(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_wrong_expectation(azure_openai_client, aoai_mock):
            azure_openai_client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "hello"}])
            aoai_mock.assert_called(deployment="gpt-4o-mini", message_contains="hello")
        """
    )
    result = pytester.runpytest_subprocess("-q")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*CallAssertionError: expected a call with {'deployment': 'gpt-4o-mini'*found 0.",
            "*Nearest of 1 request(s):*",
            "*#1 POST /openai/deployments/gpt-4o/chat/completions -> 200: deployment is 'gpt-4o', not 'gpt-4o-mini'*",
        ]
    )


def test_ini_settings_load_scenarios_for_the_session(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\naoai_mock_scenarios = quickstarts\naoai_mock_seed = 3\n")
    pytester.makepyfile(
        """
        def test_session_scenario(azure_openai_client, aoai_mock):
            assert aoai_mock.runtime.book.active == "quickstarts"
            reply = azure_openai_client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "When was Microsoft founded?"}])
            assert "1975" in reply.choices[0].message.content
            assert reply.created == 1735689600
        """
    )
    result = pytester.runpytest_subprocess("-q")
    result.assert_outcomes(passed=1)


def test_the_docs_example_passes(pytester: pytest.Pytester) -> None:
    from tests.conftest import ROOT

    text = (ROOT / "docs" / "pytest-plugin.md").read_text()
    example = text.split("```python\n", 1)[1].split("```", 1)[0]
    pytester.makepyfile(test_my_app=example)
    result = pytester.runpytest_subprocess("-q")
    result.assert_outcomes(passed=3)


def test_loading_the_plugin_imports_nothing_heavy() -> None:
    """pytest loads the plugin in every session of an environment with aoai-mock installed: a session that never
    starts a mock must not import the app, the tokenizers or the SDK (that took about two seconds)."""
    import subprocess
    import sys

    code = (
        "import sys, pytest, aoai_mock.testing.plugin, aoai_mock.testing; "
        "print(sorted(m for m in ('aoai_mock.app', 'aoai_mock.behaviour', 'tiktoken', 'openai', 'fastapi', "
        "'numpy', 'PIL') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_server_in_the_test_process_leaves_its_collector_alone() -> None:
    """The serve command paces the collector for itself (aoai_mock.app.own_process_collector); a LiveServer in
    someone's test process must not change theirs."""
    import gc

    import httpx
    from aoai_mock.settings import resolve
    from aoai_mock.testing import LiveServer

    before = gc.get_threshold()
    with LiveServer(resolve({"port": 0}, env={})) as server:
        assert httpx.get(f"{server.url}/_mock/health").status_code == 200
    assert gc.get_threshold() == before

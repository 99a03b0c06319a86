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
    result.stdout.no_fnmatch_line("*aoai_mock/testing/mock.py*")  # __tracebackhide__: the test's line is the last


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


def test_the_docs_examples_pass(pytester: pytest.Pytester) -> None:
    """Every Python block of docs/pytest-plugin.md with a test in it is a test file, and all its tests pass."""
    import re

    from tests.conftest import ROOT

    text = (ROOT / "docs" / "pytest-plugin.md").read_text()
    examples = [b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "def test_" in b]
    assert len(examples) >= 4
    pytester.makepyfile(**{f"test_doc_{i}": example for i, example in enumerate(examples)})
    result = pytester.runpytest_subprocess("-q")
    result.assert_outcomes(passed=sum(len(re.findall(r"^(?:async )?def test_", b, re.M)) for b in examples))


def test_loading_the_plugin_imports_nothing_heavy() -> None:
    """pytest loads the plugin in every session of an environment with aoai-mock installed: a session that never
    starts a mock must not import the app, the tokenizers or the SDK (that took about two seconds)."""
    import subprocess
    import sys

    code = (
        "import sys, pytest, aoai_mock.testing.plugin, aoai_mock.testing; "
        "print(sorted(m for m in ('aoai_mock.app', 'aoai_mock.behaviour', 'tiktoken', 'openai', 'fastapi', "
        "'numpy', 'PIL', 'uvicorn', 'pydantic', 'yaml', 'aoai_mock.testing.builder', 'aoai_mock.testing.server') "
        "if m in sys.modules))"
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


def test_any_key_is_accepted_and_the_env_fixture_points_code_at_the_mock(pytester: pytest.Pytester) -> None:
    """A first run must not fail with 401s: the plugin's server takes any non-empty key, and aoai_mock_env
    sets what AzureOpenAI() reads, for the one test only."""
    pytester.makepyfile(
        """
        import os

        import httpx
        import openai
        from aoai_mock.testing import API_KEY
        from aoai_mock.testing.plugin import API_KEY as PLUGIN_KEY

        def summarize(text):  # code under test: builds its own client from the environment
            client = openai.AzureOpenAI(max_retries=0)
            reply = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": text}])
            return reply.choices[0].message.content

        def test_env(aoai_mock, aoai_mock_env):
            assert aoai_mock_env == {"AZURE_OPENAI_ENDPOINT": aoai_mock.endpoint, "AZURE_OPENAI_API_KEY": API_KEY,
                                     "OPENAI_API_VERSION": "2024-10-21"}
            assert os.environ["AZURE_OPENAI_ENDPOINT"] == aoai_mock.endpoint
            assert summarize("from the environment") == "from the environment"
            aoai_mock.assert_called(path="/openai/deployments/gpt-4o/chat/completions", times=1)

        def test_env_is_restored(aoai_mock):
            assert os.environ.get("AZURE_OPENAI_ENDPOINT") != aoai_mock.endpoint

        def test_any_key(aoai_mock):
            assert aoai_mock.api_key == API_KEY == PLUGIN_KEY == "aoai-mock-test-key"
            for key in ("my-own-key", "sk-whatever"):
                client = openai.AzureOpenAI(azure_endpoint=aoai_mock.endpoint, api_key=key,
                                            api_version="2024-10-21", max_retries=0)
                client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": key}])
            assert [r["status"] for r in aoai_mock.requests()] == [200, 200]

        def test_no_key_is_still_refused(aoai_mock):
            url = f"{aoai_mock.endpoint}/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"
            body = {"messages": [{"role": "user", "content": "x"}]}
            assert httpx.post(url, json=body).status_code == 401
            assert httpx.post(url, json=body, headers={"api-key": ""}).status_code == 401
        """
    )
    result = pytester.runpytest_subprocess("-q")
    result.assert_outcomes(passed=4)


def test_a_configured_key_is_the_one_the_fixtures_send(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", mock="api_keys: [team-key]\n")
    pytester.makeini("[pytest]\naoai_mock_config = mock.yaml\n")
    pytester.makepyfile(
        """
        import openai
        import pytest

        def test_configured(aoai_mock, azure_openai_client):
            assert aoai_mock.api_key == "team-key"
            azure_openai_client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])
            other = openai.AzureOpenAI(azure_endpoint=aoai_mock.endpoint, api_key="another",
                                       api_version="2024-10-21", max_retries=0)
            with pytest.raises(openai.AuthenticationError):
                other.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])
        """
    )
    result = pytester.runpytest_subprocess("-q")
    result.assert_outcomes(passed=1)


def test_the_fault_marker(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import openai
        import pytest

        def ask(client):
            return client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])

        @pytest.mark.aoai_fault(kind="429", next=2, retry_after_ms=5)
        def test_keywords_are_one_entry(aoai_mock):
            client = openai.AzureOpenAI(azure_endpoint=aoai_mock.endpoint, api_key=aoai_mock.api_key,
                                        api_version="2024-10-21", max_retries=2)
            ask(client)
            assert [r["status"] for r in aoai_mock.requests()] == [429, 429, 200]
            assert aoai_mock.requests()[0]["fault"]["source"] == "marker"

        @pytest.mark.aoai_fault({"kind": "500", "next": 1}, {"kind": "503", "after": 1, "next": 1})
        @pytest.mark.aoai_fault(kind="502", deployment="gpt-4o-mini")
        def test_entries_and_stacked_markers(azure_openai_client, aoai_mock):
            with pytest.raises(openai.InternalServerError):
                ask(azure_openai_client)
            with pytest.raises(openai.APIStatusError) as second:
                ask(azure_openai_client)
            assert second.value.status_code == 503
            ask(azure_openai_client)
            with pytest.raises(openai.APIStatusError) as mini:
                azure_openai_client.chat.completions.create(
                    model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
            assert mini.value.status_code == 502

        @pytest.mark.aoai_fault(kind="500", next=1)
        def test_inject_faults_adds_to_the_marker(azure_openai_client, aoai_mock):
            aoai_mock.inject_faults({"kind": "503", "after": 1, "next": 1})
            statuses = []
            for _ in range(3):
                try:
                    ask(azure_openai_client)
                    statuses.append(200)
                except openai.APIStatusError as exc:
                    statuses.append(exc.status_code)
            assert statuses == [500, 503, 200]

        def test_no_faults_afterwards(azure_openai_client):
            ask(azure_openai_client)
        """
    )
    result = pytester.runpytest_subprocess("-q")
    result.assert_outcomes(passed=4)


def test_client_fixtures_without_openai_say_what_to_install(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("import sys\nsys.modules['openai'] = None  # as if it were not installed\n")
    pytester.makepyfile(
        """
        def test_sync(azure_openai_client):
            pass

        def test_async(async_azure_openai_client):
            pass

        def test_the_mock_alone_works(aoai_mock):
            assert aoai_mock.endpoint
        """
    )
    result = pytester.runpytest_subprocess("-q")
    result.assert_outcomes(passed=1, errors=2)
    result.stdout.fnmatch_lines(["*the aoai-mock client fixtures use the openai package*pip install openai*"])
    result.stdout.no_fnmatch_line("*ModuleNotFoundError*")


@pytest.mark.parametrize("clear", [True, False])
def test_clear_state_between_tests(pytester: pytest.Pytester, clear: bool) -> None:
    """Off by default: stored objects are what users keep. On: files, assistants, threads... go between tests."""
    setting = "aoai_mock_clear_state = true\n" if clear else ""
    pytester.makeini(f"[pytest]\naoai_mock_api_version = 2024-05-01-preview\n{setting}")
    pytester.makepyfile(
        f"""
        def test_makes_objects(azure_openai_client):
            azure_openai_client.files.create(file=("a.jsonl", b'{{"a": 1}}\\n'), purpose="fine-tune")
            azure_openai_client.beta.assistants.create(model="gpt-4o", name="helper")
            azure_openai_client.beta.threads.create()

        def test_finds_them_or_not(azure_openai_client):
            files = list(azure_openai_client.files.list())
            assistants = list(azure_openai_client.beta.assistants.list())
            assert (len(files), len(assistants)) == ((0, 0) if {clear} else (1, 1))

        def test_clear_state_by_hand(azure_openai_client, aoai_mock):
            azure_openai_client.files.create(file=("b.jsonl", b'{{"b": 2}}\\n'), purpose="fine-tune")
            aoai_mock.clear_state()
            assert list(azure_openai_client.files.list()) == []
        """
    )
    result = pytester.runpytest_subprocess("-q")
    result.assert_outcomes(passed=3)


def test_a_session_that_uses_no_fixture_imports_nothing_heavy(pytester: pytest.Pytester) -> None:
    """As pytest loads it: the plugin in a real session, with its hooks run, before any fixture is asked for."""
    pytester.makepyfile(
        """
        import sys

        def test_nothing_heavy():
            heavy = ("aoai_mock.app", "aoai_mock.behaviour", "aoai_mock.testing.server", "aoai_mock.testing.builder",
                     "fastapi", "openai", "uvicorn", "tiktoken")
            assert "aoai_mock.testing.plugin" in sys.modules
            assert [m for m in heavy if m in sys.modules] == []
        """
    )
    result = pytester.runpytest_subprocess("-q")
    result.assert_outcomes(passed=1)

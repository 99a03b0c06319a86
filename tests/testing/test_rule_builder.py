"""``aoai_mock.on(...)``: rules and faults from Python, for one test, with the openai SDK against the plugin's
live server (pytester runs each session in a subprocess, as a user's run would)."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]


def test_rules_answer_then_are_gone(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import json

        import openai
        import pytest

        def ask(client, text, model="gpt-4o"):
            reply = client.chat.completions.create(model=model, messages=[{"role": "user", "content": text}])
            return reply.choices[0].message

        def test_reply_kinds(azure_openai_client, aoai_mock):
            weather = aoai_mock.on(deployment="gpt-4o", message_contains="weather").reply(text="Sunny: {{ last_user }}")
            aoai_mock.on(message_contains="tool").reply(
                tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}])
            aoai_mock.on(message_contains="extract").reply(json={"name": "Ada", "age": 36})
            aoai_mock.on(message_contains="decline").reply(refusal="I can't help with that.")
            assert ask(azure_openai_client, "weather today?").content == "Sunny: weather today?"
            assert ask(azure_openai_client, "weather today?", model="gpt-4o-mini").content == "weather today?"
            (call,) = ask(azure_openai_client, "use a tool").tool_calls
            assert (call.function.name, json.loads(call.function.arguments)) == ("get_weather", {"city": "Paris"})
            assert json.loads(ask(azure_openai_client, "extract it").content) == {"name": "Ada", "age": 36}
            assert ask(azure_openai_client, "decline this").refusal == "I can't help with that."
            assert ask(azure_openai_client, "anything else").content == "anything else"  # the echo responder
            assert (weather.name, weather.call_count, weather.called) == ("test-rule-1", 1, True)
            aoai_mock.assert_called(rule="test-rule-1", scenario="test-rules", times=1)

        def test_in_turn_times_and_names(azure_openai_client, aoai_mock):
            aoai_mock.on(name="first-two").reply(text="early", times=2)
            aoai_mock.on().replies("one", {"text": "two"}, then="cycle")
            answers = [ask(azure_openai_client, "x").content for _ in range(5)]
            assert answers == ["early", "early", "one", "two", "one"]
            aoai_mock.assert_called(rule="first-two", times=2)

        def test_embeddings(azure_openai_client, aoai_mock):
            aoai_mock.on(operation="embeddings").reply(embeddings={"vectors": [[0.5, -0.5, 0.25]]})
            done = azure_openai_client.embeddings.create(model="text-embedding-3-small", input="hi")
            assert done.data[0].embedding == [0.5, -0.5, 0.25]

        def test_nothing_left_from_the_tests_before(azure_openai_client, aoai_mock):
            assert aoai_mock.runtime.book.names() == []
            assert ask(azure_openai_client, "weather today?").content == "weather today?"
        """
    )
    result = pytester.runpytest_subprocess("-q")
    result.assert_outcomes(passed=4)


def test_rules_go_in_front_of_the_active_scenario(pytester: pytest.Pytester) -> None:
    """The scenario's rules still answer what the test's rules do not; the journal names the scenario; after
    the test the session's scenario is as it was loaded."""
    pytester.makeini("[pytest]\naoai_mock_scenarios = weather-agent\n")
    pytester.makepyfile(
        """
        import json

        TOOL = {"type": "function", "function": {"name": "get_current_weather",
                "parameters": {"type": "object", "properties": {"location": {"type": "string"}}}}}

        def ask(client, text):
            return client.chat.completions.create(
                model="gpt-4o", tools=[TOOL], messages=[{"role": "user", "content": text}]).choices[0].message

        def test_overlay(azure_openai_client, aoai_mock):
            aoai_mock.on(message_contains="Oslo").reply(text="Always raining in Oslo.")
            assert ask(azure_openai_client, "What's the weather in Oslo?").content == "Always raining in Oslo."
            (call,) = ask(azure_openai_client, "What's the weather in Paris?").tool_calls
            assert json.loads(call.function.arguments)["location"] == "Paris"
            aoai_mock.assert_called(scenario="weather-agent", rule="test-rule-1", times=1)
            aoai_mock.assert_called(scenario="weather-agent", rule="ask-for-one-city", times=1)

        def test_follows_use_scenario(azure_openai_client, aoai_mock):
            aoai_mock.on(message_contains="Oslo").reply(text="mine")
            aoai_mock.load_scenario({"name": "other", "default": {"text": "other's default"}})
            assert ask(azure_openai_client, "Oslo?").content == "mine"
            assert ask(azure_openai_client, "Paris?").content == "other's default"
            aoai_mock.use_scenario("weather-agent")
            assert ask(azure_openai_client, "Oslo?").content == "mine"
            assert len(aoai_mock.runtime.book.get("other").rules) == 0

        def test_the_session_scenario_is_back(azure_openai_client, aoai_mock):
            assert aoai_mock.runtime.book.names() == ["weather-agent"]
            assert aoai_mock.runtime.book.active == "weather-agent"
            (call,) = ask(azure_openai_client, "What's the weather in Oslo?").tool_calls
            assert json.loads(call.function.arguments)["location"] == "Oslo"
        """
    )
    result = pytester.runpytest_subprocess("-q")
    result.assert_outcomes(passed=3)


def test_fail(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import openai
        import pytest

        def ask(client, text="x", model="gpt-4o"):
            return client.chat.completions.create(model=model, messages=[{"role": "user", "content": text}])

        def test_429_twice_then_an_answer(aoai_mock, aoai_mock_env):
            throttle = aoai_mock.on(deployment="gpt-4o").fail(429, times=2, retry_after_ms=10)
            client = openai.AzureOpenAI(max_retries=2)  # from aoai_mock_env
            ask(client)
            assert [r["status"] for r in aoai_mock.requests()] == [429, 429, 200]
            assert aoai_mock.requests()[0]["response_headers"]["retry-after-ms"] == "10"
            assert throttle.call_count == 2 and throttle.kind == "fault"

        def test_scoped_by_message(azure_openai_client, aoai_mock):
            aoai_mock.on(message_contains="boom").fail(500)
            ask(azure_openai_client, "fine")
            with pytest.raises(openai.InternalServerError):
                ask(azure_openai_client, "boom")

        def test_other_statuses_and_presets(azure_openai_client, aoai_mock):
            aoai_mock.on(message_contains="bad").fail(400, code="invalid_thing", message="That is not allowed.")
            aoai_mock.on(message_contains="filtered").fail("content_filter")
            with pytest.raises(openai.BadRequestError) as bad:
                ask(azure_openai_client, "bad input")
            assert (bad.value.code, bad.value.body["message"]) == ("invalid_thing", "That is not allowed.")
            with pytest.raises(openai.BadRequestError) as filtered:
                ask(azure_openai_client, "filtered words")
            assert filtered.value.code == "content_filter"

        def test_a_stream_cut(azure_openai_client, aoai_mock):
            aoai_mock.on(stream=True).fail("cut", after_chunks=2)
            ask(azure_openai_client, "not streamed: no fault")
            with pytest.raises(openai.APIError):
                for _ in azure_openai_client.chat.completions.create(
                        model="gpt-4o", stream=True, messages=[{"role": "user", "content": "one two three four"}]):
                    pass
            assert aoai_mock.requests(fault="cut")[0]["outcome"] == "cut"

        def test_faults_are_gone(azure_openai_client):
            ask(azure_openai_client, "boom")
        """
    )
    result = pytester.runpytest_subprocess("-q")
    result.assert_outcomes(passed=5)


def test_mistakes_are_named(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        def test_two_reply_kinds(aoai_mock):
            with pytest.raises(ValueError, match=r"a reply needs exactly one of: text, .*\\(got text, tool_calls\\)"):
                aoai_mock.on().reply(text="a", tool_calls=[{"name": "f"}])

        def test_a_misspelt_field(aoai_mock):
            with pytest.raises(TypeError, match="unknown field.* deployments .did you mean 'deployment'"):
                aoai_mock.on(deployments="gpt-4o")

        def test_not_a_failure(aoai_mock):
            with pytest.raises(ValueError, match=r"fail\\(200\\): not a fault kind"):
                aoai_mock.on().fail(200)

        def test_a_parameter_the_kind_does_not_take(aoai_mock):
            with pytest.raises(ValueError, match="after_chunks does not apply to kind 429"):
                aoai_mock.on().fail(429, after_chunks=2)

        def test_a_name_twice(aoai_mock):
            aoai_mock.on(name="same").reply(text="a")
            with pytest.raises(ValueError, match="already has a rule named 'same'"):
                aoai_mock.on(name="same").reply(text="b")

        @pytest.mark.aoai_scenario("weather-agent")
        def test_a_name_the_scenario_has(aoai_mock):
            with pytest.raises(ValueError, match="has a rule named 'ask-for-one-city' already"):
                aoai_mock.on(name="ask-for-one-city").reply(text="b")
            assert aoai_mock.runtime.book.get("weather-agent").rules[0].name == "answer-from-results"

        def test_stream_is_for_faults(aoai_mock):
            with pytest.raises(TypeError, match="stream"):
                aoai_mock.on(stream=True).reply(text="a")
        """
    )
    result = pytester.runpytest_subprocess("-q")
    result.assert_outcomes(passed=7)

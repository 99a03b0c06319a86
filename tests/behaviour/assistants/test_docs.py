"""docs/assistants.md: its scenarios load, and the math tutor answers as the page says."""

from __future__ import annotations

import re

from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.behaviour.scenarios import load_text

from tests.behaviour.assistants.conftest import (
    assistant,
    last_answer,
    poll,
    start_run,
    thread_with,
)
from tests.conftest import ROOT

PAGE = (ROOT / "docs" / "assistants.md").read_text()
BLOCKS = re.findall(r"```yaml\n(.*?)```", PAGE, re.S)


def test_the_pages_scenarios_load() -> None:
    assert [load_text(block, "docs/assistants.md").name for block in BLOCKS] == ["math-tutor", "slow-and-flaky"]
    runs = load_text(BLOCKS[1], "docs/assistants.md").runs
    assert runs is not None and runs.schedule_for("Flaky Helper").outcome == "failed"
    assert runs.schedule_for("Flaky Helper").complete_after_polls == 3


async def test_the_math_tutor(runtime: Runtime) -> None:
    loaded = load_text(BLOCKS[0], "docs/assistants.md")
    runtime.book.load(loaded)
    helper = await assistant(runtime, tools=[{"type": "code_interpreter"}])
    thread = await thread_with(runtime, "Solve 3x + 11 = 14")
    assert (await poll(runtime, await start_run(runtime, thread, helper)))["status"] == "completed"
    assert await last_answer(runtime, thread) == "The solution is x = 1."

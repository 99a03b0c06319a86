"""docs/ci.md's recipes and the image's publishing workflow, as far as they run here: the recipes' shell lines
start and wait for a real ``aoai-mock serve``, their service settings configure a real one the way the image
would be, every ``aoai-mock`` flag they use is one the command offers, and the workflow parses, builds the
repository's Dockerfile and checks an answer this server really gives. The license metadata is here too."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from aoai_mock.settings import resolve
from aoai_mock.testing import LiveServer

from tests.conftest import ROOT
from tests.test_cli import _free_port, serve

DOC = ROOT / "docs" / "ci.md"
WORKFLOW = ROOT / ".github" / "workflows" / "publish-image.yml"
BIN = Path(sys.executable).parent
WAIT = "aoai-mock wait http://127.0.0.1:8000 --timeout 30"


def _yaml_blocks() -> list[Any]:
    return [yaml.safe_load(textwrap.dedent(b)) for b in re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.S)]


def _services() -> list[dict[str, Any]]:
    """Each service of the recipes as ``{"image", "env", "ports"}``: GitHub's ``jobs.*.services`` mapping and
    GitLab's ``services`` list alike."""
    found = []
    for block in _yaml_blocks():
        if not isinstance(block, dict):
            continue
        for job in [*block.get("jobs", {}).values(), *(v for v in block.values() if isinstance(v, dict))]:
            services = job.get("services") or {}
            for service in services.values() if isinstance(services, dict) else services:
                found.append({"image": service.get("image") or service["name"],
                              "env": service.get("env") or service.get("variables") or {},
                              "ports": service.get("ports", [])})
    return found


def _shell_lines() -> list[list[str]]:
    """Each recipe's shell lines in order: GitHub's ``run:`` steps, GitLab's ``script:``."""
    recipes = []
    for block in _yaml_blocks():
        if not isinstance(block, dict):
            continue
        for job in [*block.get("jobs", {}).values(), *(v for v in block.values() if isinstance(v, dict))]:
            lines = [s["run"] for s in job.get("steps", []) if "run" in s] + list(job.get("script", []))
            if lines:
                recipes.append(lines)
    return recipes


def _stop(pid_file: Path) -> None:
    if pid_file.exists():
        try:
            os.kill(int(pid_file.read_text()), signal.SIGTERM)
        except ProcessLookupError:
            pass


def test_the_pip_recipes_serve_in_the_background_and_wait(tmp_path: Path) -> None:
    """The ``aoai-mock`` lines of each pip recipe, in one shell as GitLab runs them (GitHub's steps differ only in
    their shells), on a free port: the wait returns 0 once the background server answers."""
    recipes = [lines for lines in _shell_lines() if WAIT in lines]
    assert len(recipes) == 2  # GitHub Actions and GitLab CI
    shutil.copytree(ROOT / "examples" / "compose" / "scenarios", tmp_path / "tests" / "scenarios")
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"}
    for index, lines in enumerate(recipes):
        port = str(_free_port())
        serve_line = next(line for line in lines if line.removeprefix("nohup ").startswith("aoai-mock serve"))
        pid_file = tmp_path / f"serve-{index}.pid"
        script = f"{serve_line}\necho $! > {pid_file}\n{WAIT}\n".replace("8000", port)
        try:
            done = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                                  timeout=60)
            assert done.returncode == 0, (done.stdout, done.stderr, (tmp_path / "aoai-mock.log").read_text())
            health = httpx.get(f"http://127.0.0.1:{port}/_mock/health", timeout=5)
            assert health.status_code == 200
        finally:
            _stop(pid_file)


def test_wait_fails_the_step_when_no_server_comes(tmp_path: Path) -> None:
    script = WAIT.replace("8000", str(_free_port())).replace("--timeout 30", "--timeout 0.3")
    done = subprocess.run(["bash", "-c", script], env={**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"},
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 1


def _code(text: str) -> str:
    """The fenced blocks and inline code of a page: where commands are."""
    fenced = re.findall(r"```\w*\n(.*?)```", text, re.S)
    inline = re.findall(r"`([^`\n]+)`", re.sub(r"```\w*\n.*?```", "", text, flags=re.S))
    return "\n".join([*fenced, *inline])


def test_every_aoai_mock_flag_in_the_recipes_is_offered() -> None:
    commands = re.findall(r"aoai-mock (\w+)((?: [^\s>&|]+)*)", _code(DOC.read_text()))
    assert {name for name, _ in commands} >= {"serve", "wait"}
    for name, rest in commands:
        if name.startswith("v") and name[1:2].isdigit():
            continue  # the git tag of a pip URL, not a command
        helped = subprocess.run([str(BIN / "aoai-mock"), name, "--help"], capture_output=True, text=True, timeout=30)
        assert helped.returncode == 0, f"aoai-mock {name}: {helped.stderr}"
        for flag in re.findall(r"--[\w-]+", rest):
            assert re.search(rf"{flag}\b", helped.stdout), f"aoai-mock {name} offers no {flag}"


def test_the_service_recipes_configure_the_image_as_they_say() -> None:
    """Each service's variables over the image's own (Dockerfile ``ENV``): the server starts (the control API
    question answered) and loads what the recipe names."""
    services = _services()
    assert len(services) == 2
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    image_env = dict(re.findall(r"(AOAI_MOCK_\w+)=(\S+)", (ROOT / "Dockerfile").read_text()))
    assert "EXPOSE 8000" in (ROOT / "Dockerfile").read_text()
    for service in services:
        assert service["image"] == f"ghcr.io/OWNER/aoai-mock:{version}"
        assert service["ports"] in ([], ["8000:8000"])
        env = {**image_env, **{k: str(v) for k, v in service["env"].items()}}
        settings = resolve({}, env=env)
        assert settings.insecure_control_api or not settings.exposed_control_api
        assert settings.seed == 42
        scenarios = [s for s in settings.scenarios if s != "/scenarios"]
        local = {**env, "AOAI_MOCK_HOST": "127.0.0.1", "AOAI_MOCK_SCENARIOS": ",".join(scenarios)}
        local = {k: v for k, v in local.items() if v and k != "AOAI_MOCK_PORT"}
        with serve(env=local) as (url, _):
            listed = httpx.get(f"{url}/_mock/scenarios", timeout=5).json()
            assert sorted(s["name"] for s in listed["data"]) == sorted(scenarios)


# -- .github/workflows/publish-image.yml ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def workflow() -> dict[Any, Any]:
    return yaml.safe_load(WORKFLOW.read_text())


def _steps(workflow: dict[Any, Any]) -> list[dict[str, Any]]:
    (job,) = workflow["jobs"].values()
    return job["steps"]


def test_publish_runs_on_version_tags_only(workflow: dict[Any, Any]) -> None:
    trigger = workflow[True] if True in workflow else workflow["on"]  # YAML 1.1 reads a bare `on` as true
    assert trigger == {"push": {"tags": ["v*"]}}
    assert workflow["permissions"] == {"contents": "read", "packages": "write"}


def test_publish_builds_the_repositorys_dockerfile_and_pushes_to_ghcr(workflow: dict[Any, Any]) -> None:
    steps = _steps(workflow)
    builds = [s for s in steps if s.get("uses", "").startswith("docker/build-push-action@")]
    assert len(builds) == 2
    for build in builds:
        assert build["with"]["context"] == "."
        assert (ROOT / build["with"]["file"]).resolve() == ROOT / "Dockerfile"
    check, push = builds
    assert check["with"]["load"] is True and "push" not in check["with"]
    assert push["with"]["push"] is True and push["with"]["tags"] == "${{ steps.meta.outputs.tags }}"
    (login,) = [s for s in steps if s.get("uses", "").startswith("docker/login-action@")]
    assert login["with"]["registry"] == "ghcr.io"
    (meta,) = [s for s in steps if s.get("id") == "meta"]
    assert meta["with"]["images"] == "${{ env.IMAGE }}"
    assert any("IMAGE=ghcr.io/" in s.get("run", "") for s in steps[: steps.index(meta)])
    assert steps.index(check) < steps.index(push)


def test_publish_checks_an_answer_the_mock_gives(workflow: dict[Any, Any]) -> None:
    """The workflow's curl, against a live server here: the body it greps for is what the echo responder sends."""
    (step,) = [s for s in _steps(workflow) if s.get("name") == "Healthy, and answers"]
    curl = re.search(r"^ *curl .*?'\n", step["run"], re.S | re.M)
    assert curl is not None
    with LiveServer(resolve({"port": 0}, env={})) as live:
        command = curl.group(0).replace("http://127.0.0.1:8000", live.url)
        done = subprocess.run(["bash", "-o", "pipefail", "-c", command], capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        other = command.replace('"content":"ping"}]', '"content":"pong"}]')
        assert subprocess.run(["bash", "-o", "pipefail", "-c", other], timeout=30).returncode != 0


def test_publish_tag_check_accepts_the_version_and_refuses_another(workflow: dict[Any, Any], tmp_path: Path) -> None:
    (step,) = [s for s in _steps(workflow) if s.get("name", "").startswith("The tag names the version")]
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    for tag, ok in ((f"v{version}", True), (f"v{version}-rc.1", True), ("v99.0.0", False)):
        done = subprocess.run(["bash", "-c", step["run"]], cwd=ROOT, env={**os.environ, "GITHUB_REF_NAME": tag},
                              capture_output=True, text=True, timeout=30)
        assert (done.returncode == 0) is ok, (tag, done.stdout)


# -- license metadata ----------------------------------------------------------------------------------------


def test_license_is_an_spdx_expression_with_its_file() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["license"] == "MIT"
    assert pyproject["project"]["license-files"] == ["LICENSE"]
    assert (ROOT / "LICENSE").read_text().startswith("MIT License\n")
    (setuptools,) = [r for r in pyproject["build-system"]["requires"] if r.startswith("setuptools")]
    assert setuptools == "setuptools>=77"  # the first to read both keys
    assert "!LICENSE" in (ROOT / ".dockerignore").read_text().splitlines()  # the image's build context has it

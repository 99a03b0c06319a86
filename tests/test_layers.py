"""The import contracts of ``[tool.importlinter]`` in pyproject.toml hold: the layers, and no cycles."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"  # import-linter's script, from the `test` extra


def test_import_contracts_are_kept() -> None:
    assert LINT_IMPORTS.exists(), f"{LINT_IMPORTS} is missing: pip install -e '.[test]'"
    done = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],  # no cache folder left in the tree
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr

"""The shape of the code base (DESIGN §7): import contracts hold, modules stay small, tests
sit in their tier."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import ztix

SRC = Path(ztix.__file__).resolve().parent
REPO = SRC.parent.parent
MAX_LINES = 600


def _python_modules() -> list[Path]:
    return [
        path
        for path in SRC.rglob("*.py")
        if "migrations" not in path.relative_to(SRC).parts
        and "templates" not in path.relative_to(SRC).parts
    ]


def test_import_contracts_hold() -> None:
    lint_imports = shutil.which("lint-imports")
    assert lint_imports is not None, "import-linter is a dev dependency (uv sync)"
    result = subprocess.run(
        [lint_imports, "--no-cache"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_no_module_over_the_line_limit() -> None:
    sizes = {
        path.relative_to(SRC).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
        for path in _python_modules()
    }
    too_large = {name: lines for name, lines in sizes.items() if lines > MAX_LINES}
    assert too_large == {}, f"modules over {MAX_LINES} lines: {too_large}"


def test_every_test_module_is_in_a_tier() -> None:
    """tests/unit, tests/api, tests/integration or tests/e2e (docs/architecture.md, "Tests"):
    the directory gives the marker that `make test-fast` and `-m` select by."""
    tests = REPO / "tests"
    outside = [
        path.relative_to(tests).as_posix()
        for path in tests.rglob("test_*.py")
        if path.relative_to(tests).parts[0] not in ("unit", "api", "integration", "e2e")
    ]
    assert outside == []

"""The web app's API types and error sentences follow the server.

frontend/openapi.json is the API's OpenAPI document and frontend/src/api/schema.d.ts is
generated from it; both are committed. Regenerate them with
``uv run python frontend/scripts/dump_openapi.py && (cd frontend && npm run api-types)``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.browser import ROOT
from ztix.errors import CODES

FRONTEND = ROOT / "frontend"
REGENERATE = (
    "regenerate: uv run python frontend/scripts/dump_openapi.py && "
    "(cd frontend && npm run api-types)"
)


def _dump_module():  # type: ignore[no-untyped-def]
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "dump_openapi", FRONTEND / "scripts" / "dump_openapi.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_openapi_document_is_current() -> None:
    committed = (FRONTEND / "openapi.json").read_text(encoding="utf-8")
    assert committed == _dump_module().render(), f"frontend/openapi.json is stale; {REGENERATE}"


def test_the_generated_types_match_the_document(tmp_path: Path) -> None:
    tool = FRONTEND / "node_modules" / ".bin" / "openapi-typescript"
    if not tool.exists() or shutil.which("node") is None:
        pytest.fail("frontend/node_modules is missing: run `cd frontend && npm ci`", pytrace=False)
    out = tmp_path / "schema.d.ts"
    subprocess.run(
        [str(tool), str(FRONTEND / "openapi.json"), "-o", str(out)],
        check=True,
        capture_output=True,
        cwd=FRONTEND,
    )
    committed = (FRONTEND / "src" / "api" / "schema.d.ts").read_text(encoding="utf-8")
    fresh = out.read_text(encoding="utf-8")
    assert committed == fresh, f"src/api/schema.d.ts is stale; {REGENERATE}"


def test_every_problem_code_has_a_sentence_in_the_web_app() -> None:
    source = (FRONTEND / "src" / "lib" / "errors.ts").read_text(encoding="utf-8")
    table = source.split("export const ERROR_TEXT", 1)[1]
    known = set(re.findall(r"^\s+([a-z_]+): \{ message:", table, flags=re.MULTILINE))
    missing = sorted(set(CODES) - known)
    assert not missing, f"frontend/src/lib/errors.ts has no sentence for {missing}"

"""The web app's API types and error sentences follow the server.

frontend/openapi.json is the API's OpenAPI document and frontend/src/api/schema.d.ts is
generated from it; both are committed. Regenerate them with
``uv run python frontend/scripts/dump_openapi.py && (cd frontend && npm run api-types)``.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.browser import ROOT
from ztix.errors import CODES

FRONTEND = ROOT / "frontend"
SCHEMA = "src/api/schema.d.ts"
CLIENT = FRONTEND / "src" / "api" / "client.ts"
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


def _api_types_command(out: Path) -> list[str]:
    """`npm run api-types` as package.json spells it, writing to ``out`` instead."""
    script = json.loads((FRONTEND / "package.json").read_text(encoding="utf-8"))["scripts"]
    argv = shlex.split(script["api-types"])
    assert argv[0] == "openapi-typescript", script["api-types"]
    target = argv.index("-o") + 1
    assert argv[target] == SCHEMA, f"npm run api-types must write {SCHEMA}"
    argv[target] = str(out)
    return [str(FRONTEND / "node_modules" / ".bin" / argv[0]), *argv[1:]]


def test_the_generated_types_match_the_document(tmp_path: Path) -> None:
    out = tmp_path / "schema.d.ts"
    command = _api_types_command(out)
    if not Path(command[0]).exists() or shutil.which("node") is None:
        pytest.fail("frontend/node_modules is missing: run `cd frontend && npm ci`", pytrace=False)
    subprocess.run(command, check=True, capture_output=True, cwd=FRONTEND)
    committed = (FRONTEND / SCHEMA).read_text(encoding="utf-8")
    fresh = out.read_text(encoding="utf-8")
    assert committed == fresh, f"src/api/schema.d.ts is stale; {REGENERATE}"


def test_the_web_app_calls_the_api_only_through_the_generated_client() -> None:
    """Every call goes through openapi-fetch over the generated paths (src/api/client.ts):
    a hand-written fetch would bypass the types, the CSRF header and the problem mapping."""
    sources = [
        path
        for path in (FRONTEND / "src").rglob("*.ts*")
        if path.name != "schema.d.ts" and ".test." not in path.name and "test" not in path.parts
    ]
    assert sources
    raw_call = re.compile(r"\bfetch\(|XMLHttpRequest")
    calling = sorted(
        str(path.relative_to(FRONTEND))
        for path in sources
        if path != CLIENT and raw_call.search(path.read_text(encoding="utf-8"))
    )
    assert not calling, f"call the API through `api` from src/api/client.ts, not fetch: {calling}"


def test_every_problem_code_has_a_sentence_in_the_web_app() -> None:
    source = (FRONTEND / "src" / "lib" / "errors.ts").read_text(encoding="utf-8")
    table = source.split("export const ERROR_TEXT", 1)[1]
    known = set(re.findall(r"^\s+([a-z_]+): \{ message:", table, flags=re.MULTILINE))
    missing = sorted(set(CODES) - known)
    assert not missing, f"frontend/src/lib/errors.ts has no sentence for {missing}"

"""Write the API's OpenAPI document to frontend/openapi.json (the source of src/api/schema.d.ts).

Run from the repository root: ``uv run python frontend/scripts/dump_openapi.py``; then
``npm run api-types`` in frontend/. tests/e2e/test_api_types.py fails when either is stale.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from ztix.api.app import create_app
from ztix.config import Settings

OUT = Path(__file__).resolve().parent.parent / "openapi.json"


def openapi_document() -> dict[str, Any]:
    settings = Settings(database_url="sqlite://", peeringdb={"enabled": False})  # type: ignore[arg-type]
    document: dict[str, Any] = create_app(settings).openapi()
    return document


def render() -> str:
    return json.dumps(openapi_document(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else OUT
    target.write_text(render(), encoding="utf-8")
    print(f"wrote {target}")

"""The ASGI application for `uvicorn ztix.api.main:app` (settings from the environment)."""

from __future__ import annotations

import sys

# httpx's command line (click, rich, pygments: about 5 MiB) is imported by ``import httpx``
# unless it cannot be; no HTTP worker runs it (issue 17, P6: import nothing unused).
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

from ztix.api.app import create_app  # noqa: E402  (after the line above)
from ztix.config import load_settings  # noqa: E402

app = create_app(load_settings())

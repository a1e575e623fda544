"""The ASGI application for `uvicorn ztix.api.main:app` (settings from the environment)."""

from __future__ import annotations

from ztix.api.app import create_app
from ztix.config import load_settings

app = create_app(load_settings())

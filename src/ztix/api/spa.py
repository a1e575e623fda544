"""Serving the built web app (``frontend/dist``) in the embedded default.

Files of the build are served as they are (hashed ``/assets/*`` for a year, immutable);
every other path that is not under ``/api/`` answers ``index.html`` so that client routes
(``/dashboard``, ``/requests/…``, ``/auth/callback``) load the app. ``/api/…`` is never
shadowed: an unknown API path stays a ``not_found`` problem. In the production topology
nginx serves the same directory and this module is idle.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.convertors import Convertor, register_url_convertor
from starlette.exceptions import HTTPException

DEFAULT_DIST = Path(__file__).resolve().parents[3] / "frontend" / "dist"

# The app loads nothing from elsewhere: fonts are self-hosted, the API is same-origin.
# Inline styles are allowed because the UI primitives position popovers with style="".
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self'; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}

NOT_BUILT = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>ZT-IX</title></head><body style="font-family:sans-serif;max-width:40rem;margin:4rem auto">
<h1>ZT-IX: the web app is not built</h1>
<p>Run <code>make run</code>, or
<code>cd frontend &amp;&amp; npm ci &amp;&amp; npm run build</code>.
The API is at <a href="/api/v1/docs">/api/v1/docs</a>.</p></body></html>"""


class _ClientPath(Convertor[str]):
    """Any path except ``api`` and what lies under it."""

    regex = r"(?!api(?:/|$)).*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("spa_path", _ClientPath())


def install(app: FastAPI, dist: Path = DEFAULT_DIST) -> None:
    """Add the catch-all GET route. Call it after every API router. The build is looked up
    per request, so building the app while the server runs needs no restart."""
    root = dist.resolve()

    def serve(path: str) -> Response:
        index = root / "index.html"
        if not index.is_file():
            return HTMLResponse(NOT_BUILT, status_code=503, headers={"Cache-Control": "no-store"})
        if path:
            candidate = (root / path).resolve()
            if candidate.is_relative_to(root) and candidate.is_file():
                return FileResponse(candidate, headers=_file_headers(path))
            if path.startswith("assets/"):
                # A missing hashed asset is a stale page, not a client route.
                raise HTTPException(status_code=404)
        return FileResponse(index, headers={"Cache-Control": "no-cache", **SECURITY_HEADERS})

    app.add_api_route("/{path:spa_path}", serve, methods=["GET", "HEAD"], include_in_schema=False)


def _file_headers(path: str) -> dict[str, Any]:
    if path.startswith("assets/"):
        return {"Cache-Control": "public, max-age=31536000, immutable", **SECURITY_HEADERS}
    return {"Cache-Control": "no-cache", **SECURITY_HEADERS}

"""The interactive API reference at ``/api/v1/docs``, served from this package.

FastAPI's default page loads Swagger UI from a CDN and starts it with an inline script;
both are refused by the web app's Content-Security-Policy, so the page was blank. Here the
Swagger UI assets come from the ``swagger-ui-bundle-v2`` package (Swagger UI 5, which reads
OpenAPI 3.1) and the start-up script is a file of ours (``docs_assets/init.js``), all under
the same policy as the web app (``api/spa.SECURITY_HEADERS``): nothing is loaded from
elsewhere.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.exceptions import HTTPException
from swagger_ui_bundle import swagger_ui_path

from ztix.api.spa import SECURITY_HEADERS

DOCS_URL = "/api/v1/docs"
ASSETS_URL = f"{DOCS_URL}/assets"
_OWN = Path(__file__).resolve().parent / "docs_assets"
_SWAGGER = Path(str(swagger_ui_path))
# Only these files are served: the name is a key, never a path.
ASSETS: dict[str, tuple[Path, str]] = {
    "swagger-ui-bundle.js": (_SWAGGER / "swagger-ui-bundle.js", "text/javascript"),
    "swagger-ui.css": (_SWAGGER / "swagger-ui.css", "text/css"),
    "favicon-32x32.png": (_SWAGGER / "favicon-32x32.png", "image/png"),
    "init.js": (_OWN / "init.js", "text/javascript"),
}

PAGE = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ZT-IX API reference</title>
<link rel="icon" type="image/png" href="{ASSETS_URL}/favicon-32x32.png">
<link rel="stylesheet" href="{ASSETS_URL}/swagger-ui.css">
</head>
<body>
<main id="swagger-ui"></main>
<noscript>The API reference needs JavaScript; the OpenAPI document is at
<a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</noscript>
<script src="{ASSETS_URL}/swagger-ui-bundle.js"></script>
<script src="{ASSETS_URL}/init.js"></script>
</body>
</html>
"""


def install(app: FastAPI) -> None:
    """Add the page and its assets (not part of the OpenAPI document)."""

    def api_docs() -> Response:
        return HTMLResponse(PAGE, headers={"Cache-Control": "no-cache", **SECURITY_HEADERS})

    def api_docs_asset(name: str) -> Response:
        found = ASSETS.get(name)
        if found is None:
            raise HTTPException(status_code=404)
        path, media_type = found
        return FileResponse(
            path, media_type=media_type, headers={"Cache-Control": "no-cache", **SECURITY_HEADERS}
        )

    app.add_api_route(DOCS_URL, api_docs, methods=["GET", "HEAD"], include_in_schema=False)
    app.add_api_route(
        f"{ASSETS_URL}/{{name}}", api_docs_asset, methods=["GET", "HEAD"], include_in_schema=False
    )

"""The analyst's dashboard (issue 6): one page at `/` and its assets under `/dashboard/`.

The page is plain HTML, CSS and JavaScript modules shipped in the package (`leadflow/static`):
no build step, and no request leaves the machine (the Content-Security-Policy allows only this
origin). Everything it shows comes from the JSON API of CONTRACT 6 and 7, called by the browser.
"""

from __future__ import annotations

import html
from importlib.resources import files

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from leadflow.container import Leadflow
from leadflow.domain.errors import NotFound

STATIC = "static"
PAGE = "index.html"
ASSET_PREFIX = "/dashboard/"
CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def load_assets() -> dict[str, bytes]:
    """Every shipped asset by file name (the page itself excluded), read once."""
    folder = files("leadflow").joinpath(STATIC)
    return {
        entry.name: entry.read_bytes()
        for entry in folder.iterdir()
        if entry.is_file() and any(entry.name.endswith(ext) for ext in CONTENT_TYPES)
    }


def render_page(lf: Leadflow) -> str:
    """The page with this installation's settings filled in (escaped)."""
    template = files("leadflow").joinpath(STATIC).joinpath(PAGE).read_text(encoding="utf-8")
    return template.replace("{{currency}}", html.escape(lf.currency, quote=True)).replace(
        "{{stuck_days}}", str(int(lf.config.stuck_days))
    )


def dashboard_router(lf: Leadflow) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    page = render_page(lf)
    assets = load_assets()

    @router.get("/", response_class=HTMLResponse)
    def dashboard() -> HTMLResponse:
        return HTMLResponse(page, headers=HEADERS)

    @router.get(ASSET_PREFIX + "{name}")
    def asset(name: str) -> Response:
        body = assets.get(name)
        if body is None:
            raise NotFound("no such dashboard asset", {"name": name})
        media_type = next(t for ext, t in CONTENT_TYPES.items() if name.endswith(ext))
        return Response(body, media_type=media_type, headers=HEADERS)

    return router

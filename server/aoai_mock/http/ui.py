"""The live web view at ``/_mock/ui/``: a page of plain HTML, CSS and JavaScript shipped in the package
(``aoai_mock/data/ui/``), with nothing fetched from elsewhere and no build step.

The page's files are served openly: they hold no data. Everything the page shows it reads from the admin API
that scripts use (``GET /_mock/requests?since=<seq>`` polled for the journal, ``/_mock/scenarios``,
``/_mock/faults``, ``/_mock/deployments``), behind the admin key when the mock has one. A browser cannot add a
header to a navigation, so the page asks for the key when a read answers 401, keeps it in the tab's
``sessionStorage`` and sends it as ``x-aoai-mock-admin-key`` on its reads.

Everything a request carried is shown as text, never parsed as markup, and the page's content security
policy allows only its own files and reads from its own origin.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from fastapi import APIRouter
from starlette.responses import RedirectResponse, Response

from aoai_mock.errors import ResourceNotFound

__all__ = ["router", "UI_FILES"]

# The page's files and their media types: only these names are served.
UI_FILES = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
    "icon.svg": "image/svg+xml",
}

_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cache-control": "no-cache",
}

router = APIRouter(prefix="/_mock")


@router.get("/ui")
async def page_folder() -> Response:
    # The page names its files and the API relative to itself, so it works behind a proxy's path prefix too.
    return RedirectResponse("ui/", status_code=307)


@router.get("/ui/")
async def page() -> Response:
    return _file("index.html")


@router.get("/ui/{name}")
async def page_file(name: str) -> Response:
    return _file(name)


def _file(name: str) -> Response:
    media_type = UI_FILES.get(name)
    if media_type is None:
        raise ResourceNotFound()
    return Response(_content(name), media_type=media_type, headers=_HEADERS)


@cache
def _content(name: str) -> bytes:
    """A file of the page, read once (the package's files do not change while it runs)."""
    return (files("aoai_mock") / "data" / "ui" / name).read_bytes()

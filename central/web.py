"""The web pages central serves to people: the visitor page and the officers' page.

Pages are static files plus Janus's own JavaScript client from Debian's libjs-janus-gateway.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from kiosk.protocol import ErrorBody, ErrorCode

PAGES = Path(__file__).resolve().parent / "pages"

# Browser libraries from Debian's packages, served as they are installed (never copied into the project).
# janus.js (libjs-janus-gateway) needs webrtc-adapter's global `adapter` (libjs-webrtc-adapter), as
# Debian's own janus-demos package does.
VENDOR = {
    "janus.js": (Path("/usr/share/javascript/janus-gateway/janus.js"), "libjs-janus-gateway"),
    "adapter.js": (Path("/usr/share/javascript/webrtc-adapter/adapter.js"), "libjs-webrtc-adapter"),
}

# The visit code is in the page's address: no Referer may carry it anywhere. Janus's HTTP API is on
# an origin only known at run time (the grant names it), so `connect-src` cannot list it.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "media-src 'self' blob: mediastream:; connect-src 'self' https: http:; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(self), microphone=(self), geolocation=(), payment=()",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}
# The officers' page never captures anything: watching is receive-only, so camera and microphone are
# refused to it by the browser itself, whatever its script asks for.
OFFICER_PAGE_HEADERS = {
    **PAGE_HEADERS,
    "Permissions-Policy": "camera=(), microphone=(), display-capture=(), geolocation=(), payment=()",
}
STATIC_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache", "Referrer-Policy": "no-referrer"}


class _Static(StaticFiles):
    """Static files with the same safety headers as the page; revalidated on every load."""

    def file_response(self, *args: object, **kwargs: object) -> Response:
        response = super().file_response(*args, **kwargs)  # type: ignore[arg-type]
        response.headers.update(STATIC_HEADERS)
        return response


def mount_web(app: FastAPI) -> None:
    """Adds the pages' routes to central's app."""

    @app.get("/visit", include_in_schema=False)
    def visit_page() -> FileResponse:
        """The page a family member opens from the link they were sent: `/visit?code=<visit code>`."""
        return FileResponse(PAGES / "visit.html", media_type="text/html", headers=PAGE_HEADERS)

    @app.get("/officer", include_in_schema=False)
    def officer_page() -> FileResponse:
        """Facility staff's page: today's visits, silent watching, messages, ending and cancelling visits."""
        return FileResponse(PAGES / "officer.html", media_type="text/html", headers=OFFICER_PAGE_HEADERS)

    @app.get("/vendor/{name}", include_in_schema=False, response_model=None)
    def vendor(name: str) -> FileResponse | JSONResponse:
        if name not in VENDOR:
            body = ErrorBody(code=ErrorCode.INVALID_REQUEST, message=f"no such file: {name}")
            return JSONResponse(body.model_dump(mode="json"), status_code=404)
        path, package = VENDOR[name]
        if not path.is_file():
            body = ErrorBody(code=ErrorCode.MEDIA_UNAVAILABLE, message=f"{name} is missing: install Debian's {package}")
            return JSONResponse(body.model_dump(mode="json"), status_code=503)
        return FileResponse(path, media_type="text/javascript", headers=STATIC_HEADERS)

    app.mount("/pages", _Static(directory=PAGES), name="pages")

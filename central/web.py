"""The web pages central serves to people (the visitor page; officers' pages come next).

Pages are static files plus Janus's own JavaScript client from Debian's libjs-janus-gateway.
"""

from __future__ import annotations

from fastapi import FastAPI


def mount_web(app: FastAPI) -> None:
    """Adds the pages' routes to central's app."""

"""Logging set-up shared by every entry point: one format, and the chatty media libraries quieted.

Log lines carry ids, never PINs, tokens or names; the event types that hold them hide them from repr.
"""

from __future__ import annotations

import logging

_QUIET = ("aioice", "aiortc", "av", "urllib3")


def configure_logging(level: int = logging.INFO) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)

"""An HTTP session that keeps the CA it was given.

requests lets REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE in the environment replace a CA file set on a session, so
a terminal pinned to its facility's CA would trust whatever bundle its environment named instead.
"""

from __future__ import annotations

from typing import Any

import requests


class PinnedSession(requests.Session):
    def __init__(self, verify: bool | str) -> None:
        """`verify`: the CA file (PEM) to trust alone, or True for the system's CAs."""
        super().__init__()
        self.verify = verify

    def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any) -> dict[str, Any]:
        settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if verify is None and isinstance(self.verify, str):
            settings["verify"] = self.verify
        return settings

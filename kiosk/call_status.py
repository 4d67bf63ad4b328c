"""The call's media status, shared by the call engine that reports it and the screens that show it.

Kept apart so the visit state machine does not import aiortc.
"""

import enum


class CallStatus(enum.Enum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    CLOSED = "closed"

"""Janus VideoRoom administration for central: one private, pinned, recorded room per visit.

Only central knows a room's secret and Janus's admin key; participants get the pin alone.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from pathlib import Path

from kiosk.janus_client import JanusError, JanusSession

NO_SUCH_ROOM = 426
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Room:
    room: int
    pin: str
    secret: str


class RoomAdmin:
    def __init__(
        self, janus_url: str, admin_key: str, recordings: Path, verify: bool | str = True, video_cap_kbps: int = 0
    ) -> None:
        """`verify`: the CA file that signs Janus's HTTPS certificate (the facility's), or True for the system's.
        `video_cap_kbps`: what each participant may send (Janus tells their encoders, REMB); 0 for no cap."""
        self._url = janus_url
        self._verify = verify
        self._video_cap_kbps = video_cap_kbps
        self._admin_key = admin_key
        self._recordings = recordings

    def _request(self, body: dict[str, object]) -> dict[str, object]:
        janus = JanusSession(self._url, verify=self._verify)
        janus.create()
        try:
            return janus.request(janus.attach(), body)
        finally:
            janus.destroy()

    def create(self, visit_id: int, recorded: bool, max_participants: int = 4, again: Room | None = None) -> Room:
        """A new room for the visit; `again`: the room Janus lost (it restarted), made anew with the same number, pin
        and secret, so that every participant rejoins it with what it was given. Its recording goes on in new files
        in the visit's folder."""
        room = again or Room(
            room=secrets.randbelow(2**31 - 1) + 1, pin=secrets.token_hex(8), secret=secrets.token_hex(16)
        )
        body: dict[str, object] = {
            "request": "create",
            "room": room.room,
            "description": f"visit {visit_id}",
            "secret": room.secret,
            "pin": room.pin,
            "is_private": True,
            "publishers": max_participants,
            "audiocodec": "opus",
            "opus_fec": True,  # a browser's voice then carries each packet's sound again in the next (in-band FEC)
            "videocodec": "vp8",
            "record": recorded,
            "lock_record": True,
            "admin_key": self._admin_key,
        }
        if self._video_cap_kbps:
            body.update(bitrate=self._video_cap_kbps * 1000, bitrate_cap=True)
        if recorded:
            folder = self._recordings / f"visit-{visit_id}"
            folder.mkdir(parents=True, exist_ok=True)
            body["rec_dir"] = str(folder)
        self._request(body)
        return room

    def exists(self, room: int) -> bool:
        return bool(self._request({"request": "exists", "room": room}).get("exists"))

    def kick_everyone(self, room: int, secret: str, display: str | None = None) -> None:
        """Removes every participant at once (staff ended the visit), before the room is destroyed; with `display`,
        only those of that name (the resident's dead session, after the terminal restarted)."""
        try:
            listed = self._request({"request": "listparticipants", "room": room})
        except JanusError as exc:
            if exc.code == NO_SUCH_ROOM:
                return
            raise
        for participant in listed.get("participants", []):
            if display is not None and participant.get("display") != display:
                continue
            try:
                self._request({"request": "kick", "room": room, "secret": secret, "id": participant["id"]})
            except JanusError as exc:
                log.warning("could not kick a participant of room %s: %s", room, exc)

    def destroy(self, room: int, secret: str) -> None:
        try:
            self._request({"request": "destroy", "room": room, "secret": secret})
        except JanusError as exc:
            if exc.code != NO_SUCH_ROOM:
                raise

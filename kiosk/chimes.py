"""Chimes: every important moment of a visit is also heard in the earpiece, for a person holding the handset
to their ear: which chimes a step of the visit state machine makes (pure, like the audit trail), and a player.

Each chime is two or three soft sine notes (C5 523 Hz, E5 659 Hz, G5 784 Hz, A5 880 Hz: the middle of a
handset's band, so they sound the same on every earpiece), told apart by their pitch pattern:

    CONNECTED          C5 G5      rising, two notes     visitors can hear you now
    RECONNECTING       G5 C5      falling, two notes    the connection is lost for now; hold on
    WARNING            A5 A5      level, two notes      a warning before the visit's end (minutes left)
    HANG_UP_COUNTDOWN  C5 E5 G5   rising, three notes   the handset is hung up: lift it to go on
    STAFF_MESSAGE      E5 A5 E5   up and down, three    staff sent a message: look at the screen
    ENDED              G5 E5 C5   falling, three notes  the visit has ended
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Hashable, Iterable
from functools import cache

import numpy as np

from drivers.earpiece_player import EarpiecePlayer, sine
from drivers.handset import SAMPLE_RATE, Earpiece
from kiosk.call_status import CallStatus
from kiosk.visit_machine import Event, Screen, TerminalState

log = logging.getLogger(__name__)

C5, E5, G5, A5 = 523.25, 659.25, 783.99, 880.0

PEAK_DBFS = -18.0  # well below the visitors' voices: a cue, not an alarm
NOTE_S = 0.18
GAP_S = 0.04  # silence between the notes of a chime (notes and gaps are whole 20 ms blocks)
FADE_IN_S = 0.015
FADE_OUT_S = 0.09  # a long, soft release: a bell dying away rather than a beep cut off
PAUSE_S = 0.3  # silence between two chimes, so that two are never heard as one melody


@enum.unique  # two chimes with the same notes could not be told apart
class Chime(enum.Enum):
    """A chime's value is its notes in Hz, in order."""

    CONNECTED = (C5, G5)
    RECONNECTING = (G5, C5)
    WARNING = (A5, A5)
    HANG_UP_COUNTDOWN = (C5, E5, G5)
    STAFF_MESSAGE = (E5, A5, E5)
    ENDED = (G5, E5, C5)

    @property
    def notes(self) -> tuple[float, ...]:
        return self.value  # type: ignore[no-any-return]


@cache
def chime_samples(chime: Chime) -> np.ndarray:
    """The chime as int16 samples at SAMPLE_RATE: each note NOTE_S long, GAP_S of silence between them."""
    gap = np.zeros(round(GAP_S * SAMPLE_RATE), np.int16)
    parts: list[np.ndarray] = []
    for frequency in chime.notes:
        parts += [gap] if parts else []
        parts.append(sine(frequency, PEAK_DBFS, NOTE_S, FADE_IN_S, FADE_OUT_S))
    samples = np.concatenate(parts)
    samples.flags.writeable = False  # shared by every play of the chime
    return samples


def chimes_for(before: TerminalState, event: Event, after: TerminalState) -> list[Chime]:
    """The chimes one step of the visit state machine makes, from the state before and after it."""
    chimes: list[Chime] = []
    if after.call is CallStatus.CONNECTED and before.call is not CallStatus.CONNECTED:
        chimes.append(Chime.CONNECTED)  # the first time, and again after reconnecting
    if after.call is CallStatus.RECONNECTING and before.call is not CallStatus.RECONNECTING:
        chimes.append(Chime.RECONNECTING)
    if after.warning_s is not None and (before.warning_s is None or after.warning_s < before.warning_s):
        chimes.append(Chime.WARNING)  # a threshold newly crossed; each once
    if after.hangup_deadline is not None and before.hangup_deadline is None:
        # Heard by someone who pressed the hook with a finger (or bumped it) while the handset is still at
        # their ear; someone who put it back on the cradle sees the countdown on the screen instead.
        chimes.append(Chime.HANG_UP_COUNTDOWN)
    if after.staff_message and after.staff_message != before.staff_message:
        chimes.append(Chime.STAFF_MESSAGE)  # a message, or a new one in place of the one shown
    if before.screen is Screen.IN_VISIT and after.screen is Screen.ENDED and after.handset_lifted:
        # Only to a lifted handset: the earpiece of one back on its cradle is against nobody's ear, so the
        # chime would be heard by no one (a visit ended by hanging up is over for a person who left).
        chimes.append(Chime.ENDED)
    return chimes


class ChimePlayer:
    """Plays chimes into the earpiece as their own source, which the earpiece mixes with the visitors' voices.

    One thread, at the pace of real time; a chime asked for while one plays waits (at most `queue_limit`, the
    oldest dropped first); never blocks the caller.
    """

    SOURCE: Hashable = "chime"

    def __init__(self, earpiece: Earpiece, queue_limit: int = 3) -> None:
        self._player = EarpiecePlayer(earpiece, self.SOURCE, "chimes", queue_limit, pause_s=PAUSE_S)

    @property
    def playing(self) -> bool:
        return self._player.playing

    def play(self, chimes: Iterable[Chime]) -> None:
        for chime in chimes:
            log.info("chime: %s", chime.name.lower())
            self._player.play(chime_samples(chime))

    def stop(self) -> None:
        """Silences the chime playing and forgets those waiting."""
        self._player.stop()

    def wait(self, timeout_s: float) -> bool:
        """True once every chime asked for has played."""
        return self._player.wait(timeout_s)

"""Telling central, once a second, what this participant received of the others' video, and obeying its answer.

Janus forwards every sender's video as it came and listens only to the sender's own link, so a sender cannot see
that a receiver's link is too thin for it; central gathers every receiver's report and answers each participant
with the most its video should send (`central.video_caps`). The report covers the time since the last one: the
video's payload that arrived, in kbps, the share of its packets lost on the way (not those a jittery link
only reordered: they are no sign of a link too thin), and how long it queues on the way now
(`kiosk.queue_delay.ArrivalQueue`): a thin link's queue fills up before it overflows and loses anything.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from kiosk.protocol import Reception

log = logging.getLogger(__name__)

RECEPTION_EVERY_S = 1.0
Arrivals = tuple[int, int, int]  # (arrived, missing, payload bytes) of every video stream so far
Tell = Callable[[Reception], int | None]  # blocking: sends the report, returns the cap in kbps (None: no cap)


class ReceptionMeter:
    """What arrived between one reading and the next."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last: tuple[float, Arrivals] | None = None

    def read(self, totals: Arrivals, feeds: int, queue_s: float | None = None) -> Reception | None:
        """The report since the last reading; None for the first."""
        now = self._clock()
        before, self._last = self._last, (now, totals)
        if before is None or now <= before[0]:
            return None
        arrived, missing, payload = (total - earlier for total, earlier in zip(totals, before[1], strict=True))
        expected = arrived + missing
        return Reception(
            video_kbps=round(min(100_000.0, 8 * max(0, payload) / (now - before[0]) / 1000), 1),
            feeds=min(8, feeds),
            lost=round(missing / expected, 4) if expected > 0 and missing > 0 else 0.0,
            queue_ms=None if queue_s is None else min(60_000, round(1000 * queue_s)),
        )


async def share_reception(
    arrivals: Callable[[], tuple[Arrivals, int, float | None]],
    tell: Tell,
    obey: Callable[[int | None], None],
    going_on: Callable[[], bool],
) -> None:
    """Every RECEPTION_EVERY_S while `going_on()`: reads `arrivals()` ((totals, video feeds received, queue)), tells
    central, and passes its answer to `obey`. Central out of reach keeps the last answer: the link is what it was."""
    meter = ReceptionMeter()
    unheard = False
    loop = asyncio.get_running_loop()
    while going_on():
        started = time.monotonic()
        report = meter.read(*arrivals())
        if report is not None:
            try:
                cap = await loop.run_in_executor(None, tell, report)
            except Exception as exc:  # central away, or the visit just ended: the call goes on as it is
                if not unheard:
                    log.info("reception: central did not take the report (%s); the video keeps its cap", exc)
                unheard = True
            else:
                unheard = False
                if going_on():
                    obey(cap)
        await asyncio.sleep(max(0.0, RECEPTION_EVERY_S - (time.monotonic() - started)))

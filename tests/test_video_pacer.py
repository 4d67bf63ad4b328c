"""The video pacer spreads a large frame's packets at 2.5 times the video's bitrate, and lets audio by at once."""

from __future__ import annotations

import asyncio

import pytest

from kiosk.video_pacer import PACING_FACTOR, VideoPacer

VIDEO, AUDIO, RESEND = 0x1111, 0x2222, 0x3333


def _rtp(ssrc: int, size: int) -> bytes:
    return bytes(8) + ssrc.to_bytes(4, "big") + bytes(size - 12)


def _frame_then(packets: int, after_s: float, ssrc: int, size: int) -> list[tuple[float, int]]:
    """A frame of `packets` video packets handed over at once at 400 kbps, and `after_s` later one packet of
    `ssrc`: when each left the pacer (seconds from the start) and whose it was."""

    async def scenario() -> list[tuple[float, int]]:
        loop = asyncio.get_running_loop()
        sent: list[tuple[float, int]] = []

        async def send(data: bytes) -> None:
            sent.append((loop.time(), int.from_bytes(data[8:12], "big")))

        pacer = VideoPacer(send, {VIDEO}, {RESEND}, rate_bps=400_000)
        start = loop.time()
        frame = asyncio.gather(*(pacer.send_rtp(_rtp(VIDEO, 1200)) for _ in range(packets)))
        await asyncio.sleep(after_s)
        await pacer.send_rtp(_rtp(ssrc, size))
        await frame
        return [(at - start, sent_ssrc) for at, sent_ssrc in sent]

    return asyncio.run(scenario())


def test_a_burst_of_video_goes_out_at_the_pace_and_audio_in_between_does_not_wait():
    sent = _frame_then(30, 0.05, AUDIO, 100)  # a 36 kB frame at once, and the voice 50 ms into it
    video = [at for at, ssrc in sent if ssrc == VIDEO]
    audio = next(at for at, ssrc in sent if ssrc == AUDIO)
    spread = 29 * 1200 * 8 / (PACING_FACTOR * 400_000)  # 0.28 s
    assert video[-1] == pytest.approx(spread, abs=0.03)
    assert audio == pytest.approx(0.05, abs=0.01), "the voice went at once, in the middle of the frame"


def test_a_resend_goes_ahead_of_the_frame_waiting():
    sent = _frame_then(10, 0.02, RESEND, 1200)  # 0.09 s of pace, and a resend 20 ms into it
    resent = next(at for at, ssrc in sent if ssrc == RESEND)
    assert resent == pytest.approx(0.02, abs=0.01), "at once, not behind the 70 ms of frame still waiting"
    assert sent[-1][0] == pytest.approx(10 * 1200 * 8 / (PACING_FACTOR * 400_000), abs=0.02), "the frame the later"


def test_a_queue_longer_than_the_link_sends_in_a_fifth_of_a_second_is_congestion():
    async def scenario() -> list[bool]:
        async def send(data: bytes) -> None:
            pass

        pacer = VideoPacer(send, {VIDEO}, {RESEND}, rate_bps=400_000)
        seen = [pacer.congested()]
        frame = asyncio.gather(*(pacer.send_rtp(_rtp(VIDEO, 1200)) for _ in range(30)))  # 0.29 s of pace
        await asyncio.sleep(0)
        seen.append(pacer.congested())
        await frame
        seen.append(pacer.congested())
        return seen

    assert asyncio.run(scenario()) == [False, True, False]


def test_a_resend_that_would_wait_behind_a_long_queue_is_not_sent():
    async def scenario() -> tuple[list[int], int]:
        sent: list[int] = []

        async def send(data: bytes) -> None:
            sent.append(int.from_bytes(data[8:12], "big"))

        pacer = VideoPacer(send, {VIDEO}, {RESEND}, rate_bps=400_000)
        frame = asyncio.gather(*(pacer.send_rtp(_rtp(VIDEO, 1200)) for _ in range(30)))
        await asyncio.sleep(0)
        await pacer.send_rtp(_rtp(RESEND, 1200))  # 0.28 s of frame queued before it: it would come too late
        await frame
        await pacer.send_rtp(_rtp(RESEND, 1200))  # the queue gone: it goes
        return sent, pacer.resends_dropped

    sent, dropped = asyncio.run(scenario())
    assert dropped == 1 and sent.count(RESEND) == 1 and sent.count(VIDEO) == 30


def test_once_the_link_is_known_a_keyframe_goes_no_faster_than_it_carries():
    async def scenario() -> list[float]:
        loop = asyncio.get_running_loop()
        sent: list[float] = []

        async def send(data: bytes) -> None:
            sent.append(loop.time())

        pacer = VideoPacer(send, {VIDEO}, {RESEND}, rate_bps=400_000)
        pacer.link_bps = 400_000
        start = loop.time()
        await asyncio.gather(*(pacer.send_rtp(_rtp(VIDEO, 1200)) for _ in range(10)))
        return [at - start for at in sent]

    sent = asyncio.run(scenario())
    assert sent[-1] == pytest.approx(9 * 1200 * 8 / (1.5 * 400_000), abs=0.02), "at 1.5 x the link's, not 2.5 x 400"

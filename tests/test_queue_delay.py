"""How long the video received queues on its way to us, from each packet's arrival against its frame's RTP
timestamp: a queue holds back every packet, jitter and the sender's own pacing only some."""

from __future__ import annotations

import random

import pytest

from kiosk.queue_delay import BASE_WINDOW_S, RTP_VIDEO_CLOCK, ArrivalQueue, QueueDelay
from tests.manual_clock import ManualClock

FRAME_S = 1 / 30
ORIGIN = 100.0  # the test's clock at the sender's first frame


def _stream(queue: ArrivalQueue, clock: ManualClock, seconds: float, delay, first_timestamp: int = 0) -> None:
    """30 frames a second of three packets each, each packet arriving `delay(frame)` after its frame was taken, in
    the order they arrive (a jittery link reorders them)."""
    start = clock.now
    arrivals = []
    for frame in range(round(seconds / FRAME_S)):
        taken = start + frame * FRAME_S
        timestamp = (first_timestamp + round((taken - ORIGIN) * RTP_VIDEO_CLOCK)) % (1 << 32)
        arrivals += [(taken + delay(frame), timestamp) for _ in range(3)]
    for clock.now, timestamp in sorted(arrivals):
        queue.saw(timestamp)


def test_a_queue_filling_on_the_way_is_read_and_jitter_is_not():
    rng = random.Random(5)
    clock = ManualClock(ORIGIN)
    queue = ArrivalQueue(clock)
    _stream(queue, clock, 12.0, lambda _: 0.08 + rng.uniform(-0.04, 0.04))
    assert queue.now_s() < 0.01, "80 ms ± 40 ms a packet: some come early in every few frames"
    _stream(queue, clock, 1.0, lambda frame: 0.12 + frame * 0.002)  # a queue 2 ms longer each frame
    assert queue.now_s() == pytest.approx(0.1, abs=0.02)


def test_the_timestamps_wrapping_around_mean_nothing():
    clock = ManualClock(ORIGIN)
    queue = ArrivalQueue(clock)
    _stream(queue, clock, 3.0, lambda _: 0.05, first_timestamp=(1 << 32) - RTP_VIDEO_CLOCK)
    assert queue.now_s() == pytest.approx(0.0, abs=0.001)


def test_no_video_for_a_moment_is_no_reading():
    clock = ManualClock(ORIGIN)
    queue = ArrivalQueue(clock)
    assert queue.now_s() is None
    _stream(queue, clock, 1.0, lambda _: 0.05)
    clock.now += 1.0
    assert queue.now_s() is None


def test_the_way_with_no_queue_is_the_least_delay_of_the_last_ten_seconds_only():
    rng = random.Random(5)
    delays = QueueDelay()
    seen: list[tuple[float, float]] = []
    for n in range(3000):  # 30 s at 100 packets a second, a route that gets slower and then faster again
        at, delay = n / 100, 0.02 + 0.01 * abs(15 - n / 100) + rng.uniform(0, 0.03)
        delays.add(at, delay)
        seen.append((at, delay))
        assert delays.least() == min(d for a, d in seen if a >= at - BASE_WINDOW_S)

"""PlayoutMixer: the earpiece's jitter buffer and mixer for the visitors' voices.

Each visitor's audio arrives in bursts (network jitter) and is pushed here per source; the sound card
pulls exactly one block at its own pace. Each source waits until it holds its target before it plays,
so a late packet finds slack instead of a gap. A source that runs dry is carried on by its own last pitch
period (`drivers.time_stretch`), fading out only if nothing comes for a while, until it has refilled. If it ran
dry only briefly, its packets were late, not lost, and it gets a larger target (one block more, up to half the
limit); a long dry spell is a link that dropped out, which more delay would not have helped. After a calm
spell, the smaller target comes back: the delay follows the network instead of always paying for its worst
moment. Delay that no packet needed — a buffer that
never ran as low as its target for a few seconds, or one fuller than `limit` — is taken out a pitch period at a
time where the sound repeats itself or is quiet, so nothing is cut out of a word; only a buffer past twice
the limit is cut at once. Every cut is faded, so late packets make no clicks. Sources that have been silent for a
while are forgotten (a visitor left).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

import numpy as np

from drivers.handset import BLOCK_SAMPLES, SAMPLE_RATE
from drivers.time_stretch import LONGEST_PERIOD, WINDOW, Continuation, without_one_period

FADE_SAMPLES = 96  # 2 ms: long enough to hide a discontinuity, short enough not to be heard as a dip
FORGET_AFTER_S = 2.0
CALM_S = 10.0  # this long without running dry, a raised target steps back down
TRIM_AFTER_S = 4.0  # this long with a block or more never used, the buffer is trimmed by what was spare
HISTORY = 2 * (LONGEST_PERIOD + WINDOW)  # of what each source played: enough to find its pitch period
LATE_NOT_LOST_S = 0.1  # dry for less than this, the packets were late: more slack would have covered it


@dataclass
class _Source:
    target: int
    samples: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    playing: bool = False
    fade_in: bool = True
    crossfade_from: np.ndarray | None = None  # what would have followed a cut, faded into what follows it
    played: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))  # the last HISTORY samples
    continuation: Continuation | None = None  # carrying the voice on while its packets are late
    spare: int = 0  # samples of delay no packet needed, to take out a period at a time
    last_push: float = 0.0
    last_underrun: float = 0.0
    concealed: int = 0  # samples
    shortened: int = 0
    lowest: int = 0  # the fewest samples held after a pull, since `lowest_since`
    lowest_since: float | None = None
    underruns: int = 0
    cuts: int = 0


@dataclass(frozen=True)
class PlayoutStats:
    sources: int
    buffered_ms: float  # the fullest source's buffer: the delay the earpiece adds
    target_ms: float  # the largest target: the delay the earpiece aims for now
    underruns: int
    cuts: int
    concealed_ms: float = 0.0  # carried on by the voice's own pitch period, while its packets were late
    shortened_ms: float = 0.0  # taken out a pitch period at a time


def _ramp(n: int) -> np.ndarray:
    return np.linspace(0.0, 1.0, n, endpoint=False, dtype=np.float32)


class PlayoutMixer:
    def __init__(
        self,
        target_ms: float = 40.0,
        limit_ms: float = 160.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 < target_ms < limit_ms:
            raise ValueError("the jitter buffer needs 0 < target < limit")
        self.target = int(target_ms * SAMPLE_RATE / 1000)
        self.limit = int(limit_ms * SAMPLE_RATE / 1000)
        self.gain = 1.0
        self._clock = clock
        self._sources: dict[Hashable, _Source] = {}
        self._gone = _Source(0)  # the counts of sources forgotten
        self._lock = threading.Lock()

    def push(self, source: Hashable, samples: np.ndarray) -> None:
        """Queues mono int16 samples from one visitor."""
        with self._lock:
            state = self._sources.get(source)
            if state is None:
                state = self._sources[source] = _Source(self.target)
            state.samples = np.concatenate((state.samples, samples.astype(np.float32)))
            state.last_push = self._clock()
            if state.samples.size > 2 * self.limit:
                self._cut(state, state.samples.size - state.target)
            elif state.samples.size > self.limit:
                state.spare = max(state.spare, state.samples.size - state.target)

    def _cut(self, state: _Source, drop: int) -> None:
        if state.playing:
            state.crossfade_from = state.samples[:FADE_SAMPLES].copy()
        state.samples = state.samples[drop:]
        state.cuts += 1

    def pull(self, count: int = BLOCK_SAMPLES) -> np.ndarray:
        """The next `count` samples for the earpiece: every visitor mixed, int16, never blocks."""
        mixed = np.zeros(count, np.float32)
        with self._lock:
            now = self._clock()
            for key, state in list(self._sources.items()):
                mixed += self._take(state, count, now)
                if not state.playing and now - state.last_push > FORGET_AFTER_S:
                    for tally in ("underruns", "cuts", "concealed", "shortened"):
                        setattr(self._gone, tally, getattr(self._gone, tally) + getattr(state, tally))
                    del self._sources[key]
        return np.clip(mixed * self.gain, -32768, 32767).astype(np.int16)

    def _take(self, state: _Source, count: int, now: float) -> np.ndarray:
        if state.target > self.target and now - state.last_underrun > CALM_S:
            state.target -= BLOCK_SAMPLES
            state.last_underrun = now
        if not state.playing:
            # The fade's few samples on top of the target: without them a buffer filled to exactly its
            # target would count as late one block early.
            if state.samples.size < state.target + FADE_SAMPLES:
                return self._carried_on(state, count)  # still filling: the voice carried on, then silence
            state.playing = True
            if state.continuation is not None and now - state.last_underrun < LATE_NOT_LOST_S:
                state.target = min(state.target + BLOCK_SAMPLES, max(self.target, self.limit // 2))
            state.fade_in = state.continuation is None or state.continuation.faded
            if state.continuation is not None and not state.continuation.faded:
                state.crossfade_from = state.continuation.next(FADE_SAMPLES)
            state.continuation = None
        out = np.zeros(count, np.float32)
        have = min(count, state.samples.size)
        out[:have] = state.samples[:have]
        state.samples = state.samples[have:]
        fade = min(FADE_SAMPLES, have)
        if state.fade_in:
            out[:fade] *= _ramp(fade)
            state.fade_in = False
        elif state.crossfade_from is not None:
            before = state.crossfade_from[:fade]
            ramp = _ramp(before.size)
            out[: before.size] = before * (1 - ramp) + out[: before.size] * ramp
        state.crossfade_from = None
        state.played = np.concatenate((state.played, out[:have]))[-HISTORY:]
        if have < count:
            # A late packet: carry the voice on from where it stopped, and refill to a larger target.
            state.playing = False
            state.underruns += 1
            state.last_underrun = now
            state.lowest_since = None
            state.continuation = Continuation(state.played)
            out[have:] = self._carried_on(state, count - have)
        else:
            self._trim_spare(state, now)
            self._shorten(state)
        return out

    def _carried_on(self, state: _Source, count: int) -> np.ndarray:
        if state.continuation is None or state.continuation.faded:
            return np.zeros(count, np.float32)
        state.concealed += count
        return state.continuation.next(count)

    def _trim_spare(self, state: _Source, now: float) -> None:
        """A steady voice runs down to its target, or up to a block under it, before each next packet (as the
        packets and the card's pulls fall); half a block or more that it never ran down to over TRIM_AFTER_S is
        delay that no packet needed."""
        if state.lowest_since is None:
            state.lowest, state.lowest_since = state.samples.size, now
        state.lowest = min(state.lowest, state.samples.size)
        if now - state.lowest_since >= TRIM_AFTER_S:
            if state.lowest - state.target >= BLOCK_SAMPLES // 2:
                state.spare = max(state.spare, state.lowest - state.target)
            state.lowest_since = None

    def _shorten(self, state: _Source) -> None:
        """Takes a pitch period of the spare delay out, where the voice allows (at most one each pull: a voice
        played up to a fifth faster for a moment is not heard as faster)."""
        if state.spare <= 0:
            return
        shorter = without_one_period(state.samples)
        if shorter is None:
            return  # not here: the next pull's stretch may repeat itself, or be quiet
        taken = state.samples.size - shorter.size
        state.samples = shorter
        state.spare -= taken
        state.shortened += taken
        state.lowest -= taken

    def stats(self) -> PlayoutStats:
        with self._lock:
            states = list(self._sources.values())
            return PlayoutStats(
                sources=len(states),
                buffered_ms=max((s.samples.size for s in states), default=0) * 1000 / SAMPLE_RATE,
                target_ms=max((s.target for s in states), default=self.target) * 1000 / SAMPLE_RATE,
                underruns=self._gone.underruns + sum(s.underruns for s in states),
                cuts=self._gone.cuts + sum(s.cuts for s in states),
                concealed_ms=(self._gone.concealed + sum(s.concealed for s in states)) * 1000 / SAMPLE_RATE,
                shortened_ms=(self._gone.shortened + sum(s.shortened for s in states)) * 1000 / SAMPLE_RATE,
            )

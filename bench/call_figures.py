"""The figures of one run of the call bench, for the terminal or for the browser in its place."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

from bench.tone_bursts import HeardBurst, bursts_heard, mouth_to_ear

FREEZE_S = 0.200


@dataclass
class RunFigures:
    cold_start_s: float
    setup_to_painted_s: float  # to the visitor's first frame shown on the subject's screen
    setup_to_visitor_s: float  # to the subject's first frame decoded at the visitor
    to_subject: dict[str, float]  # visitor -> terminal (or browser)
    to_visitor: dict[str, float]
    audio_to_subject: dict[str, float]  # mouth to ear, from `sound_figures`
    audio_to_visitor: dict[str, float]
    cpu_percent: float  # of one core, every process of the subject
    peak_pss_mib: float  # every process of the subject, sampled twice a second
    peak_rss_mib: float = float("nan")  # the terminal's one process; not summed over a browser's many
    subject_sent_kbps: float = math.nan  # everything the subject sent, where its link is counted (a bad link's)
    visitor_sent_kbps: float = math.nan


@dataclass
class Direction:
    """What one receiver saw over the measured seconds: each stamped frame's capture-to-decoded latency and
    arrival, and the arrival of every frame decoded (a codec may blur a stamp beyond reading; the frame still
    came, and counts for the frame rate)."""

    latencies_ms: list[int] = field(default_factory=list)
    arrivals_s: list[float] = field(default_factory=list)
    decoded_s: list[float] = field(default_factory=list)

    def figures(self, seconds: float) -> dict[str, float]:
        """Latency over the frames whose capture time is known (a negative latency marks one that is not)."""
        gaps = [b - a for a, b in zip(self.decoded_s, self.decoded_s[1:], strict=False)]
        freezes = self.freezes()
        return {
            **_spread([latency for latency in self.latencies_ms if latency >= 0]),
            "fps": len(self.decoded_s) / seconds,
            "freezes": len(freezes),
            "frozen_s": sum(length for _, length in freezes),
            "longest_gap_ms": 1000 * max(gaps, default=0.0),
        }

    def freezes(self) -> list[tuple[float, float]]:
        """Each gap between decoded frames over FREEZE_S: when the picture stopped (wall clock) and for how long."""
        return [(a, b - a) for a, b in zip(self.decoded_s, self.decoded_s[1:], strict=False) if b - a > FREEZE_S]


def report_freezes(subject: str, directions: dict[str, Direction], start: float) -> None:
    """Prints when each freeze came, from the start of the measured stretch, so a log can be read beside it."""
    for name, direction in directions.items():
        for at, length in direction.freezes():
            print(f"{subject} run: {name} froze {at - start:.2f} s in, for {1000 * length:.0f} ms", flush=True)


def _spread(latencies_ms: list[int]) -> dict[str, float]:
    ordered = sorted(latencies_ms) or [0]
    return {
        "median_ms": statistics.median(ordered),
        "p95_ms": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
    }


def sound_figures(spoken_s: list[float], heard: list[HeardBurst], start: float, end: float) -> dict[str, float]:
    """Mouth to ear over the tone bursts heard between `start` and `end` (median, 95th percentile), and of those
    spoken meanwhile, how many were heard, in % ("heard_percent"), and how many heard with a cut or cut short."""
    spoken, reached, broken = bursts_heard(spoken_s, heard, start, end)
    latencies_ms = mouth_to_ear(spoken_s, [burst.onset_s for burst in heard], start, end)
    return {
        **_spread(latencies_ms),
        "bursts": len(latencies_ms),
        "heard_percent": 100 * reached / spoken if spoken else math.nan,
        "broken": broken,
    }


def kbps(sent: tuple[int, int] | None, then: tuple[int, int] | None, seconds: float) -> tuple[float, float]:
    """The subject's and the visitor's bitrates from two readings of the bytes they had sent."""
    if sent is None or then is None:
        return math.nan, math.nan
    return 8 * (sent[0] - then[0]) / seconds / 1000, 8 * (sent[1] - then[1]) / seconds / 1000


def window(
    latencies_ms: list[int], arrivals_s: list[float], decoded_s: list[float], start: float, end: float
) -> Direction:
    """The frames that arrived between `start` and `end` (wall clock)."""
    kept = [(lat, at) for lat, at in zip(latencies_ms, arrivals_s, strict=True) if start <= at <= end]
    every = [at for at in decoded_s if start <= at <= end]
    return Direction([lat for lat, _ in kept], [at for _, at in kept], every)

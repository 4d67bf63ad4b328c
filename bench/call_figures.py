"""The figures of one run of the call bench, for the terminal or for the browser in its place."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

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
        return {
            **_spread([latency for latency in self.latencies_ms if latency >= 0]),
            "fps": len(self.decoded_s) / seconds,
            "freezes": len(self.freezes()),
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


def sound_figures(latencies_ms: list[int]) -> dict[str, float]:
    """Mouth to ear over the tone bursts heard: median, 95th percentile, and how many were heard."""
    return {**_spread(latencies_ms), "bursts": len(latencies_ms)}


def window(
    latencies_ms: list[int], arrivals_s: list[float], decoded_s: list[float], start: float, end: float
) -> Direction:
    """The frames that arrived between `start` and `end` (wall clock)."""
    kept = [(lat, at) for lat, at in zip(latencies_ms, arrivals_s, strict=True) if start <= at <= end]
    every = [at for at in decoded_s if start <= at <= end]
    return Direction([lat for lat, _ in kept], [at for _, at in kept], every)

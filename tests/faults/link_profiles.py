"""The bad links the call bench measures a visit on (`./dev.sh bench --link PROFILE`), by name: what each does to
which link, as `tests.faults.link_shaper` applies it.

The subject's link is the terminal's, or the browser's when the browser takes the terminal's place."""

from __future__ import annotations

from dataclasses import dataclass

from tests.faults.link_shaper import Shape


@dataclass(frozen=True)
class LinkProfile:
    name: str
    role: str  # whose link is bad: "terminal" (the subject's) or "visitor"
    shape: Shape
    says: str  # for the bench's table


PROFILES: dict[str, LinkProfile] = {
    profile.name: profile
    for profile in (
        LinkProfile("loss3", "terminal", Shape(loss=0.03), "3 % random loss on the subject's link, both ways"),
        LinkProfile(
            "burst",
            "terminal",
            Shape(burst_every_s=5.0, burst_s=0.2),
            "the subject's link out for 200 ms every 5 s, both ways",
        ),
        LinkProfile(
            "slow",
            "terminal",
            Shape(rate_kbps=500, queue_ms=100),
            "the subject's link capped at 500 kbps each way, with a 100 ms queue",
        ),
        LinkProfile(
            "verylow",
            "terminal",
            Shape(rate_kbps=250, queue_ms=100),
            "the subject's link capped at 250 kbps each way, with a 100 ms queue",
        ),
        LinkProfile(
            "jitter",
            "terminal",
            Shape(delay_ms=80, jitter_ms=40),
            "80 ms ± 40 ms of delay on the subject's link, both ways, each packet its own (so reordered)",
        ),
        LinkProfile(
            "mobile",
            "visitor",
            Shape(rate_kbps=1000, queue_ms=100, loss=0.02, delay_ms=120, jitter_ms=30),
            "the visitor's link only: 1 Mbps each way (100 ms queue), 2 % loss, 120 ms ± 30 ms of delay",
        ),
    )
}

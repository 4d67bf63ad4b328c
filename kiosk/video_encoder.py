"""The call's video encoder: VP8 through PyAV with aiortc's own settings, but one that steps down when the link
cannot carry the picture — a lower bitrate, then a smaller picture, then fewer frames a second unless the visit
keeps them — and below aiortc's floor of 250 kbps.

The bitrate comes from `kiosk.bitrate_control` through `set_target`; Janus's cap (REMB, when a room has one)
arrives through aiortc as `target_bitrate`, and the cap for the participant with the thinnest link (central's
`VideoCap`) through `set_receivers_cap`; the lowest of the three wins. libvpx cannot change its bitrate once open,
so a change makes a new codec (and a keyframe): steps are few, and a change waits for the last one to have
settled. Each step of the ladder says the picture's size and frame rate for a range of bitrates; the visit's
degradation preference chooses the ladder: keep the frame rate (a sign-language visit: hands move fast) or
balance. Balance keeps 30 frames a second down to 100 kbps, as Chromium's camera does: a face that talks at
10-15 frames a second, sharp as it may be, no longer moves its lips with its voice, and on the bench's thin links
the frame rate was where the terminal fell behind Chromium.
"""

from __future__ import annotations

import enum
import fractions
import logging
import multiprocessing
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import av
from aiortc.codecs.vpx import Vp8Encoder, number_of_threads
from aiortc.mediastreams import convert_timebase
from av import VideoFrame
from av.frame import Frame

log = logging.getLogger(__name__)

VIDEO_CLOCK = 90_000
VIDEO_TIME_BASE = fractions.Fraction(1, VIDEO_CLOCK)
START_BPS = 300_000  # as WebRTC starts: aiortc's 500 flooded a 250-500 kbps link for its first seconds
MOST_BPS = 800_000  # a 640x480 picture at 30 fps looks no better above it (a browser sends 600-750 kbps)
LEAST_BPS = 60_000
DOWN_AFTER_S = 1.0  # a lower bitrate waits this long after the last change (each change costs a keyframe)
UP_AFTER_S = 4.0  # a higher one this long
REBUILD_FOR = 0.2  # and a higher one is made only for a change of at least a fifth
REBUILD_DOWN_FOR = 0.1  # a lower one for a tenth: a full link's cut (to 85 % of what arrives) must reach the codec


class Keep(enum.Enum):
    """What the picture keeps when the link thins: a balance (a smaller picture first, as a browser's camera does,
    and fewer frames only on the thinnest links) or its motion whatever it costs (sign language)."""

    BALANCE = "balance"
    FRAME_RATE = "frame rate"


@dataclass(frozen=True)
class Step:
    least_bps: int  # this step is used from this bitrate up
    scale: float  # of the camera's size
    fps: int


LADDERS: dict[Keep, tuple[Step, ...]] = {
    Keep.BALANCE: (Step(300_000, 1.0, 30), Step(170_000, 0.75, 30), Step(100_000, 0.5, 30), Step(0, 0.5, 15)),
    Keep.FRAME_RATE: (Step(300_000, 1.0, 30), Step(170_000, 0.75, 30), Step(0, 0.5, 30)),
}


def _even(value: float) -> int:
    return max(2, int(value) // 2 * 2)  # I420 halves both sides


class SteppedVp8Encoder:
    """aiortc's encoder interface, for VP8."""

    def __init__(
        self, keep: Keep = Keep.BALANCE, start_bps: float = START_BPS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._ladder = LADDERS[keep]
        self._clock = clock
        self._codec: Any = None
        self._codec_bps = 0
        self._codec_made_at = -UP_AFTER_S
        self._wanted_bps = max(LEAST_BPS, min(int(start_bps), MOST_BPS))
        self._cap_bps = MOST_BPS
        self._receivers_cap_bps = MOST_BPS
        self._last_pts: int | None = None
        self._picture_id = random.randint(0, (1 << 15) - 1)
        self.step = self._step_for(self._wanted_bps)
        self.keyframes = 0
        self.congested: Callable[[], bool] = lambda: False  # the pacer's: frames are left out while it holds

    # -- the bitrate ---------------------------------------------------------------------------------------------

    @property
    def target_bitrate(self) -> int:
        return min(self._wanted_bps, self._cap_bps, self._receivers_cap_bps)

    @target_bitrate.setter
    def target_bitrate(self, bitrate: int) -> None:
        """What aiortc sets when Janus sends a cap (REMB): the most this encoder will aim for."""
        self._cap_bps = max(LEAST_BPS, min(int(bitrate), MOST_BPS))

    def set_target(self, bitrate: float) -> None:
        """What the link can carry now, from the bitrate control."""
        self._wanted_bps = max(LEAST_BPS, min(int(bitrate), MOST_BPS))

    def set_receivers_cap(self, bitrate: float | None) -> None:
        """The most the participant with the thinnest link can receive of this video; None: no such limit."""
        self._receivers_cap_bps = MOST_BPS if bitrate is None else max(LEAST_BPS, min(int(bitrate), MOST_BPS))

    def _step_for(self, bitrate: int) -> Step:
        return next(step for step in self._ladder if bitrate >= step.least_bps)

    # -- encoding ------------------------------------------------------------------------------------------------

    def _dropped(self, frame: VideoFrame) -> bool:
        """Whether this frame goes unsent: to keep the step's frame rate (the camera gives 30 a second), or while
        the pacer still holds more than it should (sending it would add to the picture's delay)."""
        if frame.pts is None or frame.time_base is None:
            return False
        if self.congested():
            return True
        pts = convert_timebase(frame.pts, frame.time_base, VIDEO_TIME_BASE)
        if self._last_pts is not None and pts - self._last_pts < VIDEO_CLOCK / self.step.fps * 0.9:
            return True
        self._last_pts = pts
        return False

    def _open(self, width: int, height: int) -> None:
        target = self.target_bitrate
        codec: Any = av.CodecContext.create("libvpx", "w")
        codec.width, codec.height = width, height
        codec.bit_rate = target
        codec.pix_fmt = "yuv420p"
        codec.gop_size = 3000  # keyframes only when asked for
        codec.qmin, codec.qmax = 2, 56
        codec.options = {  # aiortc's real-time settings (CBR)
            "bufsize": str(target),
            "cpu-used": "-6",
            "deadline": "realtime",
            "lag-in-frames": "0",
            "minrate": str(target),
            "maxrate": str(target),
            "noise-sensitivity": "4",
            "overshoot-pct": "15",
            "partitions": "0",
            "static-thresh": "1",
            "undershoot-pct": "100",
        }
        codec.thread_count = number_of_threads(width * height, multiprocessing.cpu_count())
        self._codec, self._codec_bps, self._codec_made_at = codec, target, self._clock()
        log.info("video: %dx%d at %d fps, %d kbps", width, height, self.step.fps, target // 1000)

    def _settle(self, frame: VideoFrame) -> tuple[int, int]:
        """The step and codec for this frame's moment: a new codec when the size or a large enough change of
        bitrate (and enough time since the last) asks for one. Returns the size to send."""
        now, target = self._clock(), self.target_bitrate
        down = target < self._codec_bps
        changed = abs(target - self._codec_bps) / max(1, self._codec_bps) >= (REBUILD_DOWN_FOR if down else REBUILD_FOR)
        wait = DOWN_AFTER_S if down else UP_AFTER_S
        if self._codec is not None and changed and now - self._codec_made_at >= wait:
            self.step = self._step_for(target)
            self._codec = None
        width, height = _even(frame.width * self.step.scale), _even(frame.height * self.step.scale)
        if self._codec is None or (self._codec.width, self._codec.height) != (width, height):
            self._open(width, height)
        return width, height

    def encode(self, frame: Frame, force_keyframe: bool = False) -> tuple[list[bytes], int | None]:
        assert isinstance(frame, VideoFrame)
        if self._dropped(frame) and not force_keyframe:
            return [], None
        width, height = self._settle(frame)
        picture = frame if (frame.width, frame.height) == (width, height) else frame.reformat(width, height)
        if picture.format.name != "yuv420p":
            picture = picture.reformat(format="yuv420p")
        if force_keyframe:
            picture.pict_type = av.video.frame.PictureType.I
            self.keyframes += 1
        data = b"".join(bytes(packet) for packet in self._codec.encode(picture))
        payloads = Vp8Encoder._packetize(data, self._picture_id)
        self._picture_id = (self._picture_id + 1) % (1 << 15)
        return payloads, convert_timebase(frame.pts, frame.time_base, VIDEO_TIME_BASE)

    def pack(self, packet: Any) -> tuple[list[bytes], int]:
        raise NotImplementedError("the call sends the camera, never video coded elsewhere")

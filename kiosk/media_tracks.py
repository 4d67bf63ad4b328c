"""aiortc tracks that carry the terminal's camera and handset microphone into a call.

Video timestamps follow the camera's capture clock. Audio goes as the sound card delivers it (its clock paces
the call); a microphone without a card is paced at exactly 20 ms per block. Audio timestamps count samples.
"""

from __future__ import annotations

import asyncio
import time
from fractions import Fraction

import cv2
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame, VideoFrame

from drivers.camera import Camera, Frame
from drivers.handset import BLOCK_SAMPLES, SAMPLE_RATE, ClockedMicrophone, Microphone
from kiosk.call_quality import FrameTimes
from kiosk.paused_card import paused_card

VIDEO_CLOCK = 90_000
CAMERA_LOST_AFTER_S = 1.0  # also the card's frame interval while the camera is lost


class CameraTrack(MediaStreamTrack):
    kind = "video"

    def __init__(self, camera: Camera, sent: FrameTimes | None = None) -> None:
        """`sent`: counts each picture handed to the encoder (the call's quality report)."""
        super().__init__()
        self._camera = camera
        self._sent = sent
        self._loop = asyncio.get_running_loop()
        self._newest: asyncio.Queue[Frame] = asyncio.Queue(maxsize=1)
        self._epoch: float | None = None
        self._last_pts = -1
        camera.add_listener(self._on_frame)

    def _on_frame(self, frame: Frame) -> None:
        self._loop.call_soon_threadsafe(self._keep_newest, frame)

    def _keep_newest(self, frame: Frame) -> None:
        if self._newest.full():
            self._newest.get_nowait()
        self._newest.put_nowait(frame)

    async def recv(self) -> VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        try:
            frame = await asyncio.wait_for(self._newest.get(), timeout=CAMERA_LOST_AFTER_S)
            image, captured_at = frame.image, frame.captured_at
        except TimeoutError:
            # No frame for a while: the camera is lost. The visitors see a calm card, not a frozen face.
            image, captured_at = paused_card(self._camera.width, self._camera.height), time.monotonic()
        if self._epoch is None:
            self._epoch = captured_at
        pts = max(int((captured_at - self._epoch) * VIDEO_CLOCK), self._last_pts + 1)
        self._last_pts = pts
        video = _encoder_ready(image)
        video.pts = pts
        video.time_base = Fraction(1, VIDEO_CLOCK)
        if self._sent is not None:
            self._sent.frame()
        return video

    def stop(self) -> None:
        self._camera.remove_listener(self._on_frame)
        super().stop()


def _encoder_ready(image: np.ndarray) -> VideoFrame:
    """The RGB frame in the encoder's own format (I420), converted by OpenCV: letting PyAV wrap the RGB frame
    and the encoder convert it cost 1.5 ms a frame, OpenCV's one pass 0.2 ms. The frame then uses OpenCV's
    buffer as it is: copying it into a new frame held Python's lock 0.1 ms more."""
    height, width, _ = image.shape
    if width % 2 or height % 2:
        return VideoFrame.from_ndarray(image, format="rgb24")  # I420 halves both sides
    return VideoFrame.from_numpy_buffer(cv2.cvtColor(image, cv2.COLOR_RGB2YUV_I420), format="yuv420p")


class MicrophoneTrack(MediaStreamTrack):
    kind = "audio"

    def __init__(self, microphone: Microphone) -> None:
        super().__init__()
        self._microphone = microphone
        self._started: float | None = None
        self._samples_sent = 0

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if isinstance(self._microphone, ClockedMicrophone):
            samples = await self._microphone.next_block()
        else:
            samples = await self._paced_block()
        # Stereo, because the Opus encoder would upmix mono with a -3 dB pan law: the visitors would
        # hear the resident 3 dB quieter than the microphone heard them.
        stereo = np.repeat(samples, 2).reshape(1, -1)
        frame = AudioFrame.from_ndarray(stereo, format="s16", layout="stereo")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._samples_sent
        frame.time_base = Fraction(1, SAMPLE_RATE)
        self._samples_sent += BLOCK_SAMPLES
        return frame

    async def _paced_block(self) -> np.ndarray:
        """A block from a microphone without a clock of its own (a simulated one), on the system clock."""
        if self._started is None:
            self._started = time.monotonic()
        due = self._started + self._samples_sent / SAMPLE_RATE
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        return self._microphone.read_block()

"""V4L2Camera: a real camera through OpenCV (V4L2 for a device; any backend for a video file in tests).

A reader thread keeps only the newest frame, stamps it on the capture clock and reopens a lost camera.
"""

from __future__ import annotations

import enum
import logging
import os
import re
import threading
import time
from collections.abc import Callable
from typing import Protocol

import cv2
import numpy as np

from drivers.camera import Frame, FrameSource
from drivers.camera_health import CameraHealth, HealthMonitor

log = logging.getLogger(__name__)

Source = str | int  # a device path (/dev/v4l/by-id/…), a V4L2 index, or a video file (tests, demos)

_MAX_STALE_SKIPS = 10  # OpenCV's V4L2 backend maps at most 10 driver buffers


class Capture(Protocol):
    """The part of cv2.VideoCapture this driver uses (tests give a software camera with the same calls)."""

    def isOpened(self) -> bool: ...

    def set(self, prop: int, value: float) -> bool: ...

    def get(self, prop: int) -> float: ...

    def grab(self) -> bool: ...

    def retrieve(self) -> tuple[bool, np.ndarray | None]: ...

    def release(self) -> None: ...


Opener = Callable[[Source], Capture | None]


def is_device(source: Source) -> bool:
    """A V4L2 device paces itself; anything else is a file that the reader paces to the configured rate."""
    return isinstance(source, int) or source.startswith("/dev/")


def describe(source: Source) -> str:
    """The source for a log line, with any user:password in a URL hidden."""
    return re.sub(r"//[^/@\s]+@", "//***@", str(source))


def open_capture(source: Source) -> Capture | None:
    """Opens `source` with V4L2 for a device and the default backend for a file; None when it cannot."""
    path = f"/dev/video{source}" if isinstance(source, int) else source
    if not os.path.exists(path):
        return None  # unplugged, or not written yet: no need to ask OpenCV (which would log a warning)
    if is_device(source):
        capture = cv2.VideoCapture(source, cv2.CAP_V4L2)
        real = os.path.realpath(source) if isinstance(source, str) else ""
        match = re.fullmatch(r"/dev/video(\d+)", real)
        if not capture.isOpened() and match:
            # Some OpenCV builds open V4L2 devices by index only: /dev/v4l/by-id/… -> /dev/videoN -> N.
            capture.release()
            capture = cv2.VideoCapture(int(match[1]), cv2.CAP_V4L2)
    else:
        capture = cv2.VideoCapture(source)
    if capture.isOpened():
        return capture
    capture.release()
    return None


class _Outcome(enum.Enum):
    STOPPED = "stopped"
    FAILED = "failed"  # the device stopped answering: release it and reopen with backoff
    ENDED = "ended"  # a file that does not loop has no more frames


def _to_rgb(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


class V4L2Camera(FrameSource):
    """A camera on V4L2 (or a video file played like one) with the Camera interface and health()."""

    def __init__(
        self,
        source: Source,
        width: int = 640,
        height: int = 480,
        fps: float = 30.0,
        *,
        loop: bool = False,
        buffers: int = 1,
        lost_after_s: float = 2.0,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 8.0,
        opener: Opener = open_capture,
    ) -> None:
        self.width, self.height, self.fps = width, height, fps
        self.source = source
        self._name = describe(source)
        super().__init__(self._name)
        self._device = is_device(source)
        self._loop = loop
        self._buffers = buffers
        self._lost_after_s = lost_after_s
        self._backoff = (backoff_initial_s, backoff_max_s)
        self._opener = opener
        self._monitor = HealthMonitor(fps, lost_after_s=lost_after_s)
        self._next_index = 0
        self._last_captured_at = 0.0
        self._in_outage = False  # the reader thread has logged a problem and not yet the recovery
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the Camera interface ---------------------------------------------------------------------

    def start(self) -> None:
        """Returns at once; the reader thread opens the camera, and keeps trying if it cannot."""
        if self._thread is None:
            self._stop = threading.Event()  # each run has its own, so a slow old thread cannot be revived
            self._monitor.starting()
            self._thread = threading.Thread(target=self._run, args=(self._stop,), name="v4l2-camera", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=3)
            if self._thread.is_alive():
                log.warning(
                    "camera %s: the reader is still blocked in a read; it will close when it returns", self._name
                )
            self._thread = None
        self._monitor.failed("the camera is stopped")

    def health(self) -> CameraHealth:
        """The measured frame rate, the newest frame's age and ok / degraded / lost; any thread."""
        return self._monitor.health()

    # -- the reader thread ------------------------------------------------------------------------

    def _run(self, stop: threading.Event) -> None:
        initial, ceiling = self._backoff
        backoff = initial
        while not stop.is_set():
            capture = self._open()
            if capture is None:
                self._report_problem(f"cannot open {self._name}", f"retrying with backoff up to {ceiling:g} s")
                if stop.wait(backoff):
                    break
                backoff = min(backoff * 2, ceiling)
                continue
            if stop.is_set():
                capture.release()
                break
            self._monitor.opened()
            try:
                outcome, problem, delivered = self._stream(capture, stop)
            finally:
                capture.release()
            if outcome is _Outcome.STOPPED:
                break
            if outcome is _Outcome.ENDED:
                self._report_problem(problem, "")
                break
            self._report_problem(problem, "reopening")
            if delivered:
                backoff = initial
            if stop.wait(backoff):
                break
            backoff = min(backoff * 2, ceiling)

    def _report_problem(self, problem: str, next_step: str) -> None:
        """Health says lost at once; the log says so once per outage, not at every retry."""
        self._monitor.failed(problem)
        if not self._in_outage:
            self._in_outage = True
            log.warning("camera %s: %s%s", self._name, problem, f"; {next_step}" if next_step else "")

    def _open(self) -> Capture | None:
        try:
            capture = self._opener(self.source)
        except cv2.error as exc:
            log.debug("camera %s: open raised %s", self._name, exc)
            return None
        if capture is not None and self._device:
            # FOURCC first: the sizes and rates a camera offers depend on the pixel format.
            capture.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*"MJPG"))
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
            capture.set(cv2.CAP_PROP_FPS, self.fps)
            capture.set(cv2.CAP_PROP_BUFFERSIZE, self._buffers)
            fourcc = int(capture.get(cv2.CAP_PROP_FOURCC))
            log.info(
                "camera %s: opened %dx%d at %g fps, %s",
                self._name,
                int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
                int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
                capture.get(cv2.CAP_PROP_FPS),
                fourcc.to_bytes(4, "little").decode("ascii", "replace"),
            )
        return capture

    def _stream(self, capture: Capture, stop: threading.Event) -> tuple[_Outcome, str, int]:
        """Reads until the capture fails, ends or the camera stops; returns why, and how many frames came."""
        interval = 1.0 / self.fps
        next_at = last_good = previous_grab = time.monotonic()
        delivered = 0
        size_checked = False
        while not stop.is_set():
            if not self._device:
                # A file would be read as fast as it decodes: read it at the camera's rate instead.
                delay = next_at - time.monotonic()
                if delay > 0 and stop.wait(delay):
                    break
            began = time.monotonic()
            grabbed = capture.grab()
            grabbed_at = time.monotonic()
            if not grabbed:
                if self._device:
                    return _Outcome.FAILED, "the camera stopped delivering frames", delivered
                if not self._loop:
                    return _Outcome.ENDED, "the video file ended", delivered
                if not (capture.set(cv2.CAP_PROP_POS_FRAMES, 0) and capture.grab()):
                    return _Outcome.FAILED, "the video file cannot be read again from its start", delivered
                grabbed_at = time.monotonic()
            elif self._device and began - previous_grab > 1.5 * interval:
                # The reader was late (a slow listener, a loaded machine): the driver's buffers may hold
                # frames captured while it was away. Drop them rather than send a burst of old pictures.
                fresh_at = self._skip_stale(capture, interval, began, grabbed_at)
                if fresh_at is None:
                    return _Outcome.FAILED, "the camera stopped delivering frames", delivered
                grabbed_at = fresh_at
            previous_grab = grabbed_at
            if stop.is_set():
                break
            ok, image = capture.retrieve()
            if not ok or image is None:
                if time.monotonic() - last_good > self._lost_after_s:
                    return _Outcome.FAILED, f"no readable frame for {self._lost_after_s:g} s", delivered
                continue
            rgb = _to_rgb(image)
            if not size_checked:
                size_checked = True
                if rgb.shape[:2] != (self.height, self.width):
                    log.warning(
                        "camera %s: delivers %dx%d, not the %dx%d asked for",
                        self._name,
                        rgb.shape[1],
                        rgb.shape[0],
                        self.width,
                        self.height,
                    )
            last_good = grabbed_at
            self._deliver(rgb, grabbed_at)
            delivered += 1
            if self._in_outage:
                self._in_outage = False
                log.info("camera %s: frames flow again", self._name)
            if not self._device:
                # A fixed schedule, so the rate does not drift; but after a stall (this frame was grabbed more
                # than half an interval late) start a new one from this frame instead of bursting to catch up.
                next_at += interval
                if next_at < grabbed_at + interval / 2:
                    next_at = grabbed_at + interval
        return _Outcome.STOPPED, "", delivered

    @staticmethod
    def _skip_stale(capture: Capture, interval: float, began: float, grabbed_at: float) -> float | None:
        """Grabs again while grabs return at once (that frame was already waiting); the last grab's time."""
        for _ in range(_MAX_STALE_SKIPS):
            if grabbed_at - began >= interval / 4:
                break  # this grab waited for the sensor: its frame is fresh
            began = time.monotonic()
            if not capture.grab():
                return None
            grabbed_at = time.monotonic()
        return grabbed_at

    def _deliver(self, image: np.ndarray, grabbed_at: float) -> None:
        captured_at = max(grabbed_at, self._last_captured_at + 1e-6)
        self._last_captured_at = captured_at
        frame = Frame(image=image, index=self._next_index, captured_at=captured_at)
        self._next_index += 1
        self._monitor.frame(captured_at)
        self.publish(frame)

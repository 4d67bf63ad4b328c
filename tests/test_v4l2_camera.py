"""V4L2Camera through OpenCV's real decode path: a stamped MJPG file made here plays like a camera.

A software USB camera (driver buffers filled by a sensor clock) covers what only a device does: stale
buffers after a stall, a silent device, an unplug and a replug.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest

from drivers.camera import Frame
from drivers.camera_health import CameraState, HealthMonitor
from drivers.frame_stamp import FrameStamp, read_stamp, write_stamp
from drivers.v4l2_camera import Source, V4L2Camera, describe, is_device
from kiosk.media_tracks import VIDEO_CLOCK, CameraTrack

FPS = 30.0
INTERVAL = 1 / FPS
WIDTH, HEIGHT = 640, 480
FILE_FRAMES = 60
RED = (255, 0, 0)  # RGB; painted under the stamp so a BGR/RGB mix-up shows


def write_stamped_video(path: Path, frames: int, width: int = WIDTH, height: int = HEIGHT) -> Path:
    """An MJPG .avi whose frame k carries the stamp k, written elsewhere and moved in at once."""
    partial = path.with_name(path.name + ".partial.avi")
    writer = cv2.VideoWriter(str(partial), cv2.VideoWriter.fourcc(*"MJPG"), FPS, (width, height))
    assert writer.isOpened()
    for counter in range(frames):
        bgr = np.full((height, width, 3), 96, np.uint8)
        bgr[-40:] = RED[::-1]
        write_stamp(bgr, FrameStamp(counter, counter))
        writer.write(bgr)
    writer.release()
    os.replace(partial, path)
    return path


def counter_of(image: np.ndarray) -> int:
    stamp = read_stamp(image)
    assert stamp is not None, "the stamp did not survive the decode"
    return stamp.counter


def wait_until(condition: Callable[[], bool], timeout: float, step: float = 0.01) -> float:
    """Seconds it took for `condition` to hold; fails the test after `timeout`."""
    began = time.monotonic()
    while not condition():
        if time.monotonic() - began > timeout:
            raise AssertionError(f"not within {timeout} s")
        time.sleep(step)
    return time.monotonic() - began


class Recorder:
    """A frame listener that keeps what it got and when."""

    def __init__(self) -> None:
        self.frames: list[Frame] = []
        self.received_at: list[float] = []

    def __call__(self, frame: Frame) -> None:
        self.received_at.append(time.monotonic())
        self.frames.append(frame)

    def captured(self) -> list[float]:
        return [f.captured_at for f in self.frames]


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_stamped_video(tmp_path_factory.mktemp("camera") / "stamped.avi", FILE_FRAMES)


Start = Callable[[V4L2Camera], V4L2Camera]


@pytest.fixture
def started() -> Iterator[Start]:
    cameras: list[V4L2Camera] = []

    def start(camera: V4L2Camera) -> V4L2Camera:
        cameras.append(camera)
        camera.start()
        return camera

    yield start
    for camera in cameras:
        camera.stop()


# -- a video file played like a camera -------------------------------------------------------------


def playing(video: Path, started: Start) -> tuple[V4L2Camera, Recorder]:
    """A looping recording played like a camera, once its first frame has arrived."""
    recorder = Recorder()
    camera = V4L2Camera(str(video), WIDTH, HEIGHT, FPS, loop=True)
    camera.add_listener(recorder)
    started(camera)
    wait_until(lambda: len(recorder.frames) > 0, 3)
    return camera, recorder


def test_file_plays_at_the_camera_rate_in_rgb_with_stamps_in_order(video: Path, started: Start) -> None:
    camera, recorder = playing(video, started)
    began = time.monotonic()
    time.sleep(2.0)
    in_window = [t for t in recorder.captured() if began < t <= began + 2.0]
    health = camera.health()
    wait_until(lambda: len(recorder.frames) >= FILE_FRAMES + 3, 2)  # the whole file, and into its next pass
    camera.stop()
    fps = len(in_window) / 2.0
    print(f"file camera: {fps:.1f} fps over 2 s; health {health}")
    assert 27 <= fps <= 30.5
    assert health.state is CameraState.OK and health.fps >= 27

    frames = recorder.frames
    assert camera.latest() is frames[-1]
    assert [f.index for f in frames] == list(range(len(frames)))
    for frame in (frames[0], frames[len(frames) // 2], frames[-1]):
        assert frame.image.shape == (HEIGHT, WIDTH, 3) and frame.image.dtype == np.uint8
        assert np.abs(frame.image[-20, WIDTH // 2].astype(int) - RED).max() < 40
    counters = [counter_of(f.image) for f in frames]
    assert counters[:FILE_FRAMES] == list(range(FILE_FRAMES))  # the whole file, in order
    assert counters[FILE_FRAMES:] == list(range(len(counters) - FILE_FRAMES))  # then again from its start


def test_listeners_get_every_frame_and_a_removed_one_gets_no_more(video: Path, started: Start) -> None:
    kept, removed = Recorder(), Recorder()
    camera = V4L2Camera(str(video), WIDTH, HEIGHT, FPS, loop=True)
    camera.add_listener(kept)
    camera.add_listener(removed)
    started(camera)
    wait_until(lambda: len(removed.frames) >= 10, 3)
    camera.remove_listener(removed)
    at_removal = len(removed.frames)
    wait_until(lambda: len(kept.frames) >= at_removal + 10, 3)
    camera.stop()
    assert len(removed.frames) <= at_removal + 1  # at most the frame being delivered as it was removed
    assert [f.index for f in kept.frames] == list(range(len(kept.frames)))
    assert [f.index for f in removed.frames] == list(range(len(removed.frames)))


def test_a_missing_file_is_lost_and_recovers_when_it_appears(tmp_path: Path, started: Start) -> None:
    path = tmp_path / "later.avi"
    camera = started(V4L2Camera(str(path), WIDTH, HEIGHT, FPS, loop=True))
    wait_until(lambda: camera.health().detail.startswith("cannot open"), 1)
    health = camera.health()
    assert health.state is CameraState.LOST and health.frame_age_s is None
    assert camera.latest() is None
    time.sleep(0.7)  # two attempts have failed (at 0 and 0.5 s); the next is 1 s later
    write_stamped_video(path, FILE_FRAMES)
    took = wait_until(lambda: camera.health().state is CameraState.OK, 3)
    print(f"missing file: back to ok {took:.2f} s after it appeared")
    frame = camera.latest()
    assert frame is not None and counter_of(frame.image) < FILE_FRAMES


def test_a_file_that_ends_without_looping_is_lost(tmp_path: Path, started: Start) -> None:
    short = write_stamped_video(tmp_path / "short.avi", 15)
    recorder = Recorder()
    camera = V4L2Camera(str(short), WIDTH, HEIGHT, FPS, lost_after_s=1.0)
    camera.add_listener(recorder)
    started(camera)
    wait_until(lambda: camera.health().state is CameraState.OK, 2)
    wait_until(lambda: camera.health().state is CameraState.LOST, 2)
    lost_after = time.monotonic() - recorder.frames[-1].captured_at
    assert lost_after <= 1.0 + 0.2
    assert [counter_of(f.image) for f in recorder.frames] == list(range(15))
    time.sleep(0.6)
    assert camera.health().state is CameraState.LOST and len(recorder.frames) == 15  # it did not start again


@pytest.mark.slow  # 3 s of real-time capture: over this long, the drift allowed (one frame) is 1.1 %
def test_capture_times_follow_the_clock_without_drift(video: Path, started: Start) -> None:
    camera, recorder = playing(video, started)
    time.sleep(3.0)
    camera.stop()
    captured = np.array(recorder.captured())
    gaps = np.diff(captured)
    assert (gaps > 0).all()
    mean_gap = (captured[-1] - captured[0]) / (len(captured) - 1)
    drift = (captured[-1] - captured[0]) - (len(captured) - 1) * INTERVAL
    delivery = np.array(recorder.received_at) - captured
    print(
        f"capture clock: {len(captured)} frames, mean gap {mean_gap * 1000:.2f} ms, drift {drift * 1000:+.1f} ms "
        f"over {captured[-1] - captured[0]:.2f} s, gaps {gaps.min() * 1000:.1f}..{gaps.max() * 1000:.1f} ms, "
        f"capture to listener median {np.median(delivery) * 1000:.2f} ms"
    )
    assert abs(mean_gap - INTERVAL) < 0.02 * INTERVAL
    assert abs(drift) < INTERVAL
    assert (delivery >= 0).all() and np.median(delivery) < 0.010


def test_a_stall_is_followed_by_the_newest_frame_not_a_burst(video: Path, started: Start) -> None:
    recorder = Recorder()
    stalled = threading.Event()

    def slow_once(frame: Frame) -> None:  # breaks the listener contract on purpose: a 400 ms stall
        if frame.index == 10 and not stalled.is_set():
            stalled.set()
            time.sleep(0.4)

    camera = V4L2Camera(str(video), WIDTH, HEIGHT, FPS, loop=True)
    camera.add_listener(recorder)
    camera.add_listener(slow_once)
    started(camera)
    wait_until(lambda: len(recorder.frames) >= 30, 4)
    camera.stop()
    gaps = np.diff(recorder.captured())
    assert gaps[10] >= 0.4  # the stall itself
    after = gaps[11:]
    print(f"after a stall: gaps {after.min() * 1000:.1f}..{after.max() * 1000:.1f} ms")
    assert after.min() >= 0.4 * INTERVAL
    assert abs(after.mean() - INTERVAL) < 0.1 * INTERVAL


# -- a device: a software USB camera behind the same calls as cv2.VideoCapture ----------------------


class SoftwareUsbCamera:
    """A sensor clock at `fps` that fills up to `buffers` driver buffers, as the kernel does.

    A frame that finds every buffer full is dropped; grab() hands out the oldest filled buffer at once or
    waits for the sensor. silence() makes grabs time out; unplug() makes grabs and opens fail.
    """

    def __init__(self, fps: float = FPS, buffers: int = 4, width: int = 320, height: int = 240) -> None:
        self.interval = 1 / fps
        self.buffers = buffers
        self.width, self.height = width, height
        # OpenCV's V4L2 backend waits 10 s; shorter keeps the tests short. Above 0.9 s: a silent device is lost
        # (after 0.6 s in its test) while its read still blocks.
        self.read_timeout = 1.0
        self.unplugged = False
        self.silent = False
        self.opens: list[float] = []
        self.settings: dict[int, float] = {}
        self._epoch = time.monotonic()
        self._next = 0
        self._filled: list[int] = []
        self._current = -1
        self._lock = threading.Lock()

    def captured_at(self, k: int) -> float:
        return self._epoch + k * self.interval

    def open(self, source: Source) -> SoftwareUsbCamera | None:
        self.opens.append(time.monotonic())
        if self.unplugged:
            return None
        with self._lock:
            self._filled.clear()
            self._next = max(self._next, int((time.monotonic() - self._epoch) / self.interval) + 1)
        return self

    def _sense(self, now: float) -> None:
        while self.captured_at(self._next) <= now:
            if not self.silent and len(self._filled) < self.buffers:
                self._filled.append(self._next)
            self._next += 1

    # the calls V4L2Camera makes on a cv2.VideoCapture

    def isOpened(self) -> bool:
        return not self.unplugged

    def set(self, prop: int, value: float) -> bool:
        self.settings[prop] = value
        return True

    def get(self, prop: int) -> float:
        return self.settings.get(prop, 0.0)

    def grab(self) -> bool:
        waited = 0.0
        while True:
            if self.unplugged:
                return False
            with self._lock:
                self._sense(time.monotonic())
                if self._filled:
                    self._current = self._filled.pop(0)
                    return True
                wait = self.captured_at(self._next) - time.monotonic()
            if waited >= self.read_timeout:
                return False
            step = min(max(wait, 0.0) + 0.0002, 0.05)
            time.sleep(step)
            waited += step

    def retrieve(self) -> tuple[bool, np.ndarray | None]:
        image = np.full((self.height, self.width, 3), 80, np.uint8)
        write_stamp(image, FrameStamp(self._current, 0))
        return True, image

    def release(self) -> None:
        pass


DEVICE = "/dev/v4l/by-id/usb-Test_Camera_0001-video-index0"


def device_camera(usb: SoftwareUsbCamera, **options: float) -> V4L2Camera:
    return V4L2Camera(DEVICE, usb.width, usb.height, FPS, opener=usb.open, **options)


def test_a_device_is_asked_for_mjpg_at_the_configured_size_and_rate(started: Start) -> None:
    usb = SoftwareUsbCamera()
    camera = started(device_camera(usb))
    wait_until(lambda: camera.latest() is not None, 2)
    assert is_device(DEVICE) and is_device(0) and not is_device("/tmp/x.avi")
    assert usb.settings == {
        cv2.CAP_PROP_FOURCC: cv2.VideoWriter.fourcc(*"MJPG"),
        cv2.CAP_PROP_FRAME_WIDTH: 320,
        cv2.CAP_PROP_FRAME_HEIGHT: 240,
        cv2.CAP_PROP_FPS: FPS,
        cv2.CAP_PROP_BUFFERSIZE: 1,
    }
    assert describe("rtsp://user:secret@cam.local/stream") == "rtsp://***@cam.local/stream"


def test_after_a_stall_a_device_skips_its_stale_buffers(started: Start) -> None:
    usb = SoftwareUsbCamera(buffers=4)
    recorder = Recorder()
    stalled = threading.Event()

    def slow_once(frame: Frame) -> None:  # a 300 ms stall: four buffers fill with old frames meanwhile
        if frame.index == 10 and not stalled.is_set():
            stalled.set()
            time.sleep(0.3)

    camera = device_camera(usb)
    camera.add_listener(recorder)
    camera.add_listener(slow_once)
    started(camera)
    wait_until(lambda: len(recorder.frames) >= 30, 4)
    camera.stop()
    errors = np.array([f.captured_at - usb.captured_at(counter_of(f.image)) for f in recorder.frames])
    captured = np.array(recorder.captured())
    after = captured[11]  # the first frame after the stall
    burst = int(((captured >= after) & (captured < after + 0.2)).sum())
    print(
        f"device: captured_at minus sensor time median {np.median(errors) * 1000:.2f} ms, "
        f"max {errors.max() * 1000:.1f} ms; {burst} frames in the 200 ms after the stall"
    )
    assert errors.min() >= 0 and np.median(errors) < 0.005
    assert errors.max() < INTERVAL  # without skipping, the frames after the stall would be ~300 ms old
    assert burst <= 7  # 6 at 30 fps; without skipping, 4 old ones come first


def test_a_silent_device_is_lost_while_its_read_blocks_then_comes_back(started: Start) -> None:
    usb = SoftwareUsbCamera()
    camera = started(device_camera(usb, lost_after_s=0.6))
    wait_until(lambda: camera.health().state is CameraState.OK, 2)
    usb.silent = True
    took = wait_until(lambda: camera.health().state is CameraState.LOST, 2)
    assert 0.5 <= took <= 0.9 and camera.health().detail.startswith("no frame for")
    wait_until(lambda: len(usb.opens) >= 2, 3)  # the read timed out: the device was closed and opened again
    usb.silent = False
    wait_until(lambda: camera.health().state is CameraState.OK, 3)


def test_an_unplugged_device_is_reopened_with_backoff(started: Start) -> None:
    usb = SoftwareUsbCamera()
    camera = started(device_camera(usb, backoff_initial_s=0.25))  # the terminal's own starts at 0.5 s
    wait_until(lambda: camera.health().state is CameraState.OK, 2)
    unplugged_at = time.monotonic()
    usb.unplugged = True
    wait_until(lambda: camera.health().state is CameraState.LOST, 0.5)
    time.sleep(1.25)  # opens fail 0.25 s and 0.75 s after the loss; the next try is 1 s later
    usb.unplugged = False
    replugged_at = time.monotonic()
    wait_until(lambda: camera.health().state is CameraState.OK, 3)
    retries = [t - unplugged_at for t in usb.opens[1:]]
    print(f"unplug: reopen attempts at {[round(t, 2) for t in retries]} s; ok {time.monotonic() - replugged_at:.2f} s")
    assert len(retries) == 3 and np.allclose(np.diff(retries), [0.5, 1.0], atol=0.15)  # 0.25 s, doubling


# -- health rules on a synthetic clock -------------------------------------------------------------


def test_health_rules() -> None:
    monitor = HealthMonitor(FPS, lost_after_s=2.0)
    monitor.starting(now=100.0)
    assert monitor.health(now=100.5).state is CameraState.DEGRADED
    assert monitor.health(now=102.5).state is CameraState.LOST  # it never opened
    monitor.opened(now=103.0)
    assert monitor.health(now=103.1).detail == "waiting for the first frame"
    for k in range(90):  # 3 s at 30 fps
        monitor.frame(103.1 + k * INTERVAL)
    end = 103.1 + 89 * INTERVAL
    steady = monitor.health(now=end + 0.01)
    assert steady.state is CameraState.OK and 29 <= steady.fps <= 30.5 and steady.frame_age_s == 0.01
    assert monitor.health(now=end + 0.8).state is CameraState.DEGRADED  # a stall: frozen video
    assert monitor.health(now=end + 2.1).state is CameraState.LOST
    for k in range(1, 40):  # then 12 fps
        monitor.frame(end + k / 12)
    slow = monitor.health(now=end + 39 / 12)
    assert slow.state is CameraState.DEGRADED and 11 <= slow.fps <= 13
    monitor.failed("cannot open /dev/video0", now=end + 4)
    lost = monitor.health(now=end + 4)
    assert lost.state is CameraState.LOST and lost.detail == "cannot open /dev/video0"


# -- into a call: the aiortc track's timestamps follow the capture clock ----------------------------


def test_camera_track_pts_follow_the_capture_clock(video: Path, started: Start) -> None:
    recorder = Recorder()
    camera = V4L2Camera(str(video), WIDTH, HEIGHT, FPS)  # one pass: each stamp names one capture
    camera.add_listener(recorder)

    async def receive(count: int) -> list[tuple[int, int, float]]:
        track = CameraTrack(camera)
        started(camera)
        got = []
        try:
            for _ in range(count):
                video_frame = await asyncio.wait_for(track.recv(), timeout=2)
                assert video_frame.time_base == Fraction(1, VIDEO_CLOCK)
                image = video_frame.to_ndarray(format="rgb24")
                got.append((video_frame.pts, counter_of(image), time.monotonic()))
        finally:
            track.stop()
        return got

    got = asyncio.run(receive(45))
    captured = {counter_of(f.image): f.captured_at for f in recorder.frames}
    pts = np.array([p for p, _, _ in got])
    first = captured[got[0][1]]
    expected = np.array([(captured[c] - first) * VIDEO_CLOCK for _, c, _ in got])
    received = np.array([t for _, _, t in got])
    drift_ms = ((pts[-1] - pts[0]) / VIDEO_CLOCK - (received[-1] - received[0])) * 1000
    step = np.diff(pts).mean()
    print(
        f"track: {len(got)} frames, pts step {step:.0f} ticks (90 kHz), "
        f"pts minus capture clock max {np.abs(pts - expected).max():.1f} ticks, pts vs receive clock {drift_ms:+.1f} ms"
    )
    assert (np.diff(pts) > 0).all()
    assert np.abs(pts - expected).max() <= 1  # pts are the capture times, to the tick
    assert abs(step - VIDEO_CLOCK / FPS) < 0.05 * VIDEO_CLOCK / FPS
    assert abs(drift_ms) < 20

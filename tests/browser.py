"""Debian's Chromium, headless, driven through Playwright for Python, for tests of the pages central
serves: its fake camera plays a looping .y4m file of stamped frames, and it never goes online.
"""

from __future__ import annotations

import base64
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from playwright.sync_api import BrowserContext, Page, Playwright, ViewportSize, sync_playwright

from central.server_process import CentralProcess
from drivers.frame_stamp import FrameStamp, age_ms, read_stamp
from drivers.simulated_camera import SimulatedCamera
from drivers.y4m import write_y4m
from tests.conftest import kiosk_config
from tests.terminal_harness import HarnessTerminal

CHROMIUM = Path("/usr/bin/chromium")
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
_PLAY_WITHOUT_A_TOUCH = ["--autoplay-policy=no-user-gesture-required"]


class ChromiumMissing(RuntimeError):
    """Debian's `chromium` package is not installed."""


def fake_camera_file(folder: Path, label: str, frames: int = 90) -> Path:
    """A .y4m file of `frames` stamped 640x480 frames (counters 0 to frames-1) for Chromium's fake camera."""
    camera = SimulatedCamera(label=label, tint=(120, 70, 110))
    return write_y4m(folder / "fake-camera.y4m", camera, frames)


def chromium_args(video: Path) -> list[str]:
    return [
        "--no-sandbox",
        "--headless=new",
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-features=Translate,MediaRouter,OptimizationHints",
    ]


class HeadlessChromium:
    """One Chromium with a fresh profile in `profile`; `start()` opens a page, `stop()` closes everything.

    Everything the page writes to its console is kept in `console`, to print when a test fails.
    """

    def __init__(
        self,
        video: Path,
        profile: Path,
        sound: bool = False,
        bypass_csp: bool = False,
        executable: Path = CHROMIUM,
        more_args: tuple[str, ...] = (),
    ) -> None:
        """`sound`: it plays what the page plays to the default sound output, without waiting for a touch.
        `bypass_csp`: scripts injected into the page may load their own code (the call bench's audio worklet).
        `executable`: what starts Chromium (a script that runs it in another network namespace, say)."""
        if not CHROMIUM.exists():
            raise ChromiumMissing("Chromium is not installed: run 'apt-get install chromium'.")
        self._executable = executable
        self._more_args = more_args
        self._video = video
        self._profile = profile
        self._sound = sound
        self._bypass_csp = bypass_csp
        self._playwright: Playwright | None = None
        self._context: BrowserContext | None = None
        self.console: list[str] = []

    def start(self) -> Page:
        shutil.rmtree(self._profile, ignore_errors=True)
        self._profile.mkdir(parents=True)
        self._playwright = sync_playwright().start()
        try:
            self._context = self._playwright.chromium.launch_persistent_context(
                str(self._profile),
                executable_path=str(self._executable),
                headless=True,
                args=[*chromium_args(self._video), *(_PLAY_WITHOUT_A_TOUCH if self._sound else []), *self._more_args],
                ignore_default_args=["--mute-audio"] if self._sound else None,
                bypass_csp=self._bypass_csp,
                viewport=VIEWPORT,
                permissions=["camera", "microphone"],
                timeout=30_000,
            )
        except Exception:
            self.stop()
            raise
        page = self._context.pages[0] if self._context.pages else self._context.new_page()
        page.on("console", lambda message: self.console.append(f"{message.type}: {message.text}"))
        page.on("pageerror", lambda error: self.console.append(f"page error: {error}"))
        page.on("requestfailed", lambda request: self.console.append(f"request failed: {request.url}"))
        page.on("response", lambda r: r.status >= 400 and self.console.append(f"HTTP {r.status}: {r.url}"))
        return page

    def stop(self) -> None:
        context, self._context = self._context, None
        playwright, self._playwright = self._playwright, None
        if context is not None:
            context.close()
        if playwright is not None:
            playwright.stop()
        shutil.rmtree(self._profile, ignore_errors=True)


# The top rows of the frame a <video> shows now, as a lossless PNG (a data URL), and when it was read.
_GRAB_FRAME = """(selector) => {
  const video = document.querySelector(selector);
  if (!video || !video.videoWidth) return null;
  const canvas = document.createElement("canvas");
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  canvas.getContext("2d").drawImage(video, 0, 0);
  return { at: Date.now(), png: canvas.toDataURL("image/png") };
}"""


@dataclass(frozen=True)
class ShownFrame:
    """The stamp of the frame a `<video>` showed, and its age then: capture (sender's clock) to shown."""

    stamp: FrameStamp
    age_ms: int


def shown_frame(page: Page, selector: str) -> ShownFrame | None:
    """The stamped frame a `<video>` element shows now (None when it shows no video or no stamp).

    The age is right only when the sender stamped its wall clock on this machine (a `SimulatedCamera`).
    """
    grabbed: dict[str, Any] | None = page.evaluate(_GRAB_FRAME, selector)
    if grabbed is None:
        return None
    png = base64.b64decode(grabbed["png"].partition(",")[2])
    image = cv2.imdecode(np.frombuffer(png, dtype=np.uint8), cv2.IMREAD_COLOR)
    stamp = None if image is None else read_stamp(image)
    if stamp is None:
        return None
    return ShownFrame(stamp, age_ms(stamp.sent_ms, int(grabbed["at"]) % (1 << 32)))


def stamped_frame(page: Page, selector: str, timeout_s: float) -> ShownFrame:
    """The first frame the `<video>` element shows with a readable stamp, within `timeout_s`: VP8 can blur one
    frame's stamp beyond reading (the call bench counts about one in thirty), which is no fault of the video."""
    deadline = time.monotonic() + timeout_s
    while (frame := shown_frame(page, selector)) is None:
        if time.monotonic() > deadline:
            raise AssertionError(f"no stamped frame in {selector} within {timeout_s:.0f} s")
        time.sleep(0.05)
    return frame


@pytest.fixture
def terminal() -> Iterator[Callable[[CentralProcess], HarnessTerminal]]:
    """Makes terminal cores (simulated devices) for a central; stops them after the test."""
    made: list[HarnessTerminal] = []

    def make(central: CentralProcess) -> HarnessTerminal:
        kiosk = HarnessTerminal.for_central(kiosk_config(central.url, central.state / "terminal-token"), central)
        made.append(kiosk)
        return kiosk

    yield make
    for kiosk in made:
        kiosk.stop()


def hook(page: Page, name: str) -> object:
    """A value the page exposes on `window` for tests."""
    return page.evaluate(f"window.{name}")


def shown(page: Page) -> str:
    """The text a person sees now (visible elements only)."""
    return page.locator("body").inner_text()

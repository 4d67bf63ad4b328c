"""The handset's microphone and earpiece through PortAudio (sounddevice): 48 kHz, mono, 20 ms blocks.

The device is chosen by part of its name, as sounddevice matches names. PortAudio freezes its device
list when it starts, so after the handset is replugged `restart()` re-initialises PortAudio (which stops
every stream in the process; the terminal has no others).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import sounddevice as sd

from drivers.audio_analysis import LevelMeter
from drivers.handset import BLOCK_SAMPLES, SAMPLE_RATE
from drivers.playout_mixer import PlayoutMixer

log = logging.getLogger(__name__)

PRIME_BLOCKS = 2  # the microphone's slack against the sound card's uneven wake-ups
MAX_BLOCKS = 5  # more than this is clock drift or a stall: drop back to the slack, never grow the delay
SILENT_AFTER_S = 0.5  # no callback for this long: the device has gone
XRUNS_DEGRADED = 5  # over the last XRUN_WINDOW_S
XRUN_WINDOW_S = 10.0


class AudioDeviceMissing(RuntimeError):
    """No PortAudio device matches the configured name (or more than one does)."""


class AudioState(StrEnum):
    OK = "ok"
    DEGRADED = "degraded"
    LOST = "lost"


@dataclass(frozen=True)
class AudioHealth:
    state: AudioState
    detail: str


def reinitialise_portaudio() -> None:
    """Makes PortAudio scan the devices again; every open stream must be closed first."""
    sd._terminate()
    sd._initialize()


def find_device(name: str, kind: str) -> tuple[int, str]:
    """The index and full name of the one `kind` ('input' or 'output') device whose name contains `name`."""
    try:
        found: Any = sd.query_devices(name, kind=kind)
    except ValueError as exc:
        raise AudioDeviceMissing(f"no single sound {kind} matches {name!r}: {exc}") from exc
    return int(found["index"]), str(found["name"])


class PortAudioMicrophone:
    def __init__(self) -> None:
        self.meter = LevelMeter()
        self._blocks: deque[np.ndarray] = deque()
        self._primed = False
        self._lock = threading.Lock()
        self.underruns = 0
        self.dropped = 0

    def captured(self, block: np.ndarray) -> None:
        """Called from PortAudio's thread with each block the microphone hears."""
        self.meter.add(block)
        with self._lock:
            self._blocks.append(block.copy())
            if len(self._blocks) > MAX_BLOCKS:
                while len(self._blocks) > PRIME_BLOCKS:
                    self._blocks.popleft()
                    self.dropped += 1

    def read_block(self) -> np.ndarray:
        with self._lock:
            if not self._primed and len(self._blocks) >= PRIME_BLOCKS:
                self._primed = True
            if self._primed and self._blocks:
                return self._blocks.popleft()
            if self._primed:
                self._primed = False
                self.underruns += 1
        return np.zeros(BLOCK_SAMPLES, np.int16)

    def level_dbfs(self) -> float:
        return self.meter.level_dbfs()

    def reset(self) -> None:
        with self._lock:
            self._blocks.clear()
            self._primed = False


class PortAudioEarpiece:
    def __init__(self, mixer: PlayoutMixer) -> None:
        self.mixer = mixer

    def play(self, source: Hashable, samples: np.ndarray) -> None:
        self.mixer.push(source, samples)


class PortAudioHandsetAudio:
    """Both directions of the handset's audio, their streams and their health."""

    def __init__(self, name: str, mixer: PlayoutMixer | None = None) -> None:
        self.name = name
        self.microphone = PortAudioMicrophone()
        self.earpiece = PortAudioEarpiece(mixer or PlayoutMixer())
        self.device_names: tuple[str, str] = ("", "")
        self._streams: list[sd.InputStream | sd.OutputStream] = []
        self._last_callback = 0.0
        self._xruns: deque[float] = deque()
        self._failure = ""
        self._lock = threading.Lock()

    def start(self) -> None:
        """Opens the microphone and earpiece streams; AudioDeviceMissing when the handset is not there."""
        input_index, input_name = find_device(self.name, "input")
        output_index, output_name = find_device(self.name, "output")
        common = {"samplerate": SAMPLE_RATE, "channels": 1, "dtype": "int16", "blocksize": BLOCK_SAMPLES}
        try:
            streams = [
                sd.InputStream(device=input_index, callback=self._on_input, latency="low", **common),
                sd.OutputStream(device=output_index, callback=self._on_output, latency="low", **common),
            ]
            self._last_callback = time.monotonic()
            for stream in streams:
                stream.start()
        except sd.PortAudioError as exc:
            raise AudioDeviceMissing(f"the handset {self.name!r} would not open: {exc}") from exc
        with self._lock:
            self._streams, self._failure = streams, ""
        self.device_names = (input_name, output_name)
        log.info("handset audio open: in %r, out %r", input_name, output_name)

    def stop(self) -> None:
        with self._lock:
            streams, self._streams = self._streams, []
        for stream in streams:
            try:
                stream.close()
            except sd.PortAudioError as exc:
                log.warning("closing a handset stream failed: %s", exc)
        self.microphone.reset()

    def restart(self) -> None:
        """After a replug: PortAudio is re-initialised so it sees the device again, then both streams reopen."""
        self.stop()
        reinitialise_portaudio()
        try:
            self.start()
        except AudioDeviceMissing as exc:
            with self._lock:
                self._failure = str(exc)
            raise

    def _on_input(self, indata: np.ndarray, frames: int, _time: Any, status: sd.CallbackFlags) -> None:
        self._note(status)
        self.microphone.captured(indata[:, 0])

    def _on_output(self, outdata: np.ndarray, frames: int, _time: Any, status: sd.CallbackFlags) -> None:
        self._note(status)
        outdata[:, 0] = self.earpiece.mixer.pull(frames)

    def _note(self, status: sd.CallbackFlags) -> None:
        now = time.monotonic()
        self._last_callback = now
        if status.input_overflow or status.output_underflow:
            self._xruns.append(now)

    def health(self) -> AudioHealth:
        now = time.monotonic()
        while self._xruns and now - self._xruns[0] > XRUN_WINDOW_S:
            self._xruns.popleft()
        with self._lock:
            failure, running = self._failure, bool(self._streams)
        if failure or not running:
            return AudioHealth(AudioState.LOST, failure or "not open")
        silent_for = now - self._last_callback
        if silent_for > SILENT_AFTER_S:
            return AudioHealth(AudioState.LOST, f"no sound from {self.device_names[0]!r} for {silent_for:.1f} s")
        playout = self.earpiece.mixer.stats()
        detail = f"{self.device_names[0]}, mic {self.microphone.level_dbfs():.0f} dBFS, {playout.buffered_ms:.0f} ms"
        if len(self._xruns) > XRUNS_DEGRADED:
            return AudioHealth(AudioState.DEGRADED, f"{len(self._xruns)} dropouts in {XRUN_WINDOW_S:.0f} s; {detail}")
        return AudioHealth(AudioState.OK, detail)

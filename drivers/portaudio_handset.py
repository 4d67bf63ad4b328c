"""The handset's microphone and earpiece through PortAudio (sounddevice): 48 kHz, mono, 20 ms blocks.

The streams run in a child process (drivers.audio_process), so a handset pulled out mid-stream can
never hang or spin the terminal: when the microphone falls silent the process is killed, and `restart()`
starts a fresh one, which sees the replugged device because its PortAudio is initialised anew.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import queue
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass
from enum import StrEnum
from typing import IO

import numpy as np

from drivers.audio_analysis import LevelMeter
from drivers.audio_wire import (
    ERROR,
    MIC,
    PLAY,
    RAW_MICROPHONE,
    READY,
    STATS,
    VOLUME,
    AudioDeviceMissing,
    Treatment,
    WireError,
    json_payload,
    play_payload,
    read_message,
    write_message,
)
from drivers.handset import BLOCK_SAMPLES
from drivers.playout_mixer import PlayoutStats

log = logging.getLogger(__name__)

__all__ = ["AudioDeviceMissing", "AudioHealth", "AudioState", "PortAudioHandsetAudio"]

MAX_BLOCKS = 5  # blocks the call has not taken yet; more is a stall, and the oldest are dropped
NEXT_BLOCK_WAIT_S = 0.1
SILENT_AFTER_S = 0.5  # no microphone block for this long: the device has gone
START_TIMEOUT_S = 10.0
XRUNS_DEGRADED = 5  # over the last XRUN_WINDOW_S
XRUN_WINDOW_S = 10.0
STDERR_LINES_LOGGED = 20  # PortAudio can print thousands of lines a second while a device fails


# PortAudio devices that are sound servers, not a sound card: udev cannot see whether the handset behind one
# is plugged in, so only the sound itself (SILENT_AFTER_S) tells.
SOUND_SERVERS = frozenset({"pulse", "pipewire", "jack", "default"})


def through_sound_server(handset_audio: str) -> bool:
    return handset_audio.casefold() in SOUND_SERVERS


class AudioState(StrEnum):
    OK = "ok"
    DEGRADED = "degraded"
    LOST = "lost"


@dataclass(frozen=True)
class AudioHealth:
    state: AudioState
    detail: str


class PortAudioMicrophone:
    """The handset's microphone as the call sends it: each block the moment the sound card delivers it.

    The card's clock paces the call (`next_block`): a sender pacing itself on the system clock would need
    blocks of slack against the card's uneven wake-ups, and every block of slack is 20 ms more mouth-to-ear.
    """

    def __init__(self) -> None:
        self.meter = LevelMeter()
        self._blocks: deque[np.ndarray] = deque(maxlen=MAX_BLOCKS)  # a stalled sender drops the oldest
        self._waiter: tuple[asyncio.AbstractEventLoop, asyncio.Future[np.ndarray]] | None = None
        self._lock = threading.Lock()

    def captured(self, block: np.ndarray) -> None:
        """Each block the microphone hears, as it arrives from the audio process."""
        self.meter.add(block)
        with self._lock:
            waiter, self._waiter = self._waiter, None
            if waiter is None:
                self._blocks.append(block)
        if waiter is not None:
            loop, future = waiter
            with contextlib.suppress(RuntimeError):  # its loop has closed: the call is over
                loop.call_soon_threadsafe(_resolve, future, block)

    async def next_block(self) -> np.ndarray:
        """The next block the card delivers; silence if none comes within NEXT_BLOCK_WAIT_S (the handset has
        gone, and the call goes on without it)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._blocks:
                return self._blocks.popleft()
            future: asyncio.Future[np.ndarray] = loop.create_future()
            self._waiter = (loop, future)
        try:
            return await asyncio.wait_for(future, NEXT_BLOCK_WAIT_S)
        except TimeoutError:
            with self._lock:
                if self._waiter is not None and self._waiter[1] is future:
                    self._waiter = None
            return np.zeros(BLOCK_SAMPLES, np.int16)

    def read_block(self) -> np.ndarray:
        """The oldest block not yet taken, or silence."""
        with self._lock:
            return self._blocks.popleft() if self._blocks else np.zeros(BLOCK_SAMPLES, np.int16)

    def level_dbfs(self) -> float:
        return self.meter.level_dbfs()

    def reset(self) -> None:
        with self._lock:
            self._blocks.clear()


def _resolve(future: asyncio.Future[np.ndarray], block: np.ndarray) -> None:
    if not future.done():  # it may have timed out meanwhile
        future.set_result(block)


Outgoing = queue.Queue[tuple[bytes, bytes] | None]  # messages to the audio process; None ends its sender


class PortAudioEarpiece:
    """Hands each visitor's samples to the audio process, whose mixer plays them at the card's pace."""

    def __init__(self) -> None:
        self._ids: dict[Hashable, int] = {}
        self._next_id = itertools.count(1)
        self._outgoing: Outgoing | None = None
        self.latest = PlayoutStats(sources=0, buffered_ms=0.0, target_ms=0.0, underruns=0, cuts=0)
        self.gain = 1.0  # sent again to each new audio process

    def attach(self, outgoing: Outgoing | None) -> None:
        """Sends to a new audio process from now on (None: to none); the old sender is told to end."""
        old, self._outgoing = self._outgoing, outgoing
        if old is not None:
            with contextlib.suppress(queue.Full):
                old.put_nowait(None)  # when full, its sender is not waiting and ends on the broken pipe
        if outgoing is not None and self.gain != 1.0:
            outgoing.put_nowait((VOLUME, json_payload(self.gain)))  # a new process starts at the person's volume

    def play(self, source: Hashable, samples: np.ndarray) -> None:
        outgoing = self._outgoing
        if outgoing is None:
            return  # no handset right now: the sound is lost, as it would be in a pulled-out earpiece
        number = self._ids.setdefault(source, next(self._next_id))
        with contextlib.suppress(queue.Full):  # the audio process is stuck; the health check replaces it
            outgoing.put_nowait((PLAY, play_payload(number, samples)))

    def set_volume(self, gain: float) -> None:
        self.gain = gain
        outgoing = self._outgoing
        if outgoing is not None:
            with contextlib.suppress(queue.Full):
                outgoing.put_nowait((VOLUME, json_payload(gain)))

    def stats(self) -> PlayoutStats:
        return self.latest

    def delay_s(self) -> float:
        return self.latest.buffered_ms / 1000


class PortAudioHandsetAudio:
    """Both directions of the handset's audio, the process that plays them, and their health."""

    def __init__(self, name: str, noise_suppression: bool = True) -> None:
        self.name = name
        self._noise_suppression = noise_suppression
        self.voice = Treatment.AS_SPOKEN  # how the microphone's sound is treated (drivers.voice_cleaner)
        self.microphone = PortAudioMicrophone()
        self.earpiece = PortAudioEarpiece()
        self.device_names: tuple[str, str] = ("", "")
        self._process: subprocess.Popen[bytes] | None = None
        self._last_block = 0.0
        self._xruns: deque[tuple[float, int]] = deque()
        self._failure = ""
        self._lock = threading.Lock()
        self._restarting = threading.Lock()

    def start(self) -> None:
        """Starts the audio process; AudioDeviceMissing (with PortAudio's reason) when the handset is not there."""
        process = subprocess.Popen(
            # setpriv: the kernel kills the process if the terminal dies, even mid-spin. It is tied to the thread
            # that starts it, not the whole terminal: start it from one that lives as long as the handset.
            [
                *("setpriv", "--pdeathsig", "KILL", "--", sys.executable, "-m", "drivers.audio_process", self.name),
                *(() if self._noise_suppression else (RAW_MICROPHONE,)),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert process.stdin is not None and process.stdout is not None and process.stderr is not None
        threading.Thread(target=_log_stderr, args=(process.stderr,), name="audio-stderr", daemon=True).start()
        first = _first_message(process)
        if first is None or first[0] != READY:
            process.kill()
            process.wait()
            reason = first[1].decode(errors="replace") if first else "the audio process ended at start"
            with self._lock:
                self._failure = reason
            raise AudioDeviceMissing(reason)
        names = json.loads(first[1])
        self.device_names = (names["input"], names["output"])
        outgoing: Outgoing = queue.Queue(maxsize=50)
        with self._lock:
            self._process, self._failure, self._last_block = process, "", time.monotonic()
        threading.Thread(target=self._receive, args=(process,), name="audio-receive", daemon=True).start()
        threading.Thread(target=_send, args=(process.stdin, outgoing), name="audio-play", daemon=True).start()
        self.earpiece.attach(outgoing)
        log.info("handset audio open: in %r, out %r", *self.device_names)

    def stop(self) -> None:
        self.earpiece.attach(None)
        with self._lock:
            process, self._process = self._process, None
        if process is not None:
            process.kill()
            process.wait()
        self.microphone.reset()

    @property
    def running(self) -> bool:
        """Whether an audio process is alive (a lost one is killed at the first health check)."""
        with self._lock:
            return self._process is not None and self._process.poll() is None

    def restart(self) -> None:
        """After a replug or a stall: a fresh audio process, whose PortAudio sees the device again. One at a
        time: udev's report of a replug and the health watch may both ask at once."""
        with self._restarting:
            self.stop()
            self.start()

    def _receive(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        try:
            while (message := read_message(process.stdout)) is not None:
                kind, payload = message
                if kind == MIC:
                    self._last_block = time.monotonic()
                    self.microphone.captured(np.frombuffer(payload, "<i2").astype(np.int16))
                elif kind == STATS:
                    stats = json.loads(payload)
                    self._note_xruns(stats.pop("xruns"))
                    self._note_voice(Treatment(stats.pop("voice")))
                    self.earpiece.latest = PlayoutStats(**stats)
        except (WireError, ValueError, TypeError, KeyError) as exc:
            log.error("the audio process sent something unreadable: %s", exc)
            process.kill()

    def _note_voice(self, treatment: Treatment) -> None:
        if treatment is not self.voice:
            log.info("the microphone's sound: %s", treatment)
        self.voice = treatment

    def _note_xruns(self, total: int) -> None:
        now = time.monotonic()
        self._xruns.append((now, total))
        while now - self._xruns[0][0] > XRUN_WINDOW_S:
            self._xruns.popleft()

    def health(self) -> AudioHealth:
        """LOST when the microphone falls silent (the audio process is then killed, so it cannot spin)."""
        with self._lock:
            process, failure = self._process, self._failure
        if process is None:
            return AudioHealth(AudioState.LOST, failure or "not open")
        silent_for = time.monotonic() - self._last_block
        if process.poll() is not None or silent_for > SILENT_AFTER_S:
            process.kill()
            return AudioHealth(AudioState.LOST, f"no sound from {self.device_names[0]!r} for {silent_for:.1f} s")
        playout = self.earpiece.stats()
        level = self.microphone.level_dbfs()
        heard = f"mic {level:.0f} dBFS" if level > -120 else "mic silent"
        detail = f"{self.device_names[0]}, {heard}, playout buffer {playout.buffered_ms:.0f} ms"
        if self.voice is not Treatment.AS_SPOKEN:
            detail += f", voice {self.voice}"
        recent = self._xruns[-1][1] - self._xruns[0][1] if self._xruns else 0
        if recent > XRUNS_DEGRADED:
            return AudioHealth(AudioState.DEGRADED, f"{recent} dropouts in {XRUN_WINDOW_S:.0f} s; {detail}")
        return AudioHealth(AudioState.OK, detail)


def _first_message(process: subprocess.Popen[bytes]) -> tuple[bytes, bytes] | None:
    """READY or ERROR from a starting audio process, or None if it says nothing in time."""
    answer: list[tuple[bytes, bytes] | None] = [None]

    def read() -> None:
        assert process.stdout is not None
        with contextlib.suppress(WireError):
            answer[0] = read_message(process.stdout)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(START_TIMEOUT_S)
    if reader.is_alive():
        process.kill()  # hung while opening the device
    message = answer[0]
    return message if message is None or message[0] in (READY, ERROR) else None


def _send(pipe: IO[bytes], outgoing: Outgoing) -> None:
    try:
        while (payload := outgoing.get()) is not None:
            write_message(pipe, *payload)  # type: ignore[arg-type]
    except (BrokenPipeError, ValueError, OSError):
        pass  # the process ended; a new one gets a new sender


def _log_stderr(pipe: IO[bytes]) -> None:
    """Logs what the audio process prints, but only so much: a failing PortAudio repeats itself endlessly."""
    count = 0
    for line in pipe:
        count += 1
        if count <= STDERR_LINES_LOGGED:
            log.warning("audio process: %s", line.decode(errors="replace").rstrip())
    if count > STDERR_LINES_LOGGED:
        log.warning("audio process: %d more lines not logged", count - STDERR_LINES_LOGGED)

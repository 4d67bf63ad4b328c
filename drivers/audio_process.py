"""The handset audio process: PortAudio streams for the microphone and the earpiece, and the playout mixer.

PortAudio lives in this child process, not in the terminal, because its ALSA back end can spin forever
when a USB sound device is pulled out mid-stream (PortAudio issue 1037, in Debian 12's 19.6): the
terminal kills this process and starts a fresh one, which also gives a replugged handset a freshly
initialised PortAudio. Run as `python -m drivers.audio_process NAME [--raw-microphone]`; it speaks
drivers.audio_wire on stdin/stdout and ends when stdin closes. The microphone's sound is cleaned here
(drivers.voice_cleaner), off the terminal's own loop, unless `--raw-microphone` says not to.
"""

from __future__ import annotations

import contextlib
import queue
import sys
import threading
import time
from dataclasses import asdict
from typing import Any, BinaryIO

import numpy as np
import sounddevice as sd

from drivers import audio_wire as wire
from drivers.audio_wire import AudioDeviceMissing
from drivers.handset import BLOCK_SAMPLES, SAMPLE_RATE
from drivers.playout_mixer import PlayoutMixer
from drivers.voice_cleaner import VoiceCleaner

STATS_EVERY_S = 0.25
OUTPUT_PERIOD = BLOCK_SAMPLES // 2  # 10 ms


def find_device(name: str, kind: str) -> tuple[int, str]:
    """The index and full name of the one `kind` ('input' or 'output') device whose name contains `name`."""
    try:
        found: Any = sd.query_devices(name, kind=kind)
    except ValueError as exc:
        raise AudioDeviceMissing(f"no single sound {kind} matches {name!r}: {exc}") from exc
    return int(found["index"]), str(found["name"])


class HandsetStreams:
    def __init__(self, name: str, out: BinaryIO, cleaner: VoiceCleaner | None) -> None:
        self.mixer = PlayoutMixer()
        self._cleaner = cleaner
        self.xruns = 0
        self._out = out
        self._outgoing: queue.Queue[tuple[bytes, bytes]] = queue.Queue(maxsize=50)
        input_index, self.input_name = find_device(name, "input")
        output_index, self.output_name = find_device(name, "output")
        common = {"samplerate": SAMPLE_RATE, "channels": 1, "dtype": "int16", "latency": "low"}
        try:
            self._streams = [
                sd.InputStream(device=input_index, callback=self._on_input, blocksize=BLOCK_SAMPLES, **common),
                # PortAudio keeps two periods queued for the card: half-blocks halve what that adds to the delay.
                sd.OutputStream(device=output_index, callback=self._on_output, blocksize=OUTPUT_PERIOD, **common),
            ]
        except sd.PortAudioError as exc:
            raise AudioDeviceMissing(f"the handset {name!r} would not open: {exc}") from exc

    def start(self) -> None:
        ready = {"input": self.input_name, "output": self.output_name}
        self._outgoing.put((wire.READY, wire.json_payload(ready)))  # first, and through the one writer
        try:
            for stream in self._streams:
                stream.start()
        except sd.PortAudioError as exc:
            raise AudioDeviceMissing(f"the handset would not start: {exc}") from exc
        threading.Thread(target=self._send, name="audio-send", daemon=True).start()
        threading.Thread(target=self._report, name="audio-stats", daemon=True).start()

    def _on_input(self, indata: np.ndarray, frames: int, _time: Any, status: sd.CallbackFlags) -> None:
        self.xruns += bool(status.input_overflow)
        with contextlib.suppress(queue.Full):  # the terminal is not reading: its own health check notices
            self._outgoing.put_nowait((wire.MIC, indata[:, 0].astype("<i2").tobytes()))

    def _on_output(self, outdata: np.ndarray, frames: int, _time: Any, status: sd.CallbackFlags) -> None:
        self.xruns += bool(status.output_underflow)
        outdata[:, 0] = self.mixer.pull(frames)

    def _send(self) -> None:
        # One writer, so the sound card's callbacks never wait on the pipe.
        while True:
            kind, payload = self._outgoing.get()
            # PortAudio keeps to the block size it was given; were it ever not to, the block goes out as it is.
            if kind == wire.MIC and self._cleaner is not None and len(payload) == 2 * BLOCK_SAMPLES:
                payload = self._cleaner.clean(np.frombuffer(payload, "<i2")).astype("<i2").tobytes()
            wire.write_message(self._out, kind, payload)

    def _report(self) -> None:
        while True:
            time.sleep(STATS_EVERY_S)
            voice = self._cleaner.treatment if self._cleaner is not None else wire.Treatment.AS_SPOKEN
            stats = {**asdict(self.mixer.stats()), "xruns": self.xruns, "voice": str(voice)}
            self._outgoing.put((wire.STATS, wire.json_payload(stats)))


def main() -> int:
    name, options = sys.argv[1], sys.argv[2:]
    cleaner = None if wire.RAW_MICROPHONE in options else VoiceCleaner()
    out, commands = sys.stdout.buffer, sys.stdin.buffer
    try:
        streams = HandsetStreams(name, out, cleaner)
        streams.start()
    except AudioDeviceMissing as exc:
        wire.write_message(out, wire.ERROR, str(exc).encode())
        return 3
    try:
        while (message := wire.read_message(commands)) is not None:
            kind, payload = message
            if kind == wire.PLAY:
                streams.mixer.push(*wire.parse_play(payload))
            elif kind == wire.VOLUME:
                streams.mixer.gain = wire.parse_volume(payload)
    except wire.WireError:
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

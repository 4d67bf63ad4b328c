"""A real PulseAudio server for the test session, with two null sinks in place of a USB handset.

`speaker` is the handset's earpiece (its monitor records what the terminal plays) and `fake_mic`'s
monitor is its microphone (a tone played into `fake_mic` is what the terminal hears). Both are the
server's defaults, so PortAudio's `pulse` device reaches them. The server dies with the test process.
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

import numpy as np

from central.child_process import start_tied, stop
from drivers.handset import SAMPLE_RATE
from tests.waiting import wait_for

_SINK = f"rate={SAMPLE_RATE} channels=1 format=s16le"
_RAW = ["--raw", "--format=s16le", f"--rate={SAMPLE_RATE}", "--channels=1", "--latency-msec=20"]


def tone(frequency: float, seconds: float, level_dbfs: float = -12.0) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (32767 * 10 ** (level_dbfs / 20) * np.sin(2 * np.pi * frequency * t)).astype(np.int16)


class PulseServer:
    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="kiosk-pulse-"))
        self.socket = self.folder / "native"
        self.env = {
            **os.environ,
            "PULSE_SERVER": f"unix:{self.socket}",
            "PULSE_RUNTIME_PATH": str(self.folder / "run"),
            "PULSE_STATE_PATH": str(self.folder / "state"),
            "HOME": str(self.folder),
        }
        self._process: subprocess.Popen[bytes] | None = None
        self._quiet: list[subprocess.Popen[bytes]] = []
        self._players: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        self.plug_in()
        # The terminal's audio process inherits this, so its PortAudio (through ALSA's pulse plugin) uses
        # this server.
        os.environ["PULSE_SERVER"] = self.env["PULSE_SERVER"]

    def plug_in(self) -> None:
        """Starts the server with its two sinks (again, after `unplug`)."""
        self._process = start_tied(
            [
                "pulseaudio",
                "-n",  # no default script: only the modules below
                "--daemonize=no",
                "--exit-idle-time=-1",
                "--use-pid-file=no",
                "--disable-shm=yes",
                "--log-target=stderr",
                "--log-level=error",
                "-L",
                f"module-native-protocol-unix socket={self.socket} auth-anonymous=1",
                "-L",
                f"module-null-sink sink_name=speaker {_SINK}",
                "-L",
                f"module-null-sink sink_name=fake_mic {_SINK}",
            ],
            self.folder / "pulseaudio.log",
            env=self.env,
        )
        wait_for(lambda: self.pactl("info").returncode == 0, 15, "PulseAudio to answer")
        self.pactl("set-default-sink", "speaker", check=True)
        self.pactl("set-default-source", "fake_mic.monitor", check=True)
        # A real sound card runs on its own clock, whether anything plays or not. An idle null sink renders in long
        # periods instead: its monitor gave a stream just opened its first block 0.3 to 1.8 s late (the terminal
        # took its microphone for gone and restarted its sound), and a recorder joining the earpiece's sink held
        # the terminal's playback for 1.6 s. Quiet played into both keeps each at its short period throughout.
        for sink in ("speaker", "fake_mic"):
            quiet = ["pacat", "--playback", f"--device={sink}", *_RAW, "/dev/zero"]
            self._quiet.append(start_tied(quiet, self.folder / f"quiet-{sink}.log", env=self.env))
        for sink in ("speaker", "fake_mic"):
            self._until_heard(sink)

    def _until_heard(self, sink: str) -> None:
        """Until `sink`'s monitor delivers its blocks (the long period the quiet found it in has ended): the first
        stream to open it afterwards hears it at once."""
        recorder = self.recorder(sink)
        assert recorder.stdout is not None
        try:
            if not select.select([recorder.stdout], [], [], 10)[0] or not recorder.stdout.read(640):
                raise RuntimeError(f"{sink} delivered nothing for 10 s")
        finally:
            recorder.kill()
            recorder.wait()

    def pactl(self, *args: str, check: bool = False) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(["pactl", *args], env=self.env, capture_output=True, check=check, timeout=10)

    def play_into_microphone(self, samples: np.ndarray) -> None:
        """Plays samples into the fake microphone, in the background, as a person speaking would."""
        player = subprocess.Popen(
            ["pacat", "--playback", "--device=fake_mic", *_RAW], env=self.env, stdin=subprocess.PIPE
        )
        self._players.append(player)

        def feed() -> None:
            assert player.stdin is not None
            try:
                player.stdin.write(samples.tobytes())
                player.stdin.close()
            except BrokenPipeError:
                pass  # stopped early by the test

        threading.Thread(target=feed, daemon=True).start()

    def recorder(self, sink: str, latency_ms: int = 20) -> subprocess.Popen[bytes]:
        """A parec process writing what `sink` plays (its monitor) to its standard output, as it plays."""
        raw = [*_RAW[:-1], f"--latency-msec={latency_ms}"]
        return subprocess.Popen(["parec", f"--device={sink}.monitor", *raw], env=self.env, stdout=subprocess.PIPE)

    def record_speaker(self, seconds: float) -> np.ndarray:
        """What the terminal played to its earpiece over the next `seconds`."""
        wanted = int(seconds * SAMPLE_RATE) * 2
        recorder = self.recorder("speaker")
        assert recorder.stdout is not None
        data = b""
        try:
            while len(data) < wanted:
                chunk = recorder.stdout.read(wanted - len(data))
                if not chunk:
                    break
                data += chunk
        finally:
            recorder.kill()
            recorder.wait()
        return np.frombuffer(data[: len(data) // 2 * 2], np.int16)

    def stop_players(self) -> None:
        for player in self._players:
            player.kill()
            player.wait()
        self._players.clear()

    def unplug(self) -> None:
        """The handset's sound device disappears: the server and its sinks go away."""
        self.stop_players()
        for quiet in self._quiet:
            stop(quiet)
        self._quiet.clear()
        stop(self._process)
        self._process = None

    def stop(self) -> None:
        self.unplug()
        shutil.rmtree(self.folder, ignore_errors=True)

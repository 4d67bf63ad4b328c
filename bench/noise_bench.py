"""The loud-room bench: the resident's voice in a dayroom's babble, through a real visit, scored at the visitor.

    ./dev.sh bench --noise [--runs 1] [--write]

Speech made offline (espeak-ng, three voices) is mixed with a dayroom-like babble (six other talkers at once)
at 10, 5 and 0 dB SNR, with a fan's steady noise at 10 dB, and also played clean. The mix loops into the
subject's microphone; the simulated visitor records what reaches it, and each recording is lined up with the
clean speech and scored with PESQ (wideband, 1 to 4.6) and STOI (intelligibility, 0 to 1), the last two loops
of each visit. The subjects, one visit each per condition:
  - the terminal as shipped (its microphone cleaned in a noisy room, `drivers.voice_cleaner`);
  - the terminal with `noise_suppression = false`, the voice as the microphone took it;
  - Chromium on the visitor page in the terminal's place, its fake microphone playing the same file, with its
    own audio processing (the page asks for noise suppression, gain control and echo cancelling);
  - the same Chromium with all three turned off, which shows what its processing does.
Everything goes through the same Janus and Opus on a perfect link, so the scores differ by the processing.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
import wave
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pesq import pesq
from pystoi import stoi
from scipy.signal import resample_poly

from bench.bench_stack import BenchStack, add_visit, start_stack
from bench.call_bench import PERFORMANCE_PAGE, TerminalUnderTest
from central.demo_data import DEMO_RESIDENT_ID, DEMO_RESIDENT_PIN
from central.simulated_visitor import SimulatedVisitor
from drivers.handset import BLOCK_SAMPLES, SAMPLE_RATE
from kiosk.central_client import CentralClient
from kiosk.protocol import EndReason, EndVisitRequest
from tests.browser import HeadlessChromium, fake_camera_file
from tests.pulse_server import PulseServer
from tests.speech import fan_noise, spoken

SCORING_RATE = 16_000  # wideband PESQ's
SETTLE_S = 6.0  # the processing has heard the room for this long before the recording that counts
LOOPS_SCORED = 2
SPEECH_DBFS = -24.0

SAID = [
    ("en-us", "Hi, it's me. Did you get the pictures I sent of the kids?"),
    ("en+f3", "Your mother says hello. We are all coming to see you next month."),
    ("en+m3", "The lawyer called back today, and he thinks the hearing will be in March."),
]
BABBLE = [
    ("en", "Count is at four thirty, everyone back to your bunks."),
    ("en+m5", "Who took my cards? I had them right here on the table."),
    ("en+f2", "Turn the television up, the game is about to start."),
    ("en-us+m4", "Lunch trays are coming, line up by the door please."),
    ("en+f4", "No, I said tomorrow, not today. You never listen to me."),
    ("es", "Oye, pásame esa silla, que ya viene el oficial."),
]


def _level(samples: np.ndarray, dbfs: float) -> np.ndarray:
    return samples * (32768 * 10 ** (dbfs / 20) / np.sqrt(np.mean(np.square(samples))))


def clean_speech() -> np.ndarray:
    """The three speakers in turn with pauses, a whole number of blocks long: one loop."""
    pause = np.zeros(SAMPLE_RATE // 2)
    talk = np.concatenate([part for voice, text in SAID for part in (spoken(text, voice).astype(float), pause)])
    talk = np.concatenate([talk, np.zeros(-talk.size % BLOCK_SAMPLES)])
    return _level(talk, SPEECH_DBFS)


def babble(samples: int) -> np.ndarray:
    """Six talkers at once, each looping from its own point, as long as `samples`."""
    mixed = np.zeros(samples)
    for n, (voice, text) in enumerate(BABBLE):
        talker = spoken(text, voice).astype(float)
        talker = np.tile(talker, samples // talker.size + 2)
        start = (n * talker.size // (len(BABBLE) * 3)) % (talker.size - samples)
        mixed += talker[start : start + samples]
    return mixed


@dataclass(frozen=True)
class Room:
    name: str
    noise: Callable[[int], np.ndarray] | None = None  # the room's sound, as long as asked for
    snr_db: float = 0.0  # the speech over it, over the whole loop

    def mixed(self, clean: np.ndarray) -> np.ndarray:
        """The clean loop in this room, as int16."""
        sound = clean if self.noise is None else clean + _level(self.noise(clean.size), SPEECH_DBFS - self.snr_db)
        return np.clip(np.rint(sound), -32768, 32767).astype(np.int16)


ROOMS = (
    Room("clean"),
    Room("babble, 10 dB SNR", babble, 10),
    Room("babble, 5 dB SNR", babble, 5),
    Room("babble, 0 dB SNR", babble, 0),
    Room("a fan, 10 dB SNR", fan_noise, 10),
)


def write_wav(path: Path, samples: np.ndarray) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(samples.tobytes())
    return path


class RecordingEar:
    """The visitor's earpiece: keeps what arrives, with when it arrived."""

    def __init__(self) -> None:
        self._pieces: list[tuple[float, np.ndarray]] = []
        self._lock = threading.Lock()

    def play(self, source: Hashable, samples: np.ndarray) -> None:
        with self._lock:
            self._pieces.append((time.time(), samples.copy()))

    def set_volume(self, gain: float) -> None:
        pass  # a measuring ear

    def since(self, start: float) -> np.ndarray:
        with self._lock:
            pieces = [samples for at, samples in self._pieces if at >= start]
        return np.concatenate(pieces) if pieces else np.zeros(0, np.int16)

    def heard_anything(self) -> bool:
        with self._lock:
            return any(np.abs(samples).max(initial=0) > 300 for _, samples in self._pieces[-50:])


class QuietMicrophone:
    def read_block(self) -> np.ndarray:
        return np.zeros(BLOCK_SAMPLES, np.int16)


@dataclass(frozen=True)
class Scores:
    pesq: float
    stoi: float


def scored(clean: np.ndarray, heard: np.ndarray) -> Scores:
    """`heard` lined up with the looping clean speech (circular cross-correlation), each loop scored."""
    reference = resample_poly(clean, 1, SAMPLE_RATE // SCORING_RATE)
    received = resample_poly(heard.astype(np.float64), 1, SAMPLE_RATE // SCORING_RATE)
    loop = reference.size
    if received.size < loop * LOOPS_SCORED:
        raise RuntimeError(f"only {received.size / SCORING_RATE:.1f} s reached the visitor")
    pesqs, stois = [], []
    for n in range(LOOPS_SCORED):
        piece = received[received.size - (n + 1) * loop : received.size - n * loop]
        lag = int(np.argmax(np.fft.irfft(np.fft.rfft(reference) * np.conj(np.fft.rfft(piece)), loop)))
        lined_up = np.roll(reference, -lag)
        pesqs.append(pesq(SCORING_RATE, lined_up, piece, "wb"))
        stois.append(stoi(lined_up, piece, SCORING_RATE))
    return Scores(statistics.mean(pesqs), statistics.mean(stois))


def run_terminal(
    stack: BenchStack, pulse: PulseServer, folder: Path, sound: np.ndarray, clean: np.ndarray, cleaned: bool
) -> Scores:
    folder.mkdir(parents=True)
    seconds = SETTLE_S + (LOOPS_SCORED + 0.5) * sound.size / SAMPLE_RATE
    visit_id, codes = add_visit(stack.central, seconds + 120, ["Maria"])
    ear = RecordingEar()
    visitor = SimulatedVisitor(stack.central.url, codes["Maria"], voice=(QuietMicrophone(), ear))
    visitor.start()
    pulse.play_into_microphone(np.tile(sound, int(seconds * SAMPLE_RATE / sound.size) + 10))
    terminal = TerminalUnderTest(stack, folder, seconds, (640, 480), noise_suppression=cleaned)
    try:
        events = terminal.visit(visit_id)
    finally:
        pulse.stop_players()
        terminal.stop()
        visitor.stop()
    start, end = events["measuring"]["wall"] + SETTLE_S, events["measured"]["wall"]
    return scored(clean, ear.since(start)[: int((end - start) * SAMPLE_RATE)])


# Injected into the page: its microphone without any of the browser's processing.
UNPROCESSED_JS = """
(() => {
  const capture = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  const off = { echoCancellation: false, noiseSuppression: false, autoGainControl: false };
  navigator.mediaDevices.getUserMedia = (constraints) =>
    capture(constraints && constraints.audio ? { ...constraints, audio: off } : constraints);
})();
"""


def run_browser(stack: BenchStack, folder: Path, sound: np.ndarray, clean: np.ndarray, processing: bool) -> Scores:
    folder.mkdir(parents=True)
    seconds = SETTLE_S + (LOOPS_SCORED + 0.5) * sound.size / SAMPLE_RATE
    central = stack.central
    visit_id, codes = add_visit(central, seconds + 120, ["Resident", "Browser"])
    control = CentralClient(central.url, central.secret("terminal-token"))
    session = control.identify(DEMO_RESIDENT_ID, DEMO_RESIDENT_PIN).session_token
    control.open_visit(session, visit_id)
    ear = RecordingEar()
    visitor = SimulatedVisitor(central.url, codes["Resident"], voice=(QuietMicrophone(), ear))
    visitor.start()
    microphone = write_wav(folder / "microphone.wav", sound)
    chromium = HeadlessChromium(
        fake_camera_file(folder, "Browser"),
        folder / "profile",
        sound=True,
        executable=stack.chromium,
        more_args=(*stack.chromium_args, f"--use-file-for-fake-audio-capture={microphone}"),
    )
    try:
        page = chromium.start()
        if not processing:
            page.add_init_script(UNPROCESSED_JS)
        page.goto(f"{central.url}/visit?code={codes['Browser']}")
        deadline = time.monotonic() + 30
        while not ear.heard_anything() and time.monotonic() < deadline:
            time.sleep(0.05)
        start = time.time() + SETTLE_S
        time.sleep(seconds)
        heard = ear.since(start)
    finally:
        chromium.stop()
        visitor.stop()
        control.end_visit(visit_id, EndVisitRequest(reason=EndReason.ENDED_BY_RESIDENT))
    return scored(clean, heard)


SUBJECTS = ("terminal", "terminal, no processing", "Chromium", "Chromium, no processing")


def table(results: dict[tuple[str, str], list[Scores]], subjects: list[str] | tuple[str, ...]) -> str:
    compared = "terminal" in subjects and "Chromium" in subjects
    lines = [
        "| speech | "
        + " | ".join(f"{s} PESQ / STOI" for s in subjects)
        + (" | ratio terminal/Chromium (PESQ, STOI) |" if compared else " |"),
        "|---|" + "---|" * (len(subjects) + compared),
    ]
    for room in ROOMS:
        runs = {s: results[s, room.name] for s in subjects}
        medians = {
            s: Scores(statistics.median(r.pesq for r in runs[s]), statistics.median(r.stoi for r in runs[s]))
            for s in subjects
        }
        cells = [f"{medians[s].pesq:.2f} / {medians[s].stoi:.3f}" for s in subjects]
        if compared:
            ours, theirs = medians["terminal"], medians["Chromium"]
            cells.append(f"{ours.pesq / theirs.pesq:.2f}, {ours.stoi / theirs.stoi:.2f}")
        lines.append(f"| {room.name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./dev.sh bench --noise", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--only", choices=SUBJECTS, action="append", help="measure only these subjects")
    parser.add_argument("--out", type=Path, default=Path("build/bench"))
    parser.add_argument("--write", action="store_true", help="add the table to docs/performance.md")
    args = parser.parse_args(argv)
    folder = (args.out / time.strftime("noise-%Y%m%d-%H%M%S")).resolve()
    folder.mkdir(parents=True)
    clean = clean_speech()
    pulse = PulseServer()
    pulse.start()
    stack = start_stack(folder)
    results: dict[tuple[str, str], list[Scores]] = {}
    try:
        for n in range(args.runs):
            for number, room in enumerate(ROOMS):
                sound, name = room.mixed(clean), f"room{number}-{n}"
                for subject in args.only or SUBJECTS:
                    raw = "raw-" if "no processing" in subject else ""
                    where = folder / f"{subject.split(',')[0].lower()}-{raw}{name}"
                    if subject.startswith("Chromium"):
                        score = run_browser(stack, where, sound, clean, processing=subject == "Chromium")
                    else:
                        score = run_terminal(stack, pulse, where, sound, clean, cleaned=subject == "terminal")
                    results.setdefault((subject, room.name), []).append(score)
                    print(f"{room.name}, run {n}, {subject}: PESQ {score.pesq:.2f}, STOI {score.stoi:.3f}", flush=True)
    finally:
        stack.stop()
        pulse.stop()
    text = table(results, args.only or SUBJECTS)
    print(text)
    if args.write:
        with PERFORMANCE_PAGE.open("a") as page:
            page.write(f"\n`./dev.sh bench --noise --runs {args.runs}` (medians):\n\n{text}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

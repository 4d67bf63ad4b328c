"""The call bench's reference: a browser doing the terminal's job in the same kind of visit.

Headless Chromium opens central's visitor page, which publishes a camera and shows the other side in a
`<video>`, as a browser-based terminal would. Its fake camera plays the simulated camera's stamped frames
from a .y4m file at 640x480@30. The simulated visitor on the other side is named "Resident", so the page shows
it as the person visited. `browser_measure.js` reads the stamps of what the page shows and of what its camera
captured (requestVideoFrameCallback); CPU and memory are those of all of Chromium's processes.
"""

from __future__ import annotations

import bisect
import json
import math
import os
import time
from collections import defaultdict
from pathlib import Path

from bench.bench_stack import BenchStack, add_visit
from bench.call_figures import Direction, RunFigures, kbps, report_freezes, sound_figures, window
from bench.handset_rig import MonitorOnsets
from bench.process_meter import ProcessMeter, descendants
from bench.tone_bursts import BurstEar, BurstMicrophone
from central.demo_data import DEMO_RESIDENT_ID, DEMO_RESIDENT_PIN
from central.simulated_visitor import SimulatedVisitor
from kiosk.central_client import CentralClient
from kiosk.protocol import EndReason, EndVisitRequest
from tests.browser import HeadlessChromium, fake_camera_file
from tests.pulse_server import PulseServer

MEASURE_JS = Path(__file__).with_name("browser_measure.js")
VOICE_JS = Path(__file__).with_name("browser_voice.js")
VOICE_WORKLET_JS = Path(__file__).with_name("browser_voice_worklet.js")
LOOP_FRAMES = 150  # the fake camera's file loops every 5 s; its counters repeat, capture times tell them apart
MATCH_WITHIN_MS = 1000


def chromium_pids() -> list[int]:
    found = []
    for pid in descendants(os.getpid()):
        try:
            if Path(f"/proc/{pid}/comm").read_text().startswith("chrom"):
                found.append(pid)
        except FileNotFoundError:
            continue  # ended meanwhile
    return found


def capture_to_decoded(captured: list[list[float]], counters: list[int], arrivals_s: list[float]) -> list[int]:
    """For each frame the visitor decoded: ms since the browser's camera captured it (the latest capture of
    its counter before it arrived); -1 when none was seen within a second (the page skipped showing it, and
    the capture before is the same counter one loop of the file earlier)."""
    captures: dict[int, list[float]] = defaultdict(list)
    for counter, at_ms, _ in captured:
        captures[int(counter)].append(at_ms)
    latencies = []
    for counter, arrived_s in zip(counters, arrivals_s, strict=True):
        times = captures.get(counter, [])
        before = bisect.bisect_right(times, arrived_s * 1000) - 1
        age = arrived_s * 1000 - times[before] if before >= 0 else math.inf
        latencies.append(round(age) if age < MATCH_WITHIN_MS else -1)
    return latencies


def _described(received: dict[str, dict[str, float | None]]) -> str:
    parts = []
    for kind, stats in sorted(received.items()):
        part = f"{kind} {stats['jitterBufferMs']:.0f} ms in the jitter buffer"
        if stats.get("decodeMs") is not None:
            part += f", {stats['decodeMs']:.1f} ms decoding"
        parts.append(part)
    return "; ".join(parts) or "nothing"


def run_browser(stack: BenchStack, pulse: PulseServer, folder: Path, seconds: float) -> RunFigures:
    """One visit with Chromium in the terminal's place and a simulated visitor; its files go to `folder`.
    Chromium plays the call to `pulse`'s speaker and speaks the bench's tone bursts (`browser_voice.js`)."""
    folder.mkdir(parents=True)
    central = stack.central
    visit_id, codes = add_visit(central, seconds + 120, ["Resident", "Browser"])
    control = CentralClient(central.url, central.secret("terminal-token"))
    session = control.identify(DEMO_RESIDENT_ID, DEMO_RESIDENT_PIN).session_token
    control.open_visit(session, visit_id)  # what the terminal does when the handset is lifted
    mouth, ear = BurstMicrophone(), BurstEar()
    visitor = SimulatedVisitor(central.url, codes["Resident"], voice=(mouth, ear))
    visitor.start()
    camera = fake_camera_file(folder, "Browser", frames=LOOP_FRAMES)
    chromium = HeadlessChromium(
        camera,
        folder / "profile",
        sound=True,
        bypass_csp=True,
        executable=stack.chromium,
        more_args=stack.chromium_args,
    )
    speaker = MonitorOnsets(pulse, "speaker")
    try:
        launched = time.time()
        page = chromium.start()
        page.add_init_script(path=str(MEASURE_JS))
        page.add_init_script(f"window.benchVoiceWorklet = {json.dumps(VOICE_WORKLET_JS.read_text())};")
        page.add_init_script(path=str(VOICE_JS))
        navigated = time.time()
        page.goto(f"{central.url}/visit?code={codes['Browser']}")
        loaded = time.time()
        deadline = time.monotonic() + 30
        while not page.evaluate("window.benchShown.length") and time.monotonic() < deadline:
            time.sleep(0.01)
        # On a link too thin for it, the run measures no picture at all rather than stop the bench.
        shown_any = page.evaluate("window.benchShown.length")
        first_shown_s = page.evaluate("window.benchShown[0][2]") / 1000 if shown_any else math.nan
        if not shown_any:
            print("browser run: the page showed no picture of the visitor within 30 s", flush=True)
        meter = ProcessMeter(chromium_pids)
        sent_before = stack.bytes_sent()
        start = time.time()
        meter.start()
        time.sleep(seconds)
        meter.stop()
        end = time.time()
        sent_after = stack.bytes_sent()
        shown, captured, spoken_ms = page.evaluate("[window.benchShown, window.benchCaptured, window.benchSpoken]")
        received_stats = page.evaluate("window.benchReceived()")
    finally:
        speaker.stop()
        chromium.stop()
        visitor.stop()
        control.end_visit(visit_id, EndVisitRequest(reason=EndReason.ENDED_BY_RESIDENT))
    in_window = [s for s in shown if start * 1000 <= s[2] <= end * 1000]
    stamped = [s for s in in_window if s[0] >= 0]
    # Capture to decoded, as the terminal's figure; arrivals at showing, for the frame rate and freezes.
    # requestVideoFrameCallback's processing time starts when a frame is handed to the decoder, after its wait in
    # the jitter buffer; getStats() gives that wait as a mean over the run, added to every frame.
    waited_ms = received_stats.get("video", {}).get("jitterBufferMs") or 0.0
    to_browser = Direction(
        [round(s[3] + waited_ms - s[1]) % (1 << 32) for s in stamped],
        [s[2] / 1000 for s in stamped],
        [s[2] / 1000 for s in in_window],
    )
    received = visitor.received
    latencies = capture_to_decoded(captured, received.counters, received.arrivals_s)
    to_visitor = window(latencies, received.arrivals_s, received.decoded_s, start, end)
    report_freezes("browser", {"visitor → subject": to_browser, "subject → visitor": to_visitor}, start)
    known = sum(entry[2] for entry in captured) / max(1, len(captured))
    print(f"browser run: {100 * known:.0f} % of its camera's frames came with Chromium's capture time", flush=True)
    print(f"browser run: its getStats() of what it received: {_described(received_stats)}", flush=True)
    first_at_visitor = next((at for at in received.decoded_s if at >= navigated), float("nan"))
    subject_kbps, visitor_kbps = kbps(sent_after, sent_before, end - start)
    return RunFigures(
        cold_start_s=loaded - launched,
        setup_to_painted_s=first_shown_s - navigated,
        setup_to_visitor_s=first_at_visitor - navigated,
        to_subject=to_browser.figures(end - start),
        to_visitor=to_visitor.figures(end - start),
        audio_to_subject=sound_figures(mouth.spoken_s, speaker.bursts, start, end),
        audio_to_visitor=sound_figures([at / 1000 for at in spoken_ms], ear.bursts, start, end),
        cpu_percent=100 * meter.cpu_s / (end - start),
        peak_pss_mib=meter.peak_pss_mib,
        subject_sent_kbps=subject_kbps,
        visitor_sent_kbps=visitor_kbps,
    )

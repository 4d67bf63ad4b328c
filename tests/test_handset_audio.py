"""The handset's real audio path: PortAudio (sounddevice) to a real PulseAudio server whose null sinks
stand in for the USB handset, in a real call through Janus with the simulated visitor.
"""

from __future__ import annotations

import contextlib
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest

from central.simulated_visitor import VISITOR_TONE_HZ, SimulatedVisitor
from drivers.audio_analysis import dominant_frequency, level_dbfs
from drivers.audio_wire import Treatment
from drivers.handset import BLOCK_SAMPLES, SAMPLE_RATE
from drivers.portaudio_handset import AudioDeviceMissing, AudioState, PortAudioHandsetAudio
from kiosk.devices import DeviceMissing, open_handset
from tests.conftest import kiosk_config
from tests.pulse_server import PulseServer, tone
from tests.terminal_harness import HarnessTerminal
from tests.test_e2e_visit import enter_visit
from tests.test_voice_cleaner import room
from tests.waiting import wait_for

pytestmark = pytest.mark.audio

RESIDENT_HZ = 440.0
TONE_DBFS = -12.0  # the tones' peak; a sine's RMS level is 3 dB lower
TONE_RMS_DBFS = TONE_DBFS - 3.0


@pytest.fixture
def handset_audio(pulse: PulseServer):
    audio = PortAudioHandsetAudio("pulse")
    audio.start()
    yield audio
    audio.stop()
    pulse.stop_players()


def test_the_microphone_hears_the_fake_microphone_and_meters_its_level(pulse, handset_audio):
    pulse.play_into_microphone(tone(RESIDENT_HZ, 30, TONE_DBFS))
    wait_for(lambda: handset_audio.microphone.level_dbfs() > -20, 10, "the tone at the microphone")
    blocks = []
    wait_for(lambda: blocks.append(handset_audio.microphone.read_block()) or len(blocks) >= 10, 5, "blocks")
    assert all(block.size == BLOCK_SAMPLES for block in blocks)
    assert abs(handset_audio.microphone.level_dbfs() - TONE_RMS_DBFS) < 1.0
    assert abs(dominant_frequency(blocks[-1], SAMPLE_RATE) - RESIDENT_HZ) < 50  # 20 ms: 50 Hz resolution
    assert handset_audio.health().state is AudioState.OK


FAN_DBFS = -30.0


@pytest.mark.parametrize("noise_suppression", [True, False], ids=["as shipped", "turned off"])
def test_a_loud_fan_is_taken_out_of_the_microphone_unless_turned_off(pulse, noise_suppression):
    audio = PortAudioHandsetAudio("pulse", noise_suppression=noise_suppression)
    audio.start()
    try:
        pulse.play_into_microphone(np.clip(room(FAN_DBFS, 30 * SAMPLE_RATE), -32768, 32767).astype(np.int16))
        wait_for(lambda: audio.microphone.level_dbfs() > FAN_DBFS - 3, 10, "the fan at the microphone")
        if noise_suppression:
            wait_for(lambda: audio.voice is Treatment.SUPPRESSED, 10, "the room judged noisy (on its last 3 s)")
            wait_for(lambda: audio.microphone.level_dbfs() < FAN_DBFS - 6, 3, "the fan taken down by 6 dB")
            assert "voice noise suppressed" in audio.health().detail
        else:
            time.sleep(6)  # twice what the shipped setting takes to judge the room: it must never do so
            assert audio.voice is Treatment.AS_SPOKEN and "voice" not in audio.health().detail
            assert abs(audio.microphone.level_dbfs() - FAN_DBFS) < 2
    finally:
        audio.stop()
        pulse.stop_players()


@contextlib.contextmanager
def visitor_speaking(handset_audio: PortAudioHandsetAudio, level: float = TONE_DBFS) -> Iterator[None]:
    """The visitor's tone into the earpiece as the call delivers it: one 20 ms block every 20 ms."""
    stop = threading.Event()

    def speak() -> None:
        voice, started = tone(VISITOR_TONE_HZ, 10.0, level), time.monotonic()
        for n, start in enumerate(range(0, voice.size, BLOCK_SAMPLES)):
            if stop.wait(max(0.0, started + n * 0.02 - time.monotonic())):
                return
            handset_audio.earpiece.play("maria", voice[start : start + BLOCK_SAMPLES])

    speaker = threading.Thread(target=speak)
    speaker.start()
    try:
        wait_for(lambda: handset_audio.earpiece.stats().sources == 1, 5, "the voice to arrive")
        yield
    finally:
        stop.set()
        speaker.join()


def test_the_earpiece_plays_to_the_speaker_at_the_level_it_was_given(pulse, handset_audio):
    with visitor_speaking(handset_audio):
        heard = pulse.record_speaker(1.0)
    assert abs(dominant_frequency(heard, SAMPLE_RATE) - VISITOR_TONE_HZ) < 2
    assert abs(level_dbfs(heard[SAMPLE_RATE // 2 :]) - TONE_RMS_DBFS) < 1.0
    assert handset_audio.earpiece.stats().buffered_ms <= 120


def test_a_handset_name_that_matches_nothing_is_a_clear_error(pulse):
    with pytest.raises(AudioDeviceMissing, match="no single sound input matches 'USB Handset 3000'"):
        PortAudioHandsetAudio("USB Handset 3000").start()
    with pytest.raises(DeviceMissing, match="The handset's sound device"):
        open_handset(
            kiosk_config("http://127.0.0.1:1", pulse.folder / "t", 'handset = "real"\nhandset_audio = "Nope"').devices
        )


def test_a_handset_that_goes_away_is_lost_and_works_again_after_a_restart(pulse, handset_audio):
    pulse.unplug()
    try:
        wait_for(lambda: handset_audio.health().state is AudioState.LOST, 5, "the handset to be lost")
        # Its audio process is gone too: PortAudio's ALSA back end can spin forever on a vanished device.
        wait_for(lambda: not handset_audio.running, 2, "the audio process to be ended")
    finally:
        pulse.plug_in()
    handset_audio.restart()  # what the hotplug monitor does when the handset comes back
    pulse.play_into_microphone(tone(RESIDENT_HZ, 30, TONE_DBFS))
    wait_for(lambda: handset_audio.microphone.level_dbfs() > -20, 10, "the microphone to hear again")
    assert handset_audio.health().state is AudioState.OK


@contextlib.contextmanager
def call_through_portaudio(pulse: PulseServer, start_central) -> Iterator[tuple[HarnessTerminal, SimulatedVisitor]]:
    """A terminal whose handset is PortAudio behind PulseAudio, in a visit with the simulated visitor."""
    central = start_central()
    visitor = SimulatedVisitor(central.url, central.secret("visitor-code"))
    visitor.start()
    config = kiosk_config(central.url, central.state / "terminal-token", 'handset = "real"\nhandset_audio = "pulse"')
    kiosk = HarnessTerminal.for_central(config, central)
    try:
        assert kiosk.handset.audio is not None
        yield kiosk, visitor
    finally:
        kiosk.stop()
        visitor.stop()
        pulse.stop_players()


@pytest.mark.e2e
def test_in_a_real_call_each_side_hears_the_other_through_portaudio(pulse, start_central):
    with call_through_portaudio(pulse, start_central) as (kiosk, visitor):
        assert kiosk.handset.audio is not None
        pulse.play_into_microphone(tone(RESIDENT_HZ, 60, TONE_DBFS))
        enter_visit(kiosk)
        # The resident's voice, from the fake microphone through PortAudio and Janus, reaches the visitor.
        wait_for(
            lambda: abs(visitor.handset.earpiece.dominant_frequency() - RESIDENT_HZ) < 15, 10, "the resident's tone"
        )
        wait_for(lambda: abs(visitor.handset.earpiece.level_dbfs() - TONE_RMS_DBFS) < 1.5, 5, "the tone's level")
        # The visitor's voice plays to the terminal's speaker at the level it was sent.
        wait_for(lambda: kiosk.handset.audio.earpiece.stats().sources == 1, 10, "the visitor's audio")
        heard = pulse.record_speaker(2.0)
        print(f"speaker: {dominant_frequency(heard, SAMPLE_RATE):.0f} Hz at {level_dbfs(heard):.1f} dBFS")
        assert abs(dominant_frequency(heard, SAMPLE_RATE) - VISITOR_TONE_HZ) < 5
        assert abs(level_dbfs(heard) - TONE_RMS_DBFS) < 1.5
        stats = kiosk.handset.audio.earpiece.stats()
        print(f"playout: {stats}")
        assert stats.buffered_ms <= 120
        assert kiosk.handset.audio.health().state is AudioState.OK


@pytest.mark.e2e
def test_in_a_real_call_the_visitors_picture_comes_with_their_voice(pulse, start_central):
    """The earpiece holds the visitor's voice in its jitter buffer before it is heard; each of the visitor's
    pictures waits as long, so that the lips move with the words (shown at once, they moved 40 ms or more early)."""
    with call_through_portaudio(pulse, start_central) as (kiosk, _):
        assert kiosk.handset.audio is not None
        earpiece = kiosk.handset.audio.earpiece
        enter_visit(kiosk)
        wait_for(lambda: earpiece.delay_s() > 0, 10, "the visitor's voice in the earpiece")
        start, held = len(kiosk.received.latencies_ms), []

        def two_seconds_of_pictures() -> bool:
            held.append(earpiece.delay_s())  # it moves as packets come and go, and settles after the call's start
            return len(kiosk.received.latencies_ms) - start >= 60

        wait_for(two_seconds_of_pictures, 10, "two seconds of the visitor's pictures")
        shown_ms = statistics.median(kiosk.received.latencies_ms[start:])
        print(f"the voice waits {1000 * min(held):.0f} to {1000 * max(held):.0f} ms in the earpiece; a picture shows")
        print(f"{shown_ms:.0f} ms after its capture")
        least_ms = 1000 * statistics.quantiles(held, n=10)[0]  # the buffer drains to nothing for a moment now and then
        assert max(20.0, least_ms) <= shown_ms <= 1000 * max(held) + 60, "shown at once, it was 5-12 ms"


def test_the_earpiece_volume_reaches_the_speaker(pulse, handset_audio):
    handset_audio.earpiece.set_volume(2.0)  # +6 dB, the loudest step
    try:
        with visitor_speaking(handset_audio, TONE_DBFS - 6):
            heard = pulse.record_speaker(1.0)
    finally:
        handset_audio.earpiece.set_volume(1.0)
    assert abs(level_dbfs(heard[SAMPLE_RATE // 2 :]) - TONE_RMS_DBFS) < 1.0  # -6 dB sent, +6 dB played


def test_portaudio_is_only_ever_started_in_the_audio_process_not_in_the_terminals():
    # Importing sounddevice initialises PortAudio, whose ALSA back end is what must stay killable.
    check = "import sys, ui.cli, ui.app, kiosk.devices, drivers.portaudio_handset; print('sounddevice' in sys.modules)"
    terminal = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True, timeout=60)
    assert terminal.stdout.strip() == "False"

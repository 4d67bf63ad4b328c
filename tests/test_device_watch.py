"""The device watch: recorded udev bursts through the real hotplug code path take the terminal out of service
and bring it back; a replugged handset gets its sound back (PortAudio re-initialised, on real PulseAudio).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess

import pytest

from drivers.hotplug import RecordedSource
from drivers.portaudio_handset import AudioState
from drivers.simulated_camera import SimulatedCamera
from kiosk.device_watch import DeviceWatch
from kiosk.devices import open_handset
from kiosk.visit_machine import Screen
from tests.conftest import kiosk_config, staff_call
from tests.pulse_server import PulseServer, tone
from tests.udev_recordings import recorded_events, replay, unplugged
from tests.waiting import wait_for
from ui.touch_script import screenshot, tap, visible_text

H340 = "handset_h340_plug.json"  # a Logitech USB Headset H340 plugged in: usb, sound, input, hidraw
EPSON = "touchscreen_epson_plug.json"  # a touch unit (hid-multitouch, ID_INPUT_TOUCHSCREEN=1)


class Missing:
    """What the watch tells the terminal, in order."""

    def __init__(self) -> None:
        self.told: list[tuple[str, ...]] = []

    def __call__(self, missing: tuple[str, ...]) -> None:
        self.told.append(missing)

    @property
    def now(self) -> tuple[str, ...] | None:
        return self.told[-1] if self.told else None


@pytest.mark.audio
def test_an_unplugged_handset_is_missing_and_comes_back_with_its_sound(pulse: PulseServer, tmp_path):
    # The sound goes through PulseAudio's `pulse` device while udev's events are the H340's: the watch knows
    # the handset by its udev name, the sound by PortAudio's.
    config = kiosk_config("http://127.0.0.1:1", tmp_path / "t", 'handset = "real"\nhandset_audio = "pulse"')
    handset = open_handset(config.devices)
    watched = config.devices.model_copy(update={"handset_audio": "H340"})
    plug = recorded_events(H340)
    source = RecordedSource(existing=[event.device for _, event in plug])
    watch = DeviceWatch(watched, SimulatedCamera(), handset, source)
    missing = Missing()
    try:
        watch.start(missing)
        assert missing.told == [()]
        assert handset.audio is not None and handset.audio.health().state is AudioState.OK

        pulse.unplug()
        source.feed(unplugged(plug))
        wait_for(lambda: missing.now == ("handset",), 5, "the handset to be missing")
        wait_for(lambda: handset.audio.health().state is AudioState.LOST, 5, "the sound to be lost")

        pulse.plug_in()
        replay(source, plug)
        wait_for(lambda: missing.now == (), 5, "the handset to be back")
        pulse.play_into_microphone(tone(440, 30))
        wait_for(lambda: handset.audio.microphone.level_dbfs() > -20, 10, "the microphone to hear again")
        assert handset.audio.health().state is AudioState.OK
        assert missing.told == [(), ("handset",), ()]
    finally:
        watch.stop()
        handset.stop()
        pulse.stop_players()


@pytest.mark.audio
def test_a_handset_behind_a_sound_server_is_not_out_of_service_for_want_of_a_sound_card(pulse, tmp_path):
    # PulseAudio's `pulse` device is no udev sound card: only its own sound can tell that it has gone.
    config = kiosk_config("http://127.0.0.1:1", tmp_path / "t", 'handset = "real"\nhandset_audio = "pulse"')
    handset = open_handset(config.devices)
    card_named = config.devices.model_copy(update={"handset_audio": "H340"})
    missing, named_missing = Missing(), Missing()
    watch = DeviceWatch(config.devices, SimulatedCamera(), handset, RecordedSource(existing=[]))
    control = DeviceWatch(card_named, SimulatedCamera(), handset, RecordedSource(existing=[]))
    try:
        watch.start(missing)
        control.start(named_missing)
        assert missing.told == [()]
        assert named_missing.told == [("handset",)], "a named sound card that udev lacks is missing"
    finally:
        watch.stop()
        control.stop()
        handset.stop()


def _audio_process(parent: int) -> int | None:
    found = subprocess.run(["pgrep", "-P", str(parent), "-f", "drivers.audio_process"], capture_output=True, text=True)
    return int(found.stdout.split()[0]) if found.stdout.split() else None


@pytest.mark.audio
def test_a_handset_whose_sound_stalls_without_going_away_gets_its_sound_back(pulse: PulseServer, tmp_path):
    # Found on the bench's jittery link: the microphone's blocks stopped for over 0.5 s under load, the handset was
    # lost, and since udev saw no change (behind a sound server it sees nothing) the visit went on without a voice.
    config = kiosk_config("http://127.0.0.1:1", tmp_path / "t", 'handset = "real"\nhandset_audio = "pulse"')
    handset = open_handset(config.devices)
    watch = DeviceWatch(config.devices, SimulatedCamera(), handset, RecordedSource(existing=[]))
    try:
        watch.start(Missing())
        assert handset.audio is not None
        pulse.play_into_microphone(tone(440, 30))
        wait_for(lambda: handset.audio.microphone.level_dbfs() > -20, 10, "the microphone to hear")
        stalled = _audio_process(os.getpid())
        assert stalled is not None
        os.kill(stalled, signal.SIGSTOP)  # a real stall: the process is there and sends nothing
        try:
            wait_for(lambda: _audio_process(os.getpid()) not in (stalled, None), 5, "a fresh audio process")
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.kill(stalled, signal.SIGCONT)
        wait_for(lambda: handset.audio.health().state is AudioState.OK, 10, "the microphone's blocks to come again")
        assert handset.audio.microphone.level_dbfs() > -20, "and they carry what is said into it"
    finally:
        watch.stop()
        handset.stop()
        pulse.stop_players()


@pytest.mark.ui
@pytest.mark.e2e
def test_the_terminal_says_it_is_out_of_service_while_the_touchscreen_is_unplugged(
    start_central, start_kiosk, qtbot, screens_folder
):
    central = start_central()
    plug = recorded_events(EPSON)
    source = RecordedSource(existing=[event.device for _, event in plug])
    kiosk = start_kiosk(central.url, central.state / "terminal-token", 'touchscreen = "auto"', source)
    window = kiosk.window
    qtbot.waitUntil(lambda: window.current is Screen.IDLE)
    tap(window, "start")
    qtbot.waitUntil(lambda: window.current is Screen.IDENTIFY)

    source.feed(unplugged(plug))
    qtbot.waitUntil(lambda: window.current is Screen.OUT_OF_SERVICE, timeout=5000)
    text = visible_text(window)
    assert "The touchscreen is not working." in text
    assert "Staff have been told." in text
    screenshot(window, screens_folder, "09-out-of-service")

    # Staff have been told: the audit trail and the terminal's health at central say so at once.
    def at_central() -> tuple[list[str], str | None]:
        audit = staff_call(central, "GET", "/audit", params={"terminal_id": 1}).json()
        terminal = staff_call(central, "GET", "/terminals").json()[0]
        return [e["kind"] for e in audit], terminal["health"].get("touchscreen")

    wait_for(lambda: at_central() == (["terminal_started", "out_of_service"], "missing"), 10, "central to know")

    replay(source, plug)
    qtbot.waitUntil(lambda: window.current is Screen.IDLE, timeout=5000)
    assert kiosk.terminal.health()["touchscreen"] == "ok"
    wait_for(lambda: at_central()[0][-1] == "back_in_service", 10, "central to know it is back")

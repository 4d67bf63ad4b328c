"""The hardware self-test of `kiosk-provision`, on simulated devices, with a technician who follows its
instructions (tests.simulated_terminal); and the touchscreen's tap read from raw input events, as a panel
sends them."""

from __future__ import annotations

import os
from dataclasses import replace
from functools import partial
from pathlib import Path

import pytest
from evdev import ecodes

from drivers.audio_analysis import dominant_frequency, level_dbfs
from drivers.evdev_hook import INPUT_EVENT
from drivers.handset import SAMPLE_RATE
from drivers.simulated_camera import SimulatedCamera
from drivers.simulated_handset import SimulatedMicrophone
from drivers.touchscreen_tap import EvdevTapReader, Tap
from kiosk.config import DevicesSection
from kiosk.devices import DeviceMissing, open_handset
from provisioning.self_test import (
    Check,
    TestDevices,
    Verdict,
    Waits,
    check_microphone,
    check_touchscreen,
    run_self_test,
)
from provisioning.self_test_record import SelfTestRecord
from provisioning.steps import StepFailed, self_test_now
from provisioning.target import Target
from tests.pulse_server import tone
from tests.simulated_terminal import ScriptedTechnician, SimulatedTerminal

# The voice over four of the microphone's 50 ms reads. The frame rate stays measured over a second: over half
# of one, two frames a busy machine is late with fail the camera (27 fps are needed of 30).
QUICK = Waits(first_frame_s=2.0, frames_s=1.0, speech_s=0.2, action_s=5.0)
# A real terminal's configuration; the devices behind it are simulated (tests.simulated_terminal).
DEVICES = DevicesSection(
    camera="real", camera_source="/dev/v4l/by-id/usb-cam-video-index0", handset="real", hook="real", touchscreen="real"
)


def run(terminal: SimulatedTerminal, technician, devices: DevicesSection = DEVICES, waits: Waits = QUICK):
    opened = terminal.open(devices)
    try:
        return {check.part: check for check in run_self_test(opened, devices, technician, waits)}
    finally:
        opened.close()


def test_a_technician_who_does_each_thing_passes_every_check():
    terminal = SimulatedTerminal()
    technician = ScriptedTechnician(terminal)
    checks = run(terminal, technician)
    assert {part: check.verdict for part, check in checks.items()} == dict.fromkeys(
        ("camera", "microphone", "earpiece", "hook switch", "touchscreen"), Verdict.PASSED
    )
    assert checks["camera"].detail.startswith("640x480 at ")
    assert technician.told[0] == "Lift the handset." and technician.told[-1] == "Tap the top-left corner of the screen."
    assert not terminal.hook.lifted, "the test ends with the handset hung up"


def test_a_tone_not_heard_fails_the_earpiece_and_enter_plays_it_again():
    terminal = SimulatedTerminal()
    technician = ScriptedTechnician(terminal, answers=["", "n"])
    checks = run(terminal, technician)
    assert len(technician.asked) == 2, "Enter played the tone again"
    assert checks["earpiece"] == Check("earpiece", Verdict.FAILED, checks["earpiece"].detail)
    assert "check the handset's cable" in checks["earpiece"].detail


def test_a_hook_switch_that_never_moves_fails_and_the_rest_is_still_checked():
    terminal = SimulatedTerminal()
    checks = run(terminal, ScriptedTechnician(terminal, lifts=False), waits=Waits(0.5, 0.5, 0.3, 0.3))
    assert checks["hook switch"].verdict is Verdict.FAILED
    assert "lifted" in checks["hook switch"].detail
    assert checks["earpiece"].verdict is Verdict.PASSED and checks["touchscreen"].verdict is Verdict.PASSED


def test_a_handset_lifted_at_the_start_is_hung_up_first():
    terminal = SimulatedTerminal()
    terminal.hook.lift()
    technician = ScriptedTechnician(terminal)
    assert run(terminal, technician)["hook switch"].verdict is Verdict.PASSED
    assert technician.told[:2] == ["Hang the handset up first.", "Lift the handset."]


def test_a_silent_microphone_fails_while_the_technician_speaks():
    terminal = SimulatedTerminal(microphone=SimulatedMicrophone(tone_hz=None))
    check = run(terminal, ScriptedTechnician(terminal))["microphone"]
    assert check.verdict is Verdict.FAILED and "heard nothing while you spoke" in check.detail


def test_a_camera_that_cannot_give_the_configured_size_fails():
    terminal = SimulatedTerminal(camera_size=(320, 240))
    check = run(terminal, ScriptedTechnician(terminal))["camera"]
    assert check.verdict is Verdict.FAILED
    assert "320x240" in check.detail and "not the configured 640x480" in check.detail


def test_a_tap_in_the_wrong_corner_names_the_rotation_that_fits():
    terminal = SimulatedTerminal()
    # The panel is mounted turned a quarter clockwise, but configured as not turned: the top-left corner of
    # the screen is where the panel's own axes have x high and y low.
    technician = ScriptedTechnician(terminal, tap_at=(0.1, 0.9))
    check = run(terminal, technician)["touchscreen"]
    assert check.verdict is Verdict.FAILED
    assert "reads as the bottom-left with rotation 0" in check.detail
    assert "--touchscreen-rotation 90" in check.detail
    # Set up as the advice says, the same tap passes (only the touchscreen is checked again).
    turned = DEVICES.model_copy(update={"touchscreen_rotation": 90})
    again = check_touchscreen(terminal.touchscreen, turned, ScriptedTechnician(terminal, tap_at=(0.1, 0.9)), QUICK)
    assert again.verdict is Verdict.PASSED, again


def test_unattended_only_what_needs_no_one_is_checked():
    terminal = SimulatedTerminal()
    technician = ScriptedTechnician(terminal, at_terminal=False)
    checks = run(terminal, technician)
    assert [checks[part].verdict for part in ("camera", "microphone")] == [Verdict.PASSED, Verdict.PASSED]
    for part in ("earpiece", "hook switch", "touchscreen"):
        assert checks[part].verdict is Verdict.NOT_CHECKED
    assert technician.told == [] and technician.asked == []


def test_unattended_a_microphone_that_delivers_only_silence_fails():
    terminal = SimulatedTerminal(microphone=SimulatedMicrophone(tone_hz=None))
    check = run(terminal, ScriptedTechnician(terminal, at_terminal=False))["microphone"]
    assert check.verdict is Verdict.FAILED and "silence" in check.detail


def test_a_training_terminal_asks_nothing_of_its_simulations():
    terminal = SimulatedTerminal()
    technician = ScriptedTechnician(terminal)
    checks = run(terminal, technician, DevicesSection())
    assert [checks[part].verdict for part in ("camera", "microphone")] == [Verdict.PASSED, Verdict.PASSED]
    for part in ("earpiece", "hook switch", "touchscreen"):
        assert checks[part].verdict is Verdict.SIMULATED
    assert technician.told == [] and technician.asked == [], "no one can lift or hear a simulation"


def test_the_results_are_kept_and_a_failure_is_a_failed_step(tmp_path: Path):
    target = Target(tmp_path)
    terminal = SimulatedTerminal()
    record = self_test_now(target, DEVICES, ScriptedTechnician(terminal, answers=["n"]), terminal.open, QUICK)
    assert [c.part for c in record.failed] == ["earpiece"]
    kept = SelfTestRecord.read(target)
    assert kept is not None and kept.checks == record.checks and kept.mode == "full"
    assert not kept.covers("full", DEVICES), "a failed test is done again"

    def missing(_devices: DevicesSection):
        raise DeviceMissing("The camera /dev/video0 is not there. Check its cable.")

    with pytest.raises(StepFailed, match="camera /dev/video0 is not there"):
        self_test_now(target, DEVICES, ScriptedTechnician(terminal), missing, QUICK)


@pytest.mark.audio
def test_a_real_handset_through_portaudio_passes_with_a_voice_and_a_tone_heard(pulse):
    terminal = SimulatedTerminal()
    handset = replace(open_handset(DevicesSection(handset="real", handset_audio="pulse")), hook=terminal.hook)
    devices = TestDevices(SimulatedCamera(), handset, terminal.touchscreen)

    def hears_tone() -> bool:  # what the earpiece plays, recorded from the speaker's monitor
        heard = pulse.record_speaker(0.5)
        return level_dbfs(heard) > -30 and abs(dominant_frequency(heard, SAMPLE_RATE) - 1000) < 20

    voice = partial(pulse.play_into_microphone, tone(300, 2.0, level_dbfs=-20))
    technician = ScriptedTechnician(terminal, speak=voice, hears_tone=hears_tone)
    try:
        checks = {check.part: check for check in run_self_test(devices, DEVICES, technician, Waits(speech_s=1.5))}
    finally:
        devices.close()
        pulse.stop_players()
    assert checks["microphone"].verdict is Verdict.PASSED, checks["microphone"]
    assert checks["earpiece"].verdict is Verdict.PASSED, checks["earpiece"]


@pytest.mark.audio
def test_a_real_handset_that_hears_nothing_fails_the_microphone(pulse):
    terminal = SimulatedTerminal()
    handset = replace(open_handset(DevicesSection(handset="real", handset_audio="pulse")), hook=terminal.hook)
    try:
        check = check_microphone(handset.microphone, ScriptedTechnician(terminal), Waits(speech_s=1.0))
    finally:
        handset.stop()
    assert check.verdict is Verdict.FAILED and "while you spoke" in check.detail, check


# -- the touchscreen's tap, from raw input events ----------------------------------------------------


def _events(*events: tuple[int, int, int]) -> bytes:
    return b"".join(INPUT_EVENT.pack(0, 0, kind, code, value) for kind, code, value in events)


SYN = (ecodes.EV_SYN, ecodes.SYN_REPORT, 0)
# A finger down, moved a little, lifted: as a multi-touch panel (0..4095 on both axes) reports it.
TAP = _events(
    (ecodes.EV_ABS, ecodes.ABS_MT_TRACKING_ID, 17),
    (ecodes.EV_ABS, ecodes.ABS_MT_POSITION_X, 410),
    (ecodes.EV_ABS, ecodes.ABS_MT_POSITION_Y, 3700),
    (ecodes.EV_KEY, ecodes.BTN_TOUCH, 1),
    (ecodes.EV_ABS, ecodes.ABS_X, 410),
    (ecodes.EV_ABS, ecodes.ABS_Y, 3700),
    SYN,
    (ecodes.EV_ABS, ecodes.ABS_MT_POSITION_X, 418),
    (ecodes.EV_ABS, ecodes.ABS_X, 418),
    SYN,
    (ecodes.EV_ABS, ecodes.ABS_MT_TRACKING_ID, -1),
    (ecodes.EV_KEY, ecodes.BTN_TOUCH, 0),
    SYN,
)


def test_a_tap_is_read_where_the_finger_was_lifted_even_when_records_arrive_cut():
    read_end, write_end = os.pipe2(os.O_CLOEXEC)
    reader = EvdevTapReader(read_end, (0, 4095), (0, 4095))
    try:
        cut = INPUT_EVENT.size * 5 + 7  # the middle of a record
        os.write(write_end, TAP[:cut])
        assert reader.wait_for_tap(0.2) is None, "no tap before the finger is lifted"
        os.write(write_end, TAP[cut:])
        assert reader.wait_for_tap(5) == Tap(418 / 4095, 3700 / 4095)
    finally:
        reader.close()
        os.close(write_end)


def test_a_touch_without_a_position_is_no_tap():
    read_end, write_end = os.pipe2(os.O_CLOEXEC)
    reader = EvdevTapReader(read_end, (0, 4095), (0, 4095))
    try:
        os.write(write_end, _events((ecodes.EV_KEY, ecodes.BTN_TOUCH, 1), SYN, (ecodes.EV_KEY, ecodes.BTN_TOUCH, 0)))
        os.write(write_end, TAP)
        assert reader.wait_for_tap(5) == Tap(418 / 4095, 3700 / 4095), "the first touch had no position"
        assert reader.wait_for_tap(0.2) is None
    finally:
        reader.close()
        os.close(write_end)

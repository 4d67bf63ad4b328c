"""Hotplug: recorded udev devices sorted into the terminal's devices, plug and unplug bursts reported once,
real kernel events through pyudev, the touchscreen's udev rule, and the device health built on them.
"""

from __future__ import annotations

import re
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.camera_health import CameraHealth, CameraState
from drivers.hotplug import EventsLost, HotplugMonitor, PyudevSource, RecordedSource, UdevEvent
from drivers.touchscreen import ROTATIONS, calibration_matrix, calibration_rule, find_touchscreens, name_pattern
from drivers.udev_devices import (
    DeviceKind,
    DeviceRules,
    DeviceTable,
    FoundDevice,
    Presence,
    UdevDevice,
    decode_udev_string,
    no_devices,
)
from kiosk.device_health import DeviceHealth, DeviceState
from tests.udev_recordings import recorded_devices, recorded_events, replay, table_after, unplugged
from tests.waiting import wait_for

H340_CARD = "/sys/devices/platform/ocp/47400000.target-module/47401c00.usb/musb-hdrc.1/usb1/1-1/1-1:1.0/sound/card0"


# -- recordings -----------------------------------------------------------------------------------


def h340_rules(**changes: object) -> DeviceRules:
    settings: dict[str, object] = {
        "handset_audio": "H340",
        "hook_kind": "hid",
        "has_hook_switch": lambda device: device.devnode == "/dev/hidraw0",
    }
    settings.update(changes)
    return DeviceRules(**settings)  # type: ignore[arg-type]


def kinds(presence: Presence) -> dict[DeviceKind, list[str]]:
    return {kind: [d.devnode for d in found] for kind, found in presence.items() if found}


class Reports:
    """A listener that keeps every presence the monitor reports, and when."""

    def __init__(self) -> None:
        self.presences: list[Presence] = []
        self.times: list[float] = []
        self._lock = threading.Lock()

    def __call__(self, presence: Presence) -> None:
        with self._lock:
            self.presences.append(presence)
            self.times.append(time.monotonic())

    def __len__(self) -> int:
        with self._lock:
            return len(self.presences)


@pytest.fixture
def monitors() -> Iterator[list[HotplugMonitor]]:
    started: list[HotplugMonitor] = []
    yield started
    for monitor in started:
        monitor.stop()


# -- classification -------------------------------------------------------------------------------


def test_a_uvc_camera_is_its_capture_node_not_its_metadata_node() -> None:
    table = table_after("camera_c615.json")
    assert kinds(DeviceRules().presence(table)) == {DeviceKind.CAMERA: ["/dev/video0"]}
    camera = DeviceRules().presence(table)[DeviceKind.CAMERA][0]
    assert camera.name == "HD Webcam C615"
    assert camera.sys_path.endswith("/video4linux/video0")
    by_id = "/dev/v4l/by-id/usb-046d_HD_Webcam_C615_1563CF40-video-index0"
    assert kinds(DeviceRules(camera_source=by_id).presence(table)) == {DeviceKind.CAMERA: ["/dev/video0"]}
    assert kinds(DeviceRules(camera_source="0").presence(table)) == {DeviceKind.CAMERA: ["/dev/video0"]}
    # The configured camera is the metadata node, or another camera: this one is not it.
    assert kinds(DeviceRules(camera_source="1").presence(table)) == {}
    assert kinds(DeviceRules(camera_source="/dev/v4l/by-id/usb-other-video-index0").presence(table)) == {}


def test_the_handset_is_its_sound_card_once_udev_has_set_it_up() -> None:
    presence = h340_rules().presence(table_after("handset_h340_plug.json"))
    assert kinds(presence) == {DeviceKind.HANDSET: ["/dev/snd/controlC0"], DeviceKind.HOOK: ["/dev/hidraw0"]}
    handset = presence[DeviceKind.HANDSET][0]
    assert handset == FoundDevice(DeviceKind.HANDSET, H340_CARD, "/dev/snd/controlC0", "Logitech USB Headset H340")
    assert presence[DeviceKind.HOOK][0].name == "Logitech Inc. Logitech USB Headset H340"
    # Before 78-sound-card.rules' change event (SOUND_INITIALIZED) the card's nodes may not be ready yet.
    early = h340_rules().presence(table_after("handset_h340_plug.json", skip_last=1))
    assert kinds(early) == {DeviceKind.HOOK: ["/dev/hidraw0"]}


@pytest.mark.parametrize(
    ("wanted", "cards"),
    [
        ("h340", ["card0"]),  # case-insensitive, from ID_MODEL_ENC
        ("logitech usb", ["card0"]),
        ("Actions", ["card2"]),  # the vendor's name
        ("USB", ["card0", "card2"]),  # the default: every USB card's PortAudio name has "USB Audio"
        ("Jabra", []),
    ],
)
def test_the_handset_audio_setting_picks_the_sound_card_by_name(wanted: str, cards: list[str]) -> None:
    table = table_after("handset_h340_plug.json", "sound_card_actions_dac.json")
    found = DeviceRules(handset_audio=wanted).presence(table)[DeviceKind.HANDSET]
    assert sorted(d.sys_path.rsplit("/", 1)[-1] for d in found) == cards


def test_without_udev_a_sound_card_is_ready_once_its_control_node_is_there() -> None:
    # The kernel's own uevents (source="kernel"): no USEC_INITIALIZED, no SOUND_INITIALIZED, no ID_*.
    card = UdevDevice(
        {"DEVPATH": "/devices/pci0000:00/usb1/1-2/1-2:1.0/sound/card1", "SUBSYSTEM": "sound"}, {"id": "H340"}
    )
    control = UdevDevice({"DEVPATH": card.devpath + "/controlC1", "SUBSYSTEM": "sound", "DEVNAME": "snd/controlC1"})
    table = DeviceTable([card])
    assert DeviceRules(handset_audio="H340").presence(table)[DeviceKind.HANDSET] == ()
    table.apply("add", control)
    found = DeviceRules(handset_audio="h340").presence(table)[DeviceKind.HANDSET]
    assert [(d.devnode, d.name) for d in found] == [("/dev/snd/controlC1", "H340")]


def test_a_hook_switch_is_a_hidraw_node_the_check_accepts_or_the_configured_node() -> None:
    table = table_after("handset_h340_plug.json", "touchscreen_epson_plug.json")
    assert kinds(h340_rules().presence(table))[DeviceKind.HOOK] == ["/dev/hidraw0"]
    nothing = h340_rules(has_hook_switch=lambda device: False).presence(table)
    assert DeviceKind.HOOK not in kinds(nothing)

    def broken(device: UdevDevice) -> bool:
        raise OSError("the device went away while its descriptor was read")

    assert DeviceKind.HOOK not in kinds(h340_rules(has_hook_switch=broken).presence(table))
    named = h340_rules(hook_device="/dev/hidraw10", has_hook_switch=broken).presence(table)
    assert [(d.devnode, d.name) for d in named[DeviceKind.HOOK]] == [("/dev/hidraw10", "EPSON EPSON EPSON 696Ui/696UT")]


def test_a_key_hook_switch_is_the_configured_event_node() -> None:
    table = table_after("handset_h340_plug.json")
    rules = h340_rules(hook_kind="key", hook_device="/dev/input/event1")
    hooks = rules.presence(table)[DeviceKind.HOOK]
    assert [(d.devnode, d.name) for d in hooks] == [
        ("/dev/input/event1", "Logitech Inc. Logitech USB Headset H340 Consumer Control")
    ]
    # A symlink udev made for the node names it as well.
    table = table_after("touchscreen_epson_plug.json")
    link = "/dev/input/by-id/usb-EPSON_EPSON_EPSON_696Ui_696UT-event-mouse"
    assert kinds(DeviceRules(hook_kind="key", hook_device=link).presence(table))[DeviceKind.HOOK] == [
        "/dev/input/event21"
    ]


def test_a_touchscreen_is_its_event_node_matched_by_name() -> None:
    table = table_after("touchscreen_epson_plug.json")
    found = DeviceRules().presence(table)
    assert kinds(found) == {DeviceKind.TOUCHSCREEN: ["/dev/input/event23"]}  # not mouse7, not the mouse's event21
    assert found[DeviceKind.TOUCHSCREEN][0].name == "EPSON EPSON EPSON 696Ui/696UT"
    assert kinds(DeviceRules(touchscreen_name="epson 696").presence(table)) == {
        DeviceKind.TOUCHSCREEN: ["/dev/input/event23"]
    }
    assert kinds(DeviceRules(touchscreen_name="ILITEK").presence(table)) == {}


def test_odd_devices_classify_as_nothing() -> None:
    odd = [
        UdevDevice({}),
        UdevDevice({"SUBSYSTEM": "sound"}),
        UdevDevice({"DEVPATH": "/devices/x/sound/card9", "SUBSYSTEM": "sound", "USEC_INITIALIZED": "1"}),
        UdevDevice({"DEVPATH": "/devices/x/video4linux/video9", "SUBSYSTEM": "video4linux"}),
        UdevDevice({"DEVPATH": "/devices/x/input/input9/event9", "SUBSYSTEM": "input", "ID_INPUT_TOUCHSCREEN": "1"}),
        UdevDevice({"DEVPATH": "/devices/x/hidraw/hidraw9", "SUBSYSTEM": "hidraw"}),
        UdevDevice({"DEVPATH": "/class/usbmisc", "SUBSYSTEM": "class"}),
    ]
    table = DeviceTable(odd)
    assert DeviceRules(handset_audio="x").presence(table) == no_devices()
    assert decode_udev_string("EPSON\\x20EPSON\\x20696Ui\\x2f696UT") == "EPSON EPSON 696Ui/696UT"


# -- the monitor, fed recorded events -------------------------------------------------------------


def test_a_plug_burst_is_reported_once_after_the_debounce(monitors: list[HotplugMonitor]) -> None:
    source, reports = RecordedSource(), Reports()
    monitor = HotplugMonitor(h340_rules(), reports, source, debounce_s=0.3)
    monitors.append(monitor)
    monitor.start()
    wait_for(lambda: len(reports) == 1, 5, "the presence at start")
    assert reports.presences[0] == no_devices()

    plug = recorded_events("handset_h340_plug.json")
    assert plug[-1][0] > 0.3  # the burst lasts longer than the debounce; no gap within it does
    last_fed = replay(source, plug)
    wait_for(lambda: len(reports) == 2, 5, "the plug burst's report")
    assert kinds(reports.presences[1]) == {
        DeviceKind.HANDSET: ["/dev/snd/controlC0"],
        DeviceKind.HOOK: ["/dev/hidraw0"],
    }
    assert reports.times[1] - last_fed >= 0.3 - 0.01  # after the burst went quiet, not during it
    assert monitor.presence == reports.presences[1]

    monitor.stop()  # the thread has ended: nothing more can be reported
    assert len(reports) == 2


def test_an_unplug_makes_the_devices_missing(monitors: list[HotplugMonitor]) -> None:
    plug = recorded_events("handset_h340_plug.json") + recorded_events("touchscreen_epson_plug.json")
    source, reports = RecordedSource(), Reports()
    monitor = HotplugMonitor(h340_rules(), reports, source, debounce_s=0.1)
    monitors.append(monitor)
    monitor.start()
    source.feed(e for _, e in plug)
    wait_for(lambda: len(reports) == 2, 5, "the plug's report")
    assert set(kinds(reports.presences[1])) == {DeviceKind.HANDSET, DeviceKind.HOOK, DeviceKind.TOUCHSCREEN}

    source.feed(unplugged(recorded_events("handset_h340_plug.json")))
    wait_for(lambda: len(reports) == 3, 5, "the unplug's report")
    assert kinds(reports.presences[2]) == {DeviceKind.TOUCHSCREEN: ["/dev/input/event23"]}


def test_removing_a_parent_removes_its_children_even_if_their_removes_were_lost(
    monitors: list[HotplugMonitor],
) -> None:
    source, reports = RecordedSource(), Reports()
    monitor = HotplugMonitor(h340_rules(), reports, source, debounce_s=0.05)
    monitors.append(monitor)
    monitor.start()
    source.feed(e for _, e in recorded_events("handset_h340_plug.json"))
    wait_for(lambda: len(reports) == 2, 5, "the plug's report")
    usb_device = recorded_events("handset_h340_plug.json")[0][1].device
    source.feed([UdevEvent("remove", usb_device)])  # only the USB device's own remove arrives
    wait_for(lambda: len(reports) == 3, 5, "the unplug's report")
    assert reports.presences[2] == no_devices()


def test_odd_events_change_nothing_and_break_nothing(monitors: list[HotplugMonitor]) -> None:
    source, reports = RecordedSource(recorded_devices("camera_c615.json")), Reports()
    monitor = HotplugMonitor(DeviceRules(), reports, source, debounce_s=0.05)
    monitors.append(monitor)
    monitor.start()
    wait_for(lambda: len(reports) == 1, 5, "the presence at start")
    assert kinds(reports.presences[0]) == {DeviceKind.CAMERA: ["/dev/video0"]}
    source.feed(
        [
            UdevEvent("add", UdevDevice({})),  # no DEVPATH
            UdevEvent("add", UdevDevice({"DEVPATH": "/devices/virtual/misc/x"})),  # no SUBSYSTEM
            UdevEvent("remove", UdevDevice({"DEVPATH": "/devices/never/seen", "SUBSYSTEM": "sound"})),
            UdevEvent("frobnicate", UdevDevice({"DEVPATH": "/devices/y/sound/card7", "SUBSYSTEM": "sound"})),
            UdevEvent("", UdevDevice({"DEVPATH": "/class/usbmisc", "SUBSYSTEM": "class"})),
            UdevEvent("move", UdevDevice({"DEVPATH": "/devices/z/hidraw/hidraw3", "SUBSYSTEM": "hidraw"})),
        ]
    )
    # A real change after the odd ones: its report proves they were read, and changed nothing themselves.
    _, metadata_node = recorded_devices("camera_c615.json")
    source.feed([UdevEvent("remove", recorded_devices("camera_c615.json")[0]), UdevEvent("add", metadata_node)])
    wait_for(lambda: len(reports) == 2, 5, "the camera's removal")
    assert reports.presences[1] == no_devices()
    monitor.stop()
    assert len(reports) == 2


def test_a_failing_listener_classifier_or_source_does_not_stop_the_monitor(monitors: list[HotplugMonitor]) -> None:
    class FlakyRules(DeviceRules):
        calls = 0

        def presence(self, table: DeviceTable) -> dict[DeviceKind, tuple[FoundDevice, ...]]:
            FlakyRules.calls += 1
            if FlakyRules.calls == 2:
                raise RuntimeError("a bug in the rules")
            return super().presence(table)

    class LosingSource(RecordedSource):
        """Drops events once, as an overflowing netlink socket does; existing() then shows the truth."""

        lose = False
        there: list[UdevDevice] = []  # noqa: RUF012

        def existing(self) -> list[UdevDevice]:
            return list(self.there)

        def next_event(self, timeout: float | None) -> UdevEvent | None:
            if self.lose:
                self.lose = False
                raise EventsLost("overflow")
            return super().next_event(timeout)

    seen: list[Presence] = []

    def listener(presence: Presence) -> None:
        seen.append(presence)
        if len(seen) == 1:
            raise RuntimeError("a bug in the listener")

    source = LosingSource()
    monitor = HotplugMonitor(FlakyRules(), listener, source, debounce_s=0.05)
    monitors.append(monitor)
    monitor.start()
    camera = recorded_devices("camera_c615.json")[0]
    source.feed([UdevEvent("add", camera)])  # classified while FlakyRules fails: no report
    wait_for(lambda: FlakyRules.calls >= 2, 5, "the failing classification")
    source.feed([UdevEvent("change", camera)])
    wait_for(lambda: len(seen) == 2, 5, "a report after the failures")
    assert kinds(seen[1]) == {DeviceKind.CAMERA: ["/dev/video0"]}

    source.there = []  # the camera went while events were lost
    source.lose = True
    source.feed([UdevEvent("change", UdevDevice({"DEVPATH": "/devices/nothing", "SUBSYSTEM": "sound"}))])
    wait_for(lambda: len(seen) == 3, 5, "the report after re-reading every device")
    assert seen[2] == no_devices()


def test_a_device_that_never_goes_quiet_is_still_reported(monitors: list[HotplugMonitor]) -> None:
    source, reports = RecordedSource(), Reports()
    monitor = HotplugMonitor(DeviceRules(), reports, source, debounce_s=0.3, max_delay_s=0.5)
    monitors.append(monitor)
    monitor.start()
    wait_for(lambda: len(reports) == 1, 5, "the presence at start")
    camera = recorded_devices("camera_c615.json")[0]
    started = time.monotonic()
    source.feed([UdevEvent("add", camera)])
    while len(reports) < 2 and time.monotonic() - started < 3:
        source.feed([UdevEvent("change", camera)])  # a change every 0.1 s: never 0.3 s of quiet
        time.sleep(0.1)
    assert len(reports) == 2  # reported while the events kept coming
    assert reports.times[1] - started < 1.5  # about max_delay_s; the margin is for a loaded machine


# -- the monitor on real kernel events ------------------------------------------------------------


class NetInterfaces:
    """Stand-in rules for this machine, which has no camera, sound card or input device: the network
    interfaces whose name starts with `prefix` count as "cameras", named with the last event's number."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    @property
    def subsystems(self) -> frozenset[str]:
        return frozenset({"net"})

    def presence(self, table: DeviceTable) -> dict[DeviceKind, tuple[FoundDevice, ...]]:
        found = no_devices()
        found[DeviceKind.CAMERA] = tuple(
            FoundDevice(DeviceKind.CAMERA, d.sys_path, "", f"{d.get('INTERFACE')} #{d.get('SEQNUM')}")
            for d in table
            if d.get("INTERFACE").startswith(self.prefix)
        )
        return found


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)


def test_the_monitor_sees_real_kernel_events_of_this_namespace(monitors: list[HotplugMonitor]) -> None:
    # The session runs in its own network namespace (tests/conftest.py): a veth pair made here is announced
    # to this namespace's netlink sockets only. Its burst has ten events (net and queues) within milliseconds.
    reports = Reports()
    monitor = HotplugMonitor(NetInterfaces("hpt"), reports, PyudevSource("kernel"), debounce_s=0.2)
    monitors.append(monitor)
    monitor.start()
    wait_for(lambda: len(reports) == 1, 5, "the presence at start")
    assert reports.presences[0][DeviceKind.CAMERA] == ()
    made = run("ip", "link", "add", "hpt0", "type", "veth", "peer", "name", "hpt1")
    if made.returncode != 0:
        pytest.skip(f"cannot make a veth pair here: {made.stderr.strip()}")
    try:
        wait_for(lambda: len(reports) == 2, 5, "the veth pair's add events")
        assert sorted(d.name.split(" ")[0] for d in reports.presences[1][DeviceKind.CAMERA]) == ["hpt0", "hpt1"]
    finally:
        run("ip", "link", "del", "hpt0")
    wait_for(lambda: len(reports) == 3, 5, "the veth pair's remove events")
    assert reports.presences[2][DeviceKind.CAMERA] == ()


def test_the_lo_uevent_trick_works_through_the_namespaces_own_sysfs(
    monitors: list[HotplugMonitor], tmp_path: Path
) -> None:
    # /sys here is the machine's: its /sys/class/net/lo is the machine's lo, whose uevent goes to the machine's
    # namespace, not this one. A sysfs mounted from inside this namespace (in a mount namespace of its own, so
    # nothing else sees it) shows this namespace's lo, and writing its uevent file reaches this namespace.
    reports = Reports()
    monitor = HotplugMonitor(NetInterfaces("lo"), reports, PyudevSource("kernel"), debounce_s=0.1)
    monitors.append(monitor)
    monitor.start()
    wait_for(lambda: len(reports) == 1, 5, "the presence at start")
    script = f'mount -t sysfs sysfs "{tmp_path}" && echo change > "{tmp_path}/class/net/lo/uevent"'
    written = run("unshare", "--mount", "sh", "-c", script)
    if written.returncode != 0:
        pytest.skip(f"cannot mount a sysfs for this namespace: {written.stderr.strip()}")
    wait_for(lambda: len(reports) == 2, 5, "the change event of this namespace's lo")
    [lo] = reports.presences[1][DeviceKind.CAMERA]
    assert lo.sys_path == "/sys/devices/virtual/net/lo"
    assert re.fullmatch(r"lo #\d+", lo.name)  # SEQNUM: it came from the kernel just now


def test_stop_is_prompt_and_idempotent() -> None:
    monitor = HotplugMonitor(DeviceRules(), lambda presence: None, PyudevSource("kernel"))
    monitor.stop()  # never started: nothing to do
    monitor.start()
    started = time.monotonic()
    monitor.stop()
    assert time.monotonic() - started < 0.5
    monitor.stop()
    thread_names = [t.name for t in threading.enumerate()]
    assert "hotplug" not in thread_names


# -- the touchscreen's udev rule ------------------------------------------------------------------


def transform(matrix: tuple[float, ...], point: tuple[float, float]) -> tuple[float, float]:
    a, b, c, d, e, f = matrix
    x, y = point
    return (a * x + b * y + c, d * x + e * y + f)


RULE_LINE = re.compile(r'([A-Z_]+(?:\{[A-Za-z_]+\})?)(==|!=|\+=|:=|=)"([^"\\]*)"')


def parse_rule(text: str) -> list[tuple[str, str, str]]:
    """The (key, operator, value) list of the one rule in `text`; fails on anything else in it."""
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert len(lines) == 1, lines
    keys = RULE_LINE.findall(lines[0])
    assert ", ".join(f'{k}{op}"{v}"' for k, op, v in keys) == lines[0]
    return keys


@pytest.mark.parametrize(
    ("rotation", "expected"),
    [(0, "1 0 0 0 1 0"), (90, "0 -1 1 1 0 0"), (180, "-1 0 1 0 -1 1"), (270, "0 1 0 -1 0 1")],
)
def test_the_rule_sets_libinputs_matrix_for_each_rotation(rotation: int, expected: str) -> None:
    keys = parse_rule(calibration_rule("ILITEK Multi-Touch-V5000", rotation))
    assert keys == [
        ("ACTION", "==", "add|change"),
        ("SUBSYSTEM", "==", "input"),
        ("KERNEL", "==", "event*"),
        ("ENV{ID_INPUT_TOUCHSCREEN}", "==", "1"),
        ("ATTRS{name}", "==", "*ILITEK Multi-Touch-V5000*"),
        ("ENV{LIBINPUT_CALIBRATION_MATRIX}", "=", expected),
    ]
    # Each rotation maps the panel's corners onto the corners, turned clockwise.
    corners = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]
    turned = [transform(ROTATIONS[rotation], p) for p in corners]
    quarter = rotation // 90
    assert turned == corners[quarter:] + corners[:quarter]


def test_the_calibration_applies_after_the_rotation() -> None:
    calibration = (1.1, 0.0, -0.05, 0.0, 1.05, -0.02)
    matrix = calibration_matrix(90, calibration)
    assert matrix == pytest.approx((0.0, -1.1, 1.05, 1.05, 0.0, -0.02))
    for point in [(0.0, 0.0), (0.25, 0.75), (1.0, 1.0)]:
        expected = transform(calibration, transform(ROTATIONS[90], point))
        assert transform(matrix, point) == pytest.approx(expected)
    keys = dict((k, v) for k, _, v in parse_rule(calibration_rule("", 90, calibration)))
    assert keys["ENV{LIBINPUT_CALIBRATION_MATRIX}"] == "0 -1.1 1.05 1.05 0 -0.02"
    assert "ATTRS{name}" not in keys  # no name: every touchscreen (a kiosk has one)


def test_a_hostile_name_cannot_break_out_of_the_rule() -> None:
    hostile = 'x", RUN+="/bin/sh -c reboot" #\n$kernel %k|\\ é'
    text = calibration_rule(hostile, 180)
    assert len(text.splitlines()) == 3  # two comments and the rule
    keys = parse_rule(text)
    assert [k for k, _, _ in keys] == [
        "ACTION",
        "SUBSYSTEM",
        "KERNEL",
        "ENV{ID_INPUT_TOUCHSCREEN}",
        "ATTRS{name}",
        "ENV{LIBINPUT_CALIBRATION_MATRIX}",
    ]
    pattern = dict((k, v) for k, _, v in keys)["ATTRS{name}"]
    assert pattern == "*x*, RUN+*/bin/sh -c reboot* *kernel *k* *"
    assert not set(pattern) & set('"\\|$%\n')
    assert name_pattern("eGalax Inc. eGalaxTouch P80H84") == "*eGalax Inc. eGalaxTouch P80H84*"


def test_bad_rotations_and_calibrations_are_refused() -> None:
    with pytest.raises(ValueError, match="rotation"):
        calibration_rule("x", 45)
    with pytest.raises(ValueError, match="six finite"):
        calibration_rule("x", 0, (1.0, 0.0, float("nan"), 0.0, 1.0, 0.0))
    with pytest.raises(ValueError, match="six finite"):
        calibration_rule("x", 0, (1.0, 0.0))


def test_this_machine_has_no_touchscreen() -> None:
    assert find_touchscreens() == ()


# -- device health ------------------------------------------------------------------------------


def presence_of(*names: str, rules: DeviceRules | None = None) -> Presence:
    return (rules or h340_rules()).presence(table_after(*names))


def camera_health(state: CameraState, detail: str) -> CameraHealth:
    return CameraHealth(state, fps=0.0, frame_age_s=None, detail=detail)


def test_simulated_devices_are_always_ok() -> None:
    health = DeviceHealth(real=[], presence=no_devices())
    assert all(s.state is DeviceState.OK and not s.required for s in health.statuses())
    assert health.update_camera(camera_health(CameraState.LOST, "no frame for 3.0 s")) is False
    assert health.out_of_service_reason() is None


def test_an_unplugged_handset_puts_the_terminal_out_of_service_until_it_is_back() -> None:
    plugged = presence_of("handset_h340_plug.json")
    health = DeviceHealth(real=[DeviceKind.HANDSET, DeviceKind.HOOK], presence=plugged)
    assert health.out_of_service_reason() is None
    assert (
        health.status(DeviceKind.HANDSET).reason == "The handset's sound device (Logitech USB Headset H340) is working."
    )

    assert health.update_presence(no_devices()) is True
    assert health.status(DeviceKind.HANDSET).state is DeviceState.MISSING
    reason = health.out_of_service_reason()
    assert reason is not None
    assert reason.message == (
        "The handset is not working, so visits cannot take place at this terminal. Staff have been told."
    )
    assert reason.detail == (
        "The handset's sound device (Logitech USB Headset H340) is not connected. "
        "The handset's hook switch (Logitech Inc. Logitech USB Headset H340) is not connected."
    )
    assert health.update_presence(no_devices()) is False  # nothing new: no update to pass on
    assert health.update_presence(plugged) is True
    assert health.out_of_service_reason() is None


def test_the_camera_counts_missing_when_it_gives_no_picture_and_degraded_when_slow() -> None:
    present = presence_of("camera_c615.json", rules=DeviceRules())
    health = DeviceHealth(real=[DeviceKind.CAMERA], presence=present)
    assert health.update_camera(camera_health(CameraState.DEGRADED, "12.0 fps of 30 expected")) is True
    status = health.status(DeviceKind.CAMERA)
    assert (status.state, status.reason) == (
        DeviceState.DEGRADED,
        "The camera (HD Webcam C615) is not at full speed (12.0 fps of 30 expected).",
    )
    assert health.out_of_service_reason() is None
    health.update_camera(camera_health(CameraState.LOST, "no frame for 2.4 s"))
    reason = health.out_of_service_reason()
    assert reason is not None
    assert reason.message.startswith("The camera is not working")
    assert reason.detail == "The camera (HD Webcam C615) gives no picture (no frame for 2.4 s)."
    health.update_camera(camera_health(CameraState.OK, "29.9 fps"))
    assert health.out_of_service_reason() is None


def test_several_missing_devices_are_named_together() -> None:
    health = DeviceHealth(real=list(DeviceKind), presence=no_devices())
    reason = health.out_of_service_reason()
    assert reason is not None
    assert reason.message == (
        "The camera, the handset and the touchscreen are not working, so visits cannot take place at this "
        "terminal. Staff have been told."
    )


def test_auto_devices_are_required_only_if_they_were_there_at_start() -> None:
    at_start = presence_of("handset_h340_plug.json")
    choices = {
        DeviceKind.CAMERA: "auto",  # not there at start: the simulated camera runs, and stays ok
        DeviceKind.HANDSET: "auto",
        DeviceKind.HOOK: "real",
        DeviceKind.TOUCHSCREEN: "simulated",
    }
    health = DeviceHealth.for_choices(choices, at_start)
    assert health.real == {DeviceKind.HANDSET, DeviceKind.HOOK}
    health.update_presence(no_devices())
    assert [s.kind for s in health.statuses() if s.state is DeviceState.MISSING] == [
        DeviceKind.HANDSET,
        DeviceKind.HOOK,
    ]


def test_the_monitor_drives_device_health(monitors: list[HotplugMonitor]) -> None:
    # The wiring the terminal uses: monitor -> (core loop) -> DeviceHealth -> out-of-service screen.
    health = DeviceHealth(real=[DeviceKind.HANDSET, DeviceKind.HOOK])
    changes: list[bool] = []
    source = RecordedSource()
    monitor = HotplugMonitor(h340_rules(), lambda p: changes.append(health.update_presence(p)), source, 0.05)
    monitors.append(monitor)
    monitor.start()
    wait_for(lambda: len(changes) == 1, 5, "the presence at start")
    assert health.out_of_service_reason() is not None  # nothing plugged in yet
    source.feed(e for _, e in recorded_events("handset_h340_plug.json"))
    wait_for(lambda: len(changes) == 2, 5, "the plug's report")
    assert health.out_of_service_reason() is None
    source.feed(unplugged(recorded_events("handset_h340_plug.json")))
    wait_for(lambda: len(changes) == 3, 5, "the unplug's report")
    reason = health.out_of_service_reason()
    assert reason is not None and reason.message.startswith("The handset is not working")

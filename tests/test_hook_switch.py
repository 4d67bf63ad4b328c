"""The handset's hook switch drivers: the debounce rule, HID reports from real devices' report descriptors
replayed through a pipe, and raw Linux input events replayed the same way.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from evdev import ecodes

from drivers.debounced_hook import DebouncedHook, Debouncer
from drivers.evdev_hook import INPUT_EVENT, EvdevHookReader, HookCode, decode_events
from drivers.hid_hook import (
    HOOK_SWITCH_USAGE,
    HidHookReader,
    HookField,
    NoHookSwitch,
    descriptor_path,
    find_hook_field,
    find_hook_hidraw,
)

DATA = Path(__file__).parent / "data" / "hid"
WAIT = 5.0  # seconds: only ever reached when something is broken


# --- test doubles --------------------------------------------------------------------------------------


class ManualClock:
    """A monotonic clock that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Calls:
    """A hook listener that keeps what it was told, and on which thread."""

    def __init__(self) -> None:
        self.values: list[bool] = []
        self.threads: set[int] = set()
        self._changed = threading.Condition()

    @classmethod
    def on(cls, hook: DebouncedHook) -> Calls:
        """A new one, listening to `hook`."""
        calls = cls()
        hook.add_listener(calls)
        return calls

    def __call__(self, lifted: bool) -> None:
        with self._changed:
            self.values.append(lifted)
            self.threads.add(threading.get_ident())
            self._changed.notify_all()

    def wait_for(self, count: int) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: len(self.values) >= count, WAIT)


class RecordingHook(DebouncedHook):
    """A DebouncedHook that also keeps every raw reading fed to it, so a test knows what a reader has read."""

    def __init__(self, debounce_ms: int = 0, clock: Callable[[], float] = time.monotonic) -> None:
        self.fed: list[bool] = []
        self._fed_changed = threading.Condition()
        super().__init__(debounce_ms, clock=clock)

    def feed(self, lifted: bool) -> None:
        super().feed(lifted)
        with self._fed_changed:
            self.fed.append(lifted)
            self._fed_changed.notify_all()

    def wait_fed(self, count: int) -> bool:
        with self._fed_changed:
            return self._fed_changed.wait_for(lambda: len(self.fed) >= count, WAIT)


@dataclass
class Recording:
    """A device in hid-recorder's text format: its report descriptor and its input reports."""

    descriptor: bytes
    reports: list[bytes]


def load_recording(name: str) -> Recording:
    descriptor = b""
    reports: list[bytes] = []
    for line in (DATA / name).read_text().splitlines():
        kind, _, rest = line.partition(": ")
        if kind == "R":
            count, _, data = rest.partition(" ")
            descriptor = bytes.fromhex(data)
            assert len(descriptor) == int(count)
        elif kind == "E":
            _seconds, count, data = rest.split(" ", 2)
            reports.append(bytes.fromhex(data))
            assert len(reports[-1]) == int(count)
    return Recording(descriptor, reports)


def hook_field(recording: Recording) -> HookField:
    """The hook switch in the recorded device's report descriptor, which the test knows is there."""
    field = find_hook_field(recording.descriptor)
    assert field is not None
    return field


JABRA = load_recording("jabra_link_380c.hid")  # report IDs; the hook switch in report 2
HS100B = load_recording("cmedia_hs100b.hid")  # no report IDs
MOUSE = load_recording("genius_gila_mouse.hid")  # no hook switch

# A telephony keypad that lists Hook Switch among the usages of an array field, as the HID Usage Tables'
# examples do. Synthetic (no real device of this kind was found): Usage Page (Telephony), Usage (Phone),
# Collection (Application), Logical 0..3, Usages (Unassigned, Hook Switch, Flash, Phone Mute),
# Report Size 8, Report Count 2, Input (Data,Array,Abs), End Collection.
KEYPAD_ARRAY = bytes.fromhex("05 0b 09 01 a1 01 15 00 25 03 09 00 09 20 09 21 09 2f 75 08 95 02 81 00 c0")


@pytest.fixture
def make_hook() -> Iterator[Callable[..., RecordingHook]]:
    hooks: list[RecordingHook] = []

    def make(debounce_ms: int = 0, clock: Callable[[], float] = time.monotonic) -> RecordingHook:
        hooks.append(RecordingHook(debounce_ms, clock))
        return hooks[-1]

    yield make
    for hook in hooks:
        hook.close()


class Pipe:
    """A pipe standing in for a device node: the reader under test owns the read end, the test writes."""

    def __init__(self, packets: bool) -> None:
        # Packet mode (O_DIRECT) makes each write come back as one read, as hidraw returns one report per
        # read; without it the pipe is a byte stream, like an evdev node read with a large buffer.
        self.read_end, self._write_end = os.pipe2(os.O_CLOEXEC | (os.O_DIRECT if packets else 0))
        self._open = True

    def write(self, *chunks: bytes) -> None:
        for chunk in chunks:
            os.write(self._write_end, chunk)

    def unplug(self, reader: HidHookReader | EvdevHookReader | None = None) -> None:
        """Ends the stream; with a reader, waits until it has noticed, i.e. handled everything before."""
        if self._open:
            os.close(self._write_end)
            self._open = False
        if reader is not None:
            assert reader.lost.wait(WAIT)


@pytest.fixture
def packet_pipe() -> Iterator[Pipe]:
    pipe = Pipe(packets=True)
    yield pipe
    pipe.unplug()


@pytest.fixture
def stream_pipe() -> Iterator[Pipe]:
    pipe = Pipe(packets=False)
    yield pipe
    pipe.unplug()


# --- the debounce rule ---------------------------------------------------------------------------------


def test_a_change_is_reported_once_it_has_held_for_the_delay() -> None:
    debouncer = Debouncer(0.040)
    debouncer.feed(True, now=1.000)
    assert debouncer.settle(1.039) is None
    assert debouncer.due() == pytest.approx(1.040)
    assert debouncer.settle(1.040) is True
    assert debouncer.reported is True
    assert debouncer.settle(2.0) is None  # reported once


def test_each_bounce_restarts_the_wait() -> None:
    debouncer = Debouncer(0.040)
    for at, lifted in [(1.000, True), (1.002, False), (1.004, True), (1.006, False), (1.008, True)]:
        debouncer.feed(lifted, at)
    assert debouncer.settle(1.047) is None
    assert debouncer.settle(1.048) is True


def test_a_glitch_shorter_than_the_delay_is_never_reported() -> None:
    debouncer = Debouncer(0.040)
    debouncer.feed(True, 1.000)
    debouncer.feed(False, 1.003)
    assert not debouncer.pending
    assert debouncer.settle(5.0) is None


def test_repeating_the_same_reading_does_not_restart_the_wait() -> None:
    debouncer = Debouncer(0.040)
    debouncer.feed(True, 1.000)
    debouncer.feed(True, 1.030)
    assert debouncer.settle(1.040) is True


def test_no_debounce_reports_at_once() -> None:
    debouncer = Debouncer(0.0)
    debouncer.feed(True, 7.0)
    assert debouncer.settle(7.0) is True


def test_a_negative_delay_is_refused() -> None:
    with pytest.raises(ValueError):
        Debouncer(-0.001)


# --- DebouncedHook: the rule on its own thread -------------------------------------------------------


def test_a_bouncing_lift_calls_the_listeners_once(make_hook: Callable[..., RecordingHook]) -> None:
    clock = ManualClock()
    hook = make_hook(40, clock=clock)
    calls = Calls.on(hook)
    for lifted in [True, False, True, False, True, False, True]:  # a lift with three bounces
        hook.feed(lifted)
        clock.advance(0.002)
    assert not hook.wait_idle(0)  # the clock has not moved past the debounce time: nothing can be reported
    assert calls.values == []
    assert hook.lifted is False
    clock.advance(0.040)
    assert hook.wait_idle(WAIT)
    assert calls.values == [True]
    assert hook.lifted is True


def test_without_debounce_every_change_is_reported_in_order(make_hook: Callable[..., RecordingHook]) -> None:
    hook = make_hook(0)
    calls = Calls.on(hook)
    for lifted in [True, False, True]:
        hook.feed(lifted)
        assert hook.wait_idle(WAIT)
    assert calls.values == [True, False, True]


def test_a_failing_listener_stops_neither_the_others_nor_later_changes(
    make_hook: Callable[..., RecordingHook],
) -> None:
    hook = make_hook(0)

    def broken(lifted: bool) -> None:
        raise RuntimeError("listener bug")

    calls, more_calls = Calls(), Calls()
    hook.add_listener(calls)
    hook.add_listener(broken)
    hook.add_listener(more_calls)
    hook.feed(True)
    assert hook.wait_idle(WAIT)
    hook.feed(False)
    assert hook.wait_idle(WAIT)
    assert calls.values == more_calls.values == [True, False]
    # Every listener call comes from the hook's one thread, never from the feeding thread.
    assert len(calls.threads | more_calls.threads) == 1
    assert threading.get_ident() not in calls.threads


# --- the hook switch in HID report descriptors ---------------------------------------------------------


def test_the_jabra_hook_switch_is_in_report_2() -> None:
    field = hook_field(JABRA)
    assert field.report_id == 2
    assert field.field.usage == HOOK_SWITCH_USAGE
    lifted, hung_up = JABRA.reports
    assert field.decode(lifted) is True
    assert field.decode(hung_up) is False


def test_the_hs100b_hook_switch_needs_no_report_id() -> None:
    field = hook_field(HS100B)
    assert field.report_id is None
    lifted, hung_up = HS100B.reports
    assert field.decode(lifted) is True
    assert field.decode(hung_up) is False
    assert field.decode(bytes([0xFF ^ lifted[0], 0xFF, 0xFF, 0xFF])) is False  # every other bit set


def test_a_mouse_has_no_hook_switch() -> None:
    assert find_hook_field(MOUSE.descriptor) is None


@pytest.mark.parametrize(
    "descriptor",
    [b"", b"\x00\x00", b"\x05", b"\xc0\xb4", JABRA.descriptor[:7]],
    ids=["empty", "type-0-item", "truncated-item", "pop-without-push", "cut-short"],
)
def test_a_malformed_descriptor_has_no_hook_switch(descriptor: bytes) -> None:
    assert find_hook_field(descriptor) is None


def test_a_vendor_usage_0x20_is_not_the_hook_switch() -> None:
    # The Jabra's report 4 is a vendor page (0xFF30) that reuses the number 0x20.
    field = hook_field(JABRA)
    assert field.decode(bytes([4, 0x01, 0x00])) is None


def test_a_hook_switch_in_an_array_field() -> None:
    field = find_hook_field(KEYPAD_ARRAY)
    assert field is not None
    assert field.decode(bytes([1, 0])) is True  # index 1: Hook Switch
    assert field.decode(bytes([0, 1])) is True
    assert field.decode(bytes([2, 3])) is False  # Flash and Phone Mute
    assert field.decode(bytes([9, 0])) is False  # out of range: no usage


# --- HidHookReader: reports through a pipe -------------------------------------------------------------


@pytest.mark.parametrize("recording", [JABRA, HS100B], ids=["jabra-report-id", "hs100b-no-report-id"])
def test_replayed_reports_lift_and_hang_up(
    recording: Recording, packet_pipe: Pipe, make_hook: Callable[..., RecordingHook]
) -> None:
    pipe = packet_pipe
    field = hook_field(recording)
    hook = make_hook(0)
    calls = Calls.on(hook)
    reader = HidHookReader(pipe.read_end, field, hook)
    pipe.write(*recording.reports)
    assert calls.wait_for(2)
    assert calls.values == [True, False]
    reader.close()


def test_malformed_reports_are_skipped(packet_pipe: Pipe, make_hook: Callable[..., RecordingHook]) -> None:
    pipe = packet_pipe
    field = hook_field(JABRA)
    hook = make_hook(0)
    reader = HidHookReader(pipe.read_end, field, hook)
    lifted, _hung_up = JABRA.reports
    pipe.write(
        lifted[:2],  # short
        bytes([4, 0x01, 0x00]),  # another report ID (the vendor one, with its own bit 0 set)
        bytes([1, 0xFF, 0xFF]),  # the volume keys' report
        bytes([0x7F, 0x01, 0x00]),  # an ID the device does not have
        bytes(1000),  # 1000 zero bytes: report ID 0, which a numbered device never sends
        lifted,
    )
    pipe.unplug(reader)
    assert hook.fed == [True]
    reader.close()


def test_a_bouncing_cradle_switch_is_one_lift(packet_pipe: Pipe, make_hook: Callable[..., RecordingHook]) -> None:
    pipe = packet_pipe
    field = hook_field(HS100B)
    clock = ManualClock()
    hook = make_hook(40, clock=clock)
    calls = Calls.on(hook)
    reader = HidHookReader(pipe.read_end, field, hook)
    lifted, hung_up = HS100B.reports
    for count, report in enumerate([lifted, hung_up, lifted, hung_up, lifted, hung_up, lifted], start=1):
        pipe.write(report)
        assert hook.wait_fed(count)  # read at this moment of the (manual) clock
        clock.advance(0.002)
    assert calls.values == []
    clock.advance(0.040)
    assert hook.wait_idle(WAIT)
    assert calls.values == [True]
    reader.close()


def test_an_inverted_switch_is_lifted_when_released(packet_pipe: Pipe, make_hook: Callable[..., RecordingHook]) -> None:
    pipe = packet_pipe
    field = hook_field(HS100B)
    hook = make_hook(0)
    calls = Calls.on(hook)
    reader = HidHookReader(pipe.read_end, field, hook, inverted=True)
    switch_on, switch_off = HS100B.reports
    pipe.write(switch_on, switch_off, switch_on)
    pipe.unplug(reader)
    assert hook.fed == [False, True, False]
    assert hook.wait_idle(WAIT)
    assert calls.values == [True, False]
    reader.close()


def test_an_unplugged_device_is_reported_lost(packet_pipe: Pipe, make_hook: Callable[..., RecordingHook]) -> None:
    pipe = packet_pipe
    field = hook_field(JABRA)
    lost_on: list[str] = []
    lost = threading.Event()

    def on_lost() -> None:
        lost_on.append(threading.current_thread().name)
        lost.set()

    reader = HidHookReader(pipe.read_end, field, make_hook(0), on_lost=on_lost, name="hidraw7")
    pipe.write(JABRA.reports[0])
    pipe.unplug()
    assert lost.wait(WAIT)
    assert reader.lost.is_set()
    assert lost_on == ["hook-hidraw7"]
    reader.close()  # after a loss, close() only tidies up


def test_a_closed_reader_is_not_lost(packet_pipe: Pipe, make_hook: Callable[..., RecordingHook]) -> None:
    pipe = packet_pipe
    field = hook_field(JABRA)
    lost: list[bool] = []
    reader = HidHookReader(pipe.read_end, field, make_hook(0), on_lost=lambda: lost.append(True))
    reader.close()
    assert not reader.lost.is_set()
    assert lost == []


# --- finding the device --------------------------------------------------------------------------------


def fake_sysfs(root: Path, devices: dict[str, bytes]) -> Path:
    for name, descriptor in devices.items():
        (root / name / "device").mkdir(parents=True)
        (root / name / "device" / "report_descriptor").write_bytes(descriptor)
    return root


def test_the_first_device_with_a_hook_switch_is_found(tmp_path: Path) -> None:
    sysfs = fake_sysfs(
        tmp_path,
        {"hidraw0": MOUSE.descriptor, "hidraw2": HS100B.descriptor, "hidraw10": JABRA.descriptor},
    )
    assert find_hook_hidraw(sysfs) == "/dev/hidraw2"  # numbered order: hidraw10 comes after hidraw2


def test_no_device_with_a_hook_switch(tmp_path: Path) -> None:
    assert find_hook_hidraw(fake_sysfs(tmp_path, {"hidraw0": MOUSE.descriptor})) is None
    assert find_hook_hidraw(tmp_path / "no-hidraw-class") is None


def test_opening_a_device_without_a_hook_switch_says_so(
    tmp_path: Path, make_hook: Callable[..., RecordingHook]
) -> None:
    sysfs = fake_sysfs(tmp_path / "sys", {"hidraw3": MOUSE.descriptor})
    device = tmp_path / "hidraw3"
    device.touch()
    assert descriptor_path(str(device), sysfs) == sysfs / "hidraw3" / "device" / "report_descriptor"
    with pytest.raises(NoHookSwitch):
        HidHookReader.open(str(device), make_hook(0), sysfs=sysfs)


# --- Linux input events --------------------------------------------------------------------------------


def event(kind: int, code: int, value: int) -> bytes:
    return INPUT_EVENT.pack(1_700_000_000, 250_000, kind, code, value)


def syn() -> bytes:
    return event(ecodes.EV_SYN, ecodes.SYN_REPORT, 0)


def test_key_and_switch_names() -> None:
    assert HookCode.from_name("KEY_PHONE") == HookCode("KEY_PHONE", ecodes.EV_KEY, ecodes.KEY_PHONE)
    assert HookCode.from_name("BTN_0").type == ecodes.EV_KEY
    assert HookCode.from_name("SW_LID") == HookCode("SW_LID", ecodes.EV_SW, ecodes.SW_LID)


@pytest.mark.parametrize("name", ["KEY_NO_SUCH_KEY", "SW_NOPE", "ABS_X", "phone", ""])
def test_an_unknown_key_name_is_refused(name: str, make_hook: Callable[..., RecordingHook]) -> None:
    with pytest.raises(ValueError, match="not a Linux input key or switch name"):
        HookCode.from_name(name)
    with pytest.raises(ValueError):
        EvdevHookReader.open("/dev/input/no-such-device", name, make_hook(0))


def test_records_split_across_reads_are_joined() -> None:
    data = event(ecodes.EV_KEY, ecodes.KEY_PHONE, 1) + syn()
    events, rest = decode_events(data[:30])
    assert events == [(ecodes.EV_KEY, ecodes.KEY_PHONE, 1)]
    events, rest = decode_events(rest + data[30:])
    assert events == [(ecodes.EV_SYN, ecodes.SYN_REPORT, 0)]
    assert rest == b""


def test_key_phone_lifts_and_hangs_up(stream_pipe: Pipe, make_hook: Callable[..., RecordingHook]) -> None:
    pipe = stream_pipe
    hook = make_hook(0)
    calls = Calls.on(hook)
    reader = EvdevHookReader(pipe.read_end, HookCode.from_name("KEY_PHONE"), hook)
    phone = ecodes.KEY_PHONE
    stream = [
        event(ecodes.EV_KEY, phone, 1) + syn(),  # pressed
        event(ecodes.EV_KEY, phone, 2) + syn(),  # autorepeat while held
        event(ecodes.EV_KEY, phone, 2) + syn(),
        event(ecodes.EV_KEY, ecodes.KEY_A, 1) + syn(),  # another key
        event(ecodes.EV_KEY, ecodes.KEY_A, 0) + syn(),
        event(ecodes.EV_MSC, ecodes.MSC_SCAN, 0x000B0020) + event(ecodes.EV_KEY, phone, 0) + syn(),  # released
    ]
    whole = b"".join(stream)
    pipe.write(whole[:50], whole[50:])  # a record cut in two by the pipe
    pipe.unplug(reader)
    assert hook.fed == [True, False]
    assert hook.wait_idle(WAIT)
    assert calls.values == [True, False]
    reader.close()


def test_a_switch_lifts_and_hangs_up(stream_pipe: Pipe, make_hook: Callable[..., RecordingHook]) -> None:
    pipe = stream_pipe
    hook = make_hook(0)
    reader = EvdevHookReader(pipe.read_end, HookCode.from_name("SW_LID"), hook)
    pipe.write(
        event(ecodes.EV_SW, ecodes.SW_LID, 1) + syn(),
        event(ecodes.EV_SW, ecodes.SW_TABLET_MODE, 1) + syn(),  # another switch
        event(ecodes.EV_KEY, ecodes.SW_LID, 0) + syn(),  # the same number as a key: not the switch
        event(ecodes.EV_SW, ecodes.SW_LID, 0) + syn(),
    )
    pipe.unplug(reader)
    assert hook.fed == [True, False]
    reader.close()


def test_an_inverted_key_is_lifted_when_released(stream_pipe: Pipe, make_hook: Callable[..., RecordingHook]) -> None:
    pipe = stream_pipe
    hook = make_hook(0)
    reader = EvdevHookReader(pipe.read_end, HookCode.from_name("KEY_PHONE"), hook, inverted=True)
    pipe.write(event(ecodes.EV_KEY, ecodes.KEY_PHONE, 1) + syn(), event(ecodes.EV_KEY, ecodes.KEY_PHONE, 0))
    pipe.unplug(reader)
    assert hook.fed == [False, True]
    reader.close()


def test_after_dropped_events_the_device_state_is_asked(
    stream_pipe: Pipe, make_hook: Callable[..., RecordingHook]
) -> None:
    pipe = stream_pipe
    hook = make_hook(0)
    reader = EvdevHookReader(pipe.read_end, HookCode.from_name("KEY_PHONE"), hook, query_state=lambda: True)
    # The kernel's buffer overflowed: the release that follows may be stale, the device knows better.
    pipe.write(event(ecodes.EV_SYN, ecodes.SYN_DROPPED, 0) + event(ecodes.EV_KEY, ecodes.KEY_PHONE, 0))
    pipe.unplug(reader)
    assert hook.fed == [True]
    reader.close()


def test_an_unplugged_input_device_is_reported_lost(stream_pipe: Pipe, make_hook: Callable[..., RecordingHook]) -> None:
    pipe = stream_pipe
    lost = threading.Event()
    reader = EvdevHookReader(pipe.read_end, HookCode.from_name("KEY_PHONE"), make_hook(0), on_lost=lost.set)
    pipe.unplug()
    assert lost.wait(WAIT)
    assert reader.lost.is_set()
    reader.close()

"""Hotplug: one udev monitor for the whole terminal, reporting which of its devices are plugged in, once per
burst of events (one USB handset makes a dozen: usb, sound, input, hidraw... within ~100 ms).

Events come from an EventSource: udev's netlink socket through pyudev when live, a list of recorded events in
tests. Both go through the same table, rules and debounce.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import queue
import select
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from typing import Literal, Protocol

import pyudev

from drivers.udev_devices import DeviceTable, Presence, UdevDevice, no_devices

log = logging.getLogger(__name__)

DEBOUNCE_S = 0.3  # a burst is over when udev has been quiet this long
MAX_DELAY_S = 2.0  # a device that keeps sending events is still reported this often
_RECEIVE_BUFFER = 4 * 1024 * 1024  # room for a burst while the thread is busy (needs CAP_NET_ADMIN)


@dataclass(frozen=True)
class UdevEvent:
    action: str  # add, remove, change, bind, unbind, move...
    device: UdevDevice


class EventsLost(RuntimeError):
    """The source dropped events (its socket overflowed): the monitor must read every device again."""


class EventSource(Protocol):
    def open(self, subsystems: Collection[str]) -> None:
        """Starts receiving events, before `existing()` is read, so no device added in between is missed."""

    def existing(self) -> Iterable[UdevDevice]:
        """The devices of the opened subsystems there now."""

    def next_event(self, timeout: float | None) -> UdevEvent | None:
        """The next event; None after `timeout` seconds (None: no limit) or once interrupted.
        Raises EventsLost when events were dropped."""

    def interrupt(self) -> None:
        """Makes a waiting `next_event` return None now and every later one too; any thread may call it."""

    def close(self) -> None:
        """Releases the source, once no thread waits in `next_event`."""


class Classifier(Protocol):
    """The rules that turn the device table into presence (udev_devices.DeviceRules)."""

    @property
    def subsystems(self) -> frozenset[str]: ...

    def presence(self, table: DeviceTable) -> Presence: ...


PresenceListener = Callable[[Presence], None]


def device_from_pyudev(device: pyudev.Device) -> UdevDevice:
    properties = dict(device.properties)
    attributes: dict[str, str] = {}
    if device.subsystem == "sound" and device.sys_name.startswith("card") and device.action != "remove":
        # The card's ALSA id ("Headset", "Device"): a name even where no udev rule ran.
        with contextlib.suppress(KeyError, OSError, UnicodeDecodeError):
            attributes["id"] = device.attributes.asstring("id").strip()
    return UdevDevice(properties, attributes)


class PyudevSource:
    """Live events from the netlink socket. source="udev": after udev's rules ran (names, ID_*, symlinks,
    permissions); "kernel": the kernel's own uevents, which tests can provoke without udev."""

    def __init__(self, source: Literal["udev", "kernel"] = "udev", context: pyudev.Context | None = None) -> None:
        self.source = source
        self.context = context or pyudev.Context()
        self._monitor: pyudev.Monitor | None = None
        self._subsystems: tuple[str, ...] = ()
        # A pipe to wake the thread waiting in poll(): how stop() ends the wait at once.
        self._wake_read, self._wake_write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._interrupted = False

    def open(self, subsystems: Collection[str]) -> None:
        monitor = pyudev.Monitor.from_netlink(self.context, source=self.source)
        self._subsystems = tuple(sorted(subsystems))
        for subsystem in self._subsystems:
            monitor.filter_by(subsystem)  # filtered in the kernel: unrelated events never wake us
        # Without CAP_NET_ADMIN the default buffer stays; an overflow still ends in a full re-read.
        with contextlib.suppress(OSError):
            monitor.set_receive_buffer_size(_RECEIVE_BUFFER)
        monitor.start()
        self._monitor = monitor

    def existing(self) -> Iterator[UdevDevice]:
        for subsystem in self._subsystems:
            for device in self.context.list_devices(subsystem=subsystem):
                yield device_from_pyudev(device)

    def next_event(self, timeout: float | None) -> UdevEvent | None:
        monitor = self._monitor
        if monitor is None or self._interrupted:
            return None
        poller = select.poll()
        poller.register(monitor.fileno(), select.POLLIN)
        poller.register(self._wake_read, select.POLLIN)
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._interrupted:
            wait_ms = None if deadline is None else max(0, round((deadline - time.monotonic()) * 1000))
            ready = {fd for fd, _ in poller.poll(wait_ms)}
            if self._wake_read in ready or self._interrupted:
                return None
            if not ready:
                return None  # timed out
            try:
                device = monitor.poll(timeout=0)
            except OSError as error:
                if error.errno == errno.ENOBUFS:
                    raise EventsLost("the udev socket overflowed") from error
                if error.errno in (errno.EAGAIN, errno.EINTR):
                    continue
                raise
            if device is not None:
                return UdevEvent(device.action or "", device_from_pyudev(device))
            # libudev drops messages that fail its checks (wrong sender, filtered): keep waiting
        return None

    def interrupt(self) -> None:
        self._interrupted = True
        with contextlib.suppress(OSError):  # the pipe is full (already woken) or closed
            os.write(self._wake_write, b"x")

    def close(self) -> None:
        self._interrupted = True
        self._monitor = None  # pyudev closes the socket when the monitor is collected
        for fd in (self._wake_read, self._wake_write):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._wake_read = self._wake_write = -1


class RecordedSource:
    """Recorded events, fed by a test (or a replay tool) as if udev had sent them now."""

    def __init__(self, existing: Iterable[UdevDevice] = ()) -> None:
        self._existing = list(existing)
        self._events: queue.Queue[UdevEvent | None] = queue.Queue()
        self._interrupted = False
        self.subsystems: frozenset[str] = frozenset()

    def feed(self, events: Iterable[UdevEvent]) -> None:
        for event in events:
            self._events.put(event)

    def open(self, subsystems: Collection[str]) -> None:
        self.subsystems = frozenset(subsystems)

    def existing(self) -> list[UdevDevice]:
        return [d for d in self._existing if d.subsystem in self.subsystems]

    def next_event(self, timeout: float | None) -> UdevEvent | None:
        if self._interrupted:
            return None
        try:
            return self._events.get(timeout=timeout)
        except queue.Empty:
            return None

    def interrupt(self) -> None:
        self._interrupted = True
        self._events.put(None)

    def close(self) -> None:
        self._interrupted = True


class HotplugMonitor:
    """Watches udev and calls `listener(presence)` from its own thread: once at start with the devices there,
    then once after each burst of events that changed them. The listener must not block for long; hand the
    presence over to the core loop (call_soon_threadsafe) and return. A monitor and its source run once.
    """

    def __init__(
        self,
        classifier: Classifier,
        listener: PresenceListener,
        source: EventSource | None = None,
        debounce_s: float = DEBOUNCE_S,
        max_delay_s: float = MAX_DELAY_S,
    ) -> None:
        self.classifier = classifier
        self.listener = listener
        self.source: EventSource = source if source is not None else PyudevSource("udev")
        self.debounce_s = debounce_s
        self.max_delay_s = max_delay_s
        self._table = DeviceTable()
        self._presence: Presence = no_devices()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()

    @property
    def presence(self) -> Presence:
        """The devices there as last reported (at start: as found by start())."""
        return self._presence

    def start(self) -> None:
        """Opens the source, then reads the devices already there, then listens on a thread. Raises if the
        source cannot be opened (no netlink socket), so a broken set-up shows at start-up."""
        with self._lock:
            if self._thread is not None:
                return
            self.source.open(self.classifier.subsystems)
            self._table.replace_all(self.source.existing())
            self._presence = self._classify() or no_devices()
            self._thread = threading.Thread(target=self._run, name="hotplug", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stops listening; returns once the thread has ended (or after `timeout`). Safe to call twice."""
        with self._lock:
            thread, self._thread = self._thread, None
            if thread is None:
                return
            self._stopping.set()
            self.source.interrupt()
        thread.join(timeout)
        if thread.is_alive():
            log.warning("the hotplug thread did not stop within %.1f s", timeout)
            return
        self.source.close()

    # -- the monitor thread -----------------------------------------------------------------------

    def _run(self) -> None:
        self._deliver(self._presence)
        burst_start: float | None = None  # when the first event of the burst being collected arrived
        last_event = 0.0
        while not self._stopping.is_set():
            timeout = None
            if burst_start is not None:
                due = min(last_event + self.debounce_s, burst_start + self.max_delay_s)
                timeout = max(0.0, due - time.monotonic())
                if timeout == 0.0:
                    self._report()
                    burst_start = None
                    continue
            try:
                event = self.source.next_event(timeout)
            except EventsLost:
                log.warning("udev events were lost: reading every device again")
                event = None
                self._resync()
                last_event = time.monotonic()
                burst_start = last_event if burst_start is None else burst_start
            except Exception:
                log.exception("the udev event source failed: reading every device again in 1 s")
                if self._stopping.wait(1.0):
                    break
                self._resync()
                last_event = time.monotonic()
                burst_start = last_event if burst_start is None else burst_start
                continue
            if event is not None and self._apply(event):
                last_event = time.monotonic()
                burst_start = last_event if burst_start is None else burst_start

    def _apply(self, event: UdevEvent) -> bool:
        """Adds the event to the table; False for events that concern no device the rules read."""
        device = event.device
        if not device.devpath:
            return False
        if event.action != "remove" and device.subsystem not in self.classifier.subsystems:
            return False
        try:
            self._table.apply(event.action, device)
        except Exception:
            log.exception("could not apply a udev %s event for %s", event.action, device.devpath)
            return False
        return True

    def _resync(self) -> None:
        try:
            self._table.replace_all(self.source.existing())
        except Exception:
            log.exception("could not read the devices from udev")

    def _classify(self) -> Presence | None:
        try:
            return self.classifier.presence(self._table)
        except Exception:
            log.exception("could not sort out the devices udev reported")
            return None

    def _report(self) -> None:
        presence = self._classify()
        if presence is None or presence == self._presence:
            return
        self._presence = presence
        self._deliver(presence)

    def _deliver(self, presence: Presence) -> None:
        try:
            self.listener(presence)
        except Exception:
            log.exception("the hotplug listener failed")

"""Recorded udev devices and events (tests/data/udev, sources in its README), replayed as if udev sent them."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from pathlib import Path

from drivers.hotplug import RecordedSource, UdevEvent
from drivers.udev_devices import DeviceTable, UdevDevice

DATA = Path(__file__).parent / "data" / "udev"


def recorded_devices(name: str) -> list[UdevDevice]:
    return [UdevDevice(entry["properties"]) for entry in json.loads((DATA / name).read_text())["devices"]]


def recorded_events(name: str) -> list[tuple[float, UdevEvent]]:
    """(seconds after the first event, event) as udev timed them."""
    events = json.loads((DATA / name).read_text())["events"]
    return [(e["t"], UdevEvent(e["action"], UdevDevice(e["properties"]))) for e in events]


def table_after(*names: str, skip_last: int = 0) -> DeviceTable:
    """udev's table after these recordings: devices already there, or events replayed (but the last `skip_last`)."""
    table = DeviceTable()
    for name in names:
        if "devices" in json.loads((DATA / name).read_text()):
            for device in recorded_devices(name):
                table.apply("add", device)
        else:
            events = recorded_events(name)
            for _, event in events[: len(events) - skip_last]:
                table.apply(event.action, event.device)
    return table


def unplugged(events: Iterable[tuple[float, UdevEvent]]) -> list[UdevEvent]:
    """The unplug burst of a recorded plug burst: a remove for each added device, children first."""
    added = [e.device for _, e in events if e.action == "add"]
    return [UdevEvent("remove", UdevDevice({**d.properties, "ACTION": "remove"})) for d in reversed(added)]


def replay(source: RecordedSource, events: list[tuple[float, UdevEvent]]) -> float:
    """Feeds the events with the gaps udev recorded between them; returns when the last one was fed."""
    start = time.monotonic()
    for offset, event in events:
        time.sleep(max(0.0, start + offset - time.monotonic()))  # pacing the recording, not waiting for luck
        source.feed([event])
    return time.monotonic()

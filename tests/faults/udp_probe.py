"""Numbered, timed UDP datagrams across the fault harness's links, to see what a bad link does to each: `send` in
this process, `receive` (run as `python -m tests.faults.udp_probe PORT`) in another role's namespace."""

from __future__ import annotations

import json
import socket
import sys
import time
from dataclasses import dataclass


@dataclass
class Arrival:
    number: int
    sent_s: float  # both on CLOCK_MONOTONIC, which every namespace shares
    arrived_s: float

    @property
    def delay_ms(self) -> float:
        return 1000 * (self.arrived_s - self.sent_s)


def send(address: str, port: int, count: int, every_s: float, size: int = 200) -> None:
    """`count` datagrams of `size` bytes, one every `every_s`, each carrying its number and when it was sent."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    started = time.monotonic()
    for number in range(count):
        time.sleep(max(0.0, started + number * every_s - time.monotonic()))
        sock.sendto(f"{number} {time.monotonic():.6f} ".encode().ljust(size, b"."), (address, port))
    sock.close()


def arrivals(output: str) -> list[Arrival]:
    return [Arrival(*entry) for entry in json.loads(output)]


def receive(port: int, quiet_s: float = 1.0) -> None:
    """Prints, once nothing has come for `quiet_s`, every datagram's number, sending and arrival time (JSON)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("0.0.0.0", port))
    print("ready", flush=True)
    sock.settimeout(10.0)  # for the first
    seen = []
    try:
        while True:
            data = sock.recv(65536)
            number, sent = data.split()[:2]
            seen.append((int(number), float(sent), time.monotonic()))
            sock.settimeout(quiet_s)
    except TimeoutError:
        pass
    print(json.dumps(seen), flush=True)


if __name__ == "__main__":
    receive(int(sys.argv[1]))

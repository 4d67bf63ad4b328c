"""The bad links the call bench measures on (`tests.faults.link_shaper`), checked with timed datagrams across the
fault harness's router: each profile's loss, bursts, rate cap and delay are what they say, and the bytes each role
sends are counted."""

from __future__ import annotations

import itertools
import statistics
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.faults.link_shaper import Shape
from tests.faults.network import FaultNetwork
from tests.faults.udp_probe import Arrival, arrivals, send

pytestmark = pytest.mark.faults
PORT = 9999


@pytest.fixture
def network() -> Iterator[FaultNetwork]:
    made = FaultNetwork()
    made.start()
    yield made
    made.stop()


def _across(network: FaultNetwork, shape: Shape, count: int, every_s: float, size: int = 200) -> list[Arrival]:
    """Datagrams from the terminal to the visitor, with `shape` on the terminal's link."""
    network.shape("terminal", shape, seed=7)
    receiver = subprocess.Popen(
        network["visitor"].command(sys.executable, "-m", "tests.faults.udp_probe", str(PORT)),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert receiver.stdout is not None and receiver.stdout.readline().strip() == "ready"
    send(network["visitor"].address, PORT, count, every_s, size)
    output, _ = receiver.communicate(timeout=30)
    return arrivals(output)


def test_delay_with_jitter_holds_each_packet_its_own_time_so_they_arrive_reordered(network):
    came = _across(network, Shape(delay_ms=80, jitter_ms=40), count=300, every_s=0.01)
    delays = [arrival.delay_ms for arrival in came]
    assert len(came) == 300, "delay loses nothing"
    assert min(delays) >= 39 and max(delays) <= 125, "80 ms ± 40 ms, and a millisecond or so of handling"
    assert 70 <= statistics.median(delays) <= 90
    reordered = sum(later.number < earlier.number for earlier, later in itertools.pairwise(came))
    assert reordered > 30, "datagrams 10 ms apart with up to 80 ms between their delays overtake each other"


def test_a_rate_cap_passes_its_rate_and_drops_what_would_wait_longer_than_its_queue(network):
    came = _across(network, Shape(rate_kbps=500, queue_ms=100), count=375, every_s=0.008, size=1000)  # 1 Mbps
    span = came[-1].arrived_s - came[0].arrived_s
    passed_kbps = 8 * 1000 * (len(came) - 1) / span / 1000
    assert passed_kbps == pytest.approx(500, rel=0.1), "IP headers add 2.8 % to the 1,000 bytes of each datagram"
    assert 0.4 < len(came) / 375 < 0.6, "half of 1 Mbps gets through 500 kbps"
    assert max(arrival.delay_ms for arrival in came) < 125, "never more than the queue's 100 ms, and one packet's 16"


def test_random_loss_loses_about_its_share_and_bursts_take_the_link_out_for_their_length(network):
    came = _across(network, Shape(loss=0.03), count=2000, every_s=0.001)
    assert 0.015 < 1 - len(came) / 2000 < 0.05
    network.heal()
    came = _across(network, Shape(burst_every_s=1.0, burst_s=0.2), count=600, every_s=0.005)
    numbers = {arrival.number for arrival in came}
    lost = [number for number in range(600) if number not in numbers]
    runs = [len(list(run)) for _, run in itertools.groupby(enumerate(lost), lambda pair: pair[1] - pair[0])]
    assert len(runs) == 3 and all(38 <= run <= 42 for run in runs), "200 ms out of every second, for 3 s"


def test_the_bytes_each_role_sends_and_is_sent_are_counted(network):
    _across(network, Shape(), count=50, every_s=0.002, size=500)
    through = network.bytes_through()
    assert through["terminal"][0] == through["visitor"][1] == 50 * 528, "with 28 bytes of IP and UDP headers"
    assert through["janus"] == (0, 0)

"""A bad link in user space: the router's packets on one link come here through iptables' NFQUEUE, and each is lost,
held back or let through as a real access link would — random loss, loss in bursts, a rate cap with a queue of
its own, and delay with jitter (which reorders, as netem's does). This kernel has no netem; it has NFQUEUE.

    ip netns exec ROUTER python -m tests.faults.link_shaper --queues 11 12 --rate-kbps 500 --queue-ms 100

Each queue number is one direction of the link, shaped on its own (its own rate cap and queue), with the same
profile; a burst takes both directions out at once, as when a link drops. It prints "ready" once its queues are
bound, and on SIGTERM one JSON line with what it did to each queue.

It speaks nfnetlink's queue protocol itself (the kernel's `nfnetlink_queue`), over a raw netlink socket: a verdict
may be given for any queued packet at any time, which is what lets a packet wait for its own release time.
"""

from __future__ import annotations

import argparse
import errno
import heapq
import json
import random
import select
import signal
import socket
import struct
import sys
import time
from dataclasses import asdict, dataclass

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET, NFQNL_MSG_VERDICT, NFQNL_MSG_CONFIG = 0, 1, 2
NFQA_PACKET_HDR, NFQA_VERDICT_HDR, NFQA_PAYLOAD = 1, 2, 10
NFQA_CFG_CMD, NFQA_CFG_PARAMS, NFQA_CFG_QUEUE_MAXLEN = 1, 2, 3
NFQNL_CFG_CMD_BIND = 1
NFQNL_COPY_PACKET = 2
NLM_F_REQUEST, NLM_F_ACK = 1, 4
NLMSG_ERROR = 2
NF_DROP, NF_ACCEPT = 0, 1
HEADER_BYTES = 4  # of each packet's IP header copied to us: enough for its total length
QUEUE_MAXLEN = 4096  # packets the kernel holds for us at once (1 Mbps with 120 ms ± 30 ms is about 30)


@dataclass(frozen=True)
class Shape:
    loss: float = 0.0  # each packet lost with this probability, independently
    burst_every_s: float = 0.0  # every this many seconds, the link is out for burst_s
    burst_s: float = 0.0
    rate_kbps: float = 0.0  # 0: no cap
    queue_ms: float = 100.0  # the cap's queue: a packet that would wait longer is dropped (tail drop)
    delay_ms: float = 0.0
    jitter_ms: float = 0.0  # each packet's delay is uniform in delay ± jitter


@dataclass
class QueueCounts:
    packets: int = 0
    bytes: int = 0
    lost: int = 0  # random loss
    burst: int = 0  # lost in a burst
    overflow: int = 0  # the rate cap's queue was full


def _attributes(data: bytes) -> dict[int, bytes]:
    found, offset = {}, 0
    while offset + 4 <= len(data):
        length, kind = struct.unpack_from("=HH", data, offset)
        if length < 4:
            break
        found[kind & 0x7FFF] = data[offset + 4 : offset + length]
        offset += (length + 3) & ~3
    return found


def _attribute(kind: int, value: bytes) -> bytes:
    body = struct.pack("=HH", 4 + len(value), kind) + value
    return body + b"\0" * (-len(body) % 4)


class NetlinkQueue:
    """One NFQUEUE number, bound on a netlink socket of its own."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind((0, 0))
        self._seq = 0
        self._request(NFQNL_MSG_CONFIG, _attribute(NFQA_CFG_CMD, struct.pack("!BxH", NFQNL_CFG_CMD_BIND, 0)))
        self._request(
            NFQNL_MSG_CONFIG, _attribute(NFQA_CFG_PARAMS, struct.pack("!IB", HEADER_BYTES, NFQNL_COPY_PACKET))
        )
        self._request(NFQNL_MSG_CONFIG, _attribute(NFQA_CFG_QUEUE_MAXLEN, struct.pack("!I", QUEUE_MAXLEN)))
        self.sock.setblocking(False)

    def _message(self, kind: int, payload: bytes, flags: int) -> bytes:
        self._seq += 1
        body = struct.pack("=BBH", socket.AF_UNSPEC, 0, socket.htons(self.number)) + payload
        return struct.pack("=IHHII", 16 + len(body), (NFNL_SUBSYS_QUEUE << 8) | kind, flags, self._seq, 0) + body

    def _request(self, kind: int, payload: bytes) -> None:
        """Sends a configuration message and waits for the kernel's acknowledgement."""
        self.sock.send(self._message(kind, payload, NLM_F_REQUEST | NLM_F_ACK))
        reply = self.sock.recv(65536)
        kind_back = struct.unpack_from("=H", reply, 4)[0]
        if kind_back == NLMSG_ERROR and (code := struct.unpack_from("=i", reply, 16)[0]) != 0:
            raise OSError(-code, f"NFQUEUE {self.number}: {errno.errorcode.get(-code, code)}")

    def packets(self) -> list[tuple[int, int]]:
        """Every packet queued since the last call: (its id, its length in bytes)."""
        found = []
        while True:
            try:
                data = self.sock.recv(65536)
            except BlockingIOError:
                return found
            except OSError as error:  # ENOBUFS: the kernel could not tell us of some (it dropped them)
                if error.errno == errno.ENOBUFS:
                    continue
                raise
            offset = 0
            while offset + 16 <= len(data):
                length, kind = struct.unpack_from("=IH", data, offset)
                if kind & 0xFF == NFQNL_MSG_PACKET and kind >> 8 == NFNL_SUBSYS_QUEUE:
                    attributes = _attributes(data[offset + 20 : offset + length])
                    packet_id = struct.unpack_from("!I", attributes[NFQA_PACKET_HDR])[0]
                    header = attributes.get(NFQA_PAYLOAD, b"")
                    size = struct.unpack_from("!H", header, 2)[0] if len(header) >= 4 else 0
                    found.append((packet_id, size))
                offset += (length + 3) & ~3

    def verdict(self, packet_id: int, accept: bool) -> None:
        header = struct.pack("!II", NF_ACCEPT if accept else NF_DROP, packet_id)
        self.sock.send(self._message(NFQNL_MSG_VERDICT, _attribute(NFQA_VERDICT_HDR, header), NLM_F_REQUEST))


class LinkShaper:
    """The queues of one link, and the packets each holds until its release time."""

    def __init__(self, numbers: list[int], shape: Shape, seed: int | None = None) -> None:
        self.shape = shape
        self.queues = [NetlinkQueue(number) for number in numbers]
        self.counts = {queue.number: QueueCounts() for queue in self.queues}
        self._free_at = dict.fromkeys(self.counts, 0.0)  # when each direction's cap has sent all it holds
        self._held: list[tuple[float, int, NetlinkQueue, int]] = []
        self._order = 0
        self._random = random.Random(seed)
        self._started = time.monotonic()

    def _in_burst(self, now: float) -> bool:
        every = self.shape.burst_every_s
        return every > 0 and (now - self._started) % every >= every - self.shape.burst_s

    def _release_at(self, queue: NetlinkQueue, size: int, now: float) -> float | None:
        """When this packet leaves the link, or None when it is lost."""
        shape, counts = self.shape, self.counts[queue.number]
        counts.packets += 1
        counts.bytes += size
        if self._in_burst(now):
            counts.burst += 1
            return None
        if shape.loss and self._random.random() < shape.loss:
            counts.lost += 1
            return None
        sent = now
        if shape.rate_kbps:
            start = max(now, self._free_at[queue.number])
            if start - now > shape.queue_ms / 1000:
                counts.overflow += 1
                return None
            sent = start + size * 8 / (shape.rate_kbps * 1000)
            self._free_at[queue.number] = sent
        delay = shape.delay_ms + self._random.uniform(-shape.jitter_ms, shape.jitter_ms)
        return sent + max(0.0, delay) / 1000

    def run(self, stopping: list[bool]) -> None:
        sockets = {queue.sock: queue for queue in self.queues}
        while not stopping:
            now = time.monotonic()
            while self._held and self._held[0][0] <= now:
                _, _, queue, packet_id = heapq.heappop(self._held)
                queue.verdict(packet_id, accept=True)
            timeout = max(0.0, self._held[0][0] - now) if self._held else 0.5
            try:
                ready, _, _ = select.select(list(sockets), [], [], timeout)
            except InterruptedError:
                continue
            now = time.monotonic()
            for sock in ready:
                queue = sockets[sock]
                for packet_id, size in queue.packets():
                    release = self._release_at(queue, size, now)
                    if release is None:
                        queue.verdict(packet_id, accept=False)
                    elif release <= now:
                        queue.verdict(packet_id, accept=True)
                    else:
                        self._order += 1
                        heapq.heappush(self._held, (release, self._order, queue, packet_id))
        for _, _, queue, packet_id in self._held:  # what is on the way when the link is healed arrives
            queue.verdict(packet_id, accept=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--queues", type=int, nargs="+", required=True)
    parser.add_argument("--seed", type=int)
    for name, default in asdict(Shape()).items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=float, default=default)
    args = parser.parse_args(argv)
    shape = Shape(**{name: getattr(args, name) for name in asdict(Shape())})
    shaper = LinkShaper(args.queues, shape, args.seed)
    stopping: list[bool] = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    print("ready", flush=True)
    shaper.run(stopping)
    print(json.dumps({number: asdict(counts) for number, counts in shaper.counts.items()}), flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()

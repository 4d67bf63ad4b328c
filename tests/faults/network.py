"""The fault harness's network: each role of a visit (the terminal, Janus, central, the visitor) in a network
namespace of its own, each behind its own link to a router namespace, so that a fault applied to one link (a cut,
random loss) affects that link alone and looks to both ends like a real network's: what is sent is lost on the
way, nothing is refused at the sender.

One role, the terminal unless told otherwise, is the calling process's own namespace (the test session's private
one), so the terminal core runs in the test; the other roles run as child processes inside theirs (`Role.command`).
Faults are iptables (nf_tables) rules in the router's FORWARD chain, matched on the link's interface; a bad link
(`shape`) sends the link's packets through NFQUEUE to `tests.faults.link_shaper`, as this kernel has no netem.
Another chain counts the bytes each role sends and is sent, before any fault.
Addresses come from 198.19.0.0/16, part of the range set aside for benchmarking (RFC 2544), which exists only
inside these namespaces.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from dataclasses import asdict, dataclass

from tests.faults.link_shaper import Shape

ROLES = ("terminal", "janus", "central", "visitor")
_SUBNETS = "198.19"
_CHAIN = "LINK_FAULTS"
_COUNTS = "LINK_COUNTS"


class FaultNetworkError(RuntimeError):
    """A namespace, link or rule could not be made; the message says which command failed."""


def _run(*args: str) -> str:
    result = subprocess.run(args, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise FaultNetworkError(f"'{' '.join(args)}' failed: {result.stderr.strip()}")
    return result.stdout


@dataclass(frozen=True)
class Role:
    name: str
    namespace: str | None  # None: the calling process's own (the terminal's)
    interface: str  # the role's end of its link
    address: str
    router_interface: str  # the router's end of the same link

    def command(self, *args: str) -> list[str]:
        """`args` run inside this role's namespace."""
        return [*args] if self.namespace is None else ["ip", "netns", "exec", self.namespace, *args]


class FaultNetwork:
    """The namespaces and links of one harness; `start()` makes them, `stop()` removes every trace."""

    def __init__(self, home: str = "terminal") -> None:
        """`home`: the role whose namespace is the calling process's own."""
        tag = secrets.token_hex(3)
        self.router = f"kf-router-{tag}"
        self.home = home
        self.roles: dict[str, Role] = {}
        for number, name in enumerate(ROLES, start=1):
            self.roles[name] = Role(
                name=name,
                namespace=None if name == home else f"kf-{name}-{tag}",
                interface=f"kf{name[0]}{tag}",
                address=f"{_SUBNETS}.{number}.2",
                router_interface=f"kr{name[0]}{tag}",
            )
        self._shapers: list[subprocess.Popen[str]] = []

    def __getitem__(self, name: str) -> Role:
        return self.roles[name]

    def _in_router(self, *args: str) -> str:
        return _run("ip", "netns", "exec", self.router, *args)

    def start(self) -> None:
        try:
            _run("ip", "netns", "add", self.router)
            self._in_router("ip", "link", "set", "lo", "up")
            self._in_router("sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
            for number, role in enumerate(self.roles.values(), start=1):
                self._link(number, role)
            self._in_router("iptables", "-N", _CHAIN)
            self._in_router("iptables", "-I", "FORWARD", "-j", _CHAIN)
            self._in_router("iptables", "-N", _COUNTS)
            self._in_router("iptables", "-I", "FORWARD", "-j", _COUNTS)
            for role in self.roles.values():
                for direction in ("-i", "-o"):
                    self._in_router("iptables", "-A", _COUNTS, direction, role.router_interface)
        except FaultNetworkError:
            self.stop()
            raise

    def _link(self, number: int, role: Role) -> None:
        inside = ["ip"] if role.namespace is None else ["ip", "-n", role.namespace]
        if role.namespace is not None:
            _run("ip", "netns", "add", role.namespace)
            _run(*inside, "link", "set", "lo", "up")
        _run(*inside, "link", "add", role.interface, "type", "veth", "peer", "name", role.router_interface)
        _run(*inside, "link", "set", role.router_interface, "netns", self.router)
        _run(*inside, "addr", "add", f"{role.address}/24", "dev", role.interface)
        _run(*inside, "link", "set", role.interface, "up")
        _run(*inside, "route", "add", f"{_SUBNETS}.0.0/16", "via", f"{_SUBNETS}.{number}.1")
        self._in_router("ip", "addr", "add", f"{_SUBNETS}.{number}.1/24", "dev", role.router_interface)
        self._in_router("ip", "link", "set", role.router_interface, "up")

    def stop(self) -> None:
        """Removes the namespaces (their links go with them) and the home role's end of its link."""
        self._stop_shapers()
        for role in self.roles.values():
            if role.namespace is not None:
                subprocess.run(["ip", "netns", "del", role.namespace], capture_output=True, check=False)
        subprocess.run(["ip", "link", "del", self.roles[self.home].interface], capture_output=True, check=False)
        subprocess.run(["ip", "netns", "del", self.router], capture_output=True, check=False)

    # -- faults -----------------------------------------------------------------------------------

    def _rule(self, action: str, role: Role, *match: str) -> None:
        for direction in ("-i", "-o"):
            self._in_router("iptables", action, _CHAIN, direction, role.router_interface, *match, "-j", "DROP")

    def cut(self, name: str) -> None:
        """Every packet to and from this role is lost on the way, as when its cable is pulled."""
        self._rule("-A", self.roles[name])

    def lose(self, name: str, probability: float) -> None:
        """Each packet to and from this role is lost with `probability`, independently."""
        self._rule("-A", self.roles[name], "-m", "statistic", "--mode", "random", "--probability", f"{probability}")

    def shape(self, name: str, shape: Shape, seed: int | None = None) -> None:
        """This role's link becomes a bad one, both ways alike (each way with its own rate cap and queue)."""
        role = self.roles[name]
        number = ROLES.index(name) + 1
        queues = {"-i": 10 * number + 1, "-o": 10 * number + 2}  # from the role, to it
        options = [f"--{key.replace('_', '-')}={value}" for key, value in asdict(shape).items()]
        if seed is not None:
            options.append(f"--seed={seed}")
        command = ["ip", "netns", "exec", self.router, sys.executable, "-m", "tests.faults.link_shaper"]
        shaper = subprocess.Popen(
            [*command, "--queues", *map(str, queues.values()), *options],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._shapers.append(shaper)
        assert shaper.stdout is not None
        if shaper.stdout.readline().strip() != "ready":
            shaper.wait()
            raise FaultNetworkError(f"the link shaper did not start: {shaper.stderr.read() if shaper.stderr else ''}")
        for direction, queue in queues.items():
            self._in_router(
                "iptables", "-A", _CHAIN, direction, role.router_interface, "-j", "NFQUEUE", "--queue-num", str(queue)
            )

    def _stop_shapers(self) -> list[dict[str, dict[str, int]]]:
        """Each shaper's counts, as it stops (what it still holds is let through)."""
        counts = []
        for shaper in self._shapers:
            shaper.terminate()
            out, _ = shaper.communicate(timeout=10)
            if out.strip():
                counts.append(json.loads(out.strip().splitlines()[-1]))
        self._shapers.clear()
        return counts

    def heal(self) -> list[dict[str, dict[str, int]]]:
        """Every fault is lifted at once; returns what each link shaper did, by queue."""
        self._in_router("iptables", "-F", _CHAIN)
        return self._stop_shapers()

    def bytes_through(self) -> dict[str, tuple[int, int]]:
        """For each role, the bytes it has sent and those sent to it, as they reached the router (before faults)."""
        listing = self._in_router("iptables", "-L", _COUNTS, "-v", "-x", "-n")
        by_interface: dict[tuple[str, str], int] = {}
        for line in listing.splitlines()[2:]:
            fields = line.split()
            # pkts bytes target prot opt in out source destination (target is empty here)
            if len(fields) >= 7:
                by_interface[(fields[-4], fields[-3])] = int(fields[1])
        return {
            name: (by_interface.get((role.router_interface, "*"), 0), by_interface.get(("*", role.router_interface), 0))
            for name, role in self.roles.items()
        }

"""A private network namespace for running Janus and its clients on one machine.

Janus's ICE (libnice) will not gather candidates on `lo`, so the demo and the tests move their whole
process into a fresh network namespace with a veth pair that carries one address of its own.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
from dataclasses import dataclass

CLONE_NEWNET = 0x40000000
CLONE_NEWUSER = 0x10000000

# An address from the range set aside for benchmarking network devices (RFC 2544); it exists only
# inside the namespace this module makes, so nothing sent to it can leave the machine.
MEDIA_ADDRESS = "198.18.0.1"
HOST_ADDRESS = "198.18.0.2"
MEDIA_INTERFACE = "kiosk0"


class PrivateNetworkError(RuntimeError):
    """The namespace could not be made; the message says what is missing."""


@dataclass(frozen=True)
class PrivateNetwork:
    media_address: str
    media_interface: str
    shared_with_host: bool = False


def _unshare(flags: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(flags) != 0:
        err = ctypes.get_errno()
        raise PrivateNetworkError(f"unshare failed: {os.strerror(err)}")


def _ip(*args: str) -> None:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise PrivateNetworkError(f"'ip {' '.join(args)}' failed: {result.stderr.strip()}")


def enter_private_network(share_with_host: bool = False) -> PrivateNetwork:
    """Move the calling thread (and every thread and process it starts later) into a new namespace.

    Call it before any other thread exists: threads started earlier stay in the old namespace.
    With `share_with_host` (root only), the veth's other end goes back to the machine's own
    namespace with HOST_ADDRESS, so a browser on this machine reaches MEDIA_ADDRESS (the demo's link).
    """
    anchor = None
    if share_with_host and os.geteuid() == 0:
        # A process left behind in the machine's namespace, to name it after we have left it.
        anchor = subprocess.Popen(["setpriv", "--pdeathsig", "KILL", "--", "sleep", "infinity"])
    if os.geteuid() == 0:
        _unshare(CLONE_NEWNET)
    else:
        # An unprivileged user may still own a network namespace inside a user namespace of its own.
        uid, gid = os.getuid(), os.getgid()
        _unshare(CLONE_NEWUSER | CLONE_NEWNET)
        with open("/proc/self/setgroups", "w") as f:
            f.write("deny")
        with open("/proc/self/uid_map", "w") as f:
            f.write(f"0 {uid} 1")
        with open("/proc/self/gid_map", "w") as f:
            f.write(f"0 {gid} 1")
    _ip("link", "set", "lo", "up")
    _ip("link", "add", MEDIA_INTERFACE, "type", "veth", "peer", "name", f"{MEDIA_INTERFACE}p")
    _ip("addr", "add", f"{MEDIA_ADDRESS}/24", "dev", MEDIA_INTERFACE)
    _ip("link", "set", MEDIA_INTERFACE, "up")
    if anchor is None:
        _ip("link", "set", f"{MEDIA_INTERFACE}p", "up")
        return PrivateNetwork(media_address=MEDIA_ADDRESS, media_interface=MEDIA_INTERFACE)
    try:
        _ip("link", "set", f"{MEDIA_INTERFACE}p", "netns", str(anchor.pid))
        for args in (
            ("addr", "add", f"{HOST_ADDRESS}/24", "dev", f"{MEDIA_INTERFACE}p"),
            ("link", "set", f"{MEDIA_INTERFACE}p", "up"),
        ):
            result = subprocess.run(
                ["nsenter", "-t", str(anchor.pid), "-n", "ip", *args], capture_output=True, text=True, check=False
            )
            if result.returncode != 0:
                raise PrivateNetworkError(f"could not set up the host's end: {result.stderr.strip()}")
    finally:
        anchor.kill()
        anchor.wait()
    return PrivateNetwork(media_address=MEDIA_ADDRESS, media_interface=MEDIA_INTERFACE, shared_with_host=True)

"""build_image.sh, run for real: a disk image (debootstrap from the Debian mirror this machine's apt uses, the
kiosk from a wheel of this checkout) of a terminal enrolled with a real central, then, inside its root file system
with chroot: the app imports and `kiosk --version` runs, the units are enabled, tty1 has no getty, the network
comes up by itself, and the kiosk user exists and owns only its state. Then the image boots under qemu until the
kiosk is up and central hears its heartbeat over the virtual network. And the script names what is missing before
it starts."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from central.server_process import CentralProcess, TlsFiles
from kiosk import __version__
from kiosk.central_client import CentralClient
from kiosk.protocol import EnrollmentRequest
from kiosk.request_proof import new_private_key, public_key_text
from tests.conftest import machine_network, staff_call
from tests.tls_authority import make_authority, server_certificate

CHECKOUT = Path(__file__).parents[1]
OVMF = Path("/usr/share/OVMF")  # the UEFI firmware for qemu (apt ovmf)
ESP_TYPE = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
ROOT_X86_64_TYPE = "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709"
TEST_BOOT_OPTIONS = "systemd.setenv=WLR_RENDERER=pixman systemd.journald.forward_to_console=1"
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]  # a build, then a boot under emulation


VM_HOST = "10.0.2.2"  # this machine, as qemu's user-mode network shows it to the guest
TERMINAL = "Bench terminal"
FAILING_TERMINAL = "Bench terminal 2"  # the second boot's, whose kiosk fails at every start
SOFTWARE_FAILING = "Its software keeps failing"  # what the officers' page says (central.terminal_attention)


def enrolled_config(central: CentralProcess, ca: Path, folder: Path, name: str = TERMINAL) -> None:
    """What `kiosk-provision setup` leaves in /etc/kiosk, made here against the real central: the terminal's key,
    its token, the facility CA and the configuration, which reaches central at the address the guest sees."""
    code = staff_call(central, "POST", "/enrollment-codes", json={}, verify=str(ca)).json()["code"]
    key = new_private_key(folder / "terminal.key")
    request = EnrollmentRequest(code=code, name=name, location="Technician bench", public_key=public_key_text(key))
    grant = CentralClient(central.url, None, verify=str(ca)).enroll(request)
    (folder / "terminal-token").write_text(f"{grant.token}\n")
    (folder / "facility-ca.pem").write_text(grant.facility_ca_pem or "")
    (folder / "kiosk.toml").write_text(
        f"""\
[terminal]
name = "{name}"
facility = "Harbor County Detention Center"
location = "Technician bench"

[central]
url = "https://{VM_HOST}:{central.port}"
token_file = "/etc/kiosk/terminal-token"
key_file = "/etc/kiosk/terminal.key"
ca_file = "/etc/kiosk/facility-ca.pem"
"""
    )


@pytest.fixture(scope="module")
def central(janus, tmp_path_factory) -> Iterator[tuple[CentralProcess, Path]]:
    """A real central over HTTPS, its certificate naming both addresses it is reached by; and its CA."""
    folder = tmp_path_factory.mktemp("central")
    authority = make_authority(folder, "Harbor County Facility CA")
    cert, key = server_certificate(folder, authority, "127.0.0.1", VM_HOST)
    process = CentralProcess(
        folder / "state", janus.url, janus.settings.admin_key, tls=TlsFiles(cert, key, authority.pem)
    )
    process.start()
    yield process, authority.pem
    process.stop()


@pytest.fixture(scope="module")
def built(central, tmp_path_factory) -> Iterator[Path]:
    """One build serves every test: the disk image of a terminal enrolled with `central` (its configuration baked
    in, so the kiosk starts at boot), with the root file system kept beside it for the chroot checks."""
    output = tmp_path_factory.mktemp("image")
    config = tmp_path_factory.mktemp("enrolled")
    enrolled_config(*central, config)
    # The suite runs in a private network namespace (tests.conftest); the build alone needs the Debian mirror
    # and the Python package index, so it runs in the machine's own.
    build = [str(CHECKOUT / "build_image.sh"), "--keep-rootfs", "--config", str(config), "--output", str(output)]
    build += ["--size-gib", "3"]  # room enough, and less to hash and copy
    command = ["nsenter", f"--net={machine_network()}", "--", *build]
    done = subprocess.run(command, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    yield output
    # The image goes at once (gigabytes); the root file system's many small files are left to pytest, which
    # keeps only its last few temporary folders (removing them here took 6 s of the suite).
    (output / "kiosk.img").unlink()


def in_root(root: Path, *command: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "LANG": "C.UTF-8", "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run(["chroot", str(root), *command], capture_output=True, text=True, env=env, timeout=120)


def test_the_app_imports_and_says_its_version_inside_the_image(built: Path):
    root = built / "rootfs"
    version = in_root(root, "kiosk", "--version")
    assert (version.returncode, version.stdout.strip()) == (0, f"kiosk {__version__}"), version.stderr
    # Qt's own libraries load from what the image installed: a missing one fails here, not on the terminal.
    imports = "import ui.app, ui.out_of_service_app, kiosk.terminal, drivers.camera, provisioning.cli; import cv2, av"
    done = in_root(root, "/opt/kiosk/bin/python", "-c", imports)
    assert done.returncode == 0, done.stderr
    assert in_root(root, "kiosk-provision", "--help").returncode == 0


def test_the_kiosk_session_is_enabled_and_tty1_has_no_getty(built: Path):
    systemd = built / "rootfs/etc/systemd/system"
    assert (systemd / "graphical.target.wants/kiosk.service").readlink() == Path("/lib/systemd/system/kiosk.service")
    assert (systemd / "default.target").readlink().name == "graphical.target"
    for masked in ("getty@tty1.service", "ctrl-alt-del.target"):
        assert (systemd / masked).readlink() == Path("/dev/null"), masked
    assert (built / "rootfs/etc/sysctl.d/90-kiosk.conf").read_text() == "kernel.sysrq = 0\n"
    for unit in ("kiosk.service", "kiosk-out-of-service.service"):
        shipped = (CHECKOUT / "systemd" / unit).read_bytes()
        assert (built / "rootfs/usr/lib/systemd/system" / unit).read_bytes() == shipped


def test_the_kiosk_user_exists_and_owns_only_its_state(built: Path):
    root = built / "rootfs"
    entry = next(line for line in (root / "etc/passwd").read_text().splitlines() if line.startswith("kiosk:"))
    _name, _x, uid, _gid, _gecos, home, shell = entry.split(":")
    assert (home, shell) == ("/var/lib/kiosk", "/usr/sbin/nologin")
    groups = in_root(root, "id", "-nG", "kiosk").stdout.split()
    assert {"video", "audio", "input", "render"} <= set(groups)
    owned = [
        "/" + str(path.relative_to(root))
        for path in root.rglob("*")
        if not path.is_symlink() and path.lstat().st_uid == int(uid)
    ]
    assert owned == ["/etc/kiosk/terminal-token", "/etc/kiosk/terminal.key", "/var/lib/kiosk"], "secrets, state"
    for secret in ("terminal-token", "terminal.key"):
        assert (root / "etc/kiosk" / secret).stat().st_mode & 0o777 == 0o600
    assert (root / "var/lib/kiosk").stat().st_mode & 0o777 == 0o750


def test_the_network_comes_up_by_itself(built: Path):
    root = built / "rootfs"
    wired = (root / "etc/systemd/network/20-wired.network").read_text()
    assert "Type=ether" in wired and "DHCP=yes" in wired
    systemd = root / "etc/systemd/system"
    # The links point into the image's /lib, which this machine may not have: look at the links, not their targets.
    wants = list(systemd.glob("*.wants"))
    for unit in ("systemd-networkd.service", "systemd-resolved.service", "systemd-timesyncd.service"):
        assert any((folder / unit).is_symlink() for folder in wants), f"{unit} is enabled"
    assert not any((folder / "systemd-networkd-wait-online.service").is_symlink() for folder in wants)
    assert (root / "etc/resolv.conf").readlink() == Path("../run/systemd/resolve/stub-resolv.conf")


def test_the_manifest_lists_the_versions(built: Path):
    manifest = json.loads((built / "manifest.json").read_text())
    assert manifest["version"] == __version__ and manifest["debian"].startswith("12")
    assert "cage" in manifest["packages"] and "systemd" in manifest["packages"]
    assert manifest["python_packages"]["visitation-kiosk"] == __version__


def test_the_image_is_gpt_with_an_efi_partition_and_its_sha256_is_in_the_manifest(built: Path):
    image = built / "kiosk.img"
    table = json.loads(subprocess.run(["sfdisk", "--json", str(image)], capture_output=True, text=True).stdout)
    partitions = table["partitiontable"]["partitions"]
    assert table["partitiontable"]["label"] == "gpt"
    assert [p["type"] for p in partitions] == [ESP_TYPE, ROOT_X86_64_TYPE]
    digest = subprocess.run(["sha256sum", str(image)], capture_output=True, text=True).stdout.split()[0]
    assert json.loads((built / "manifest.json").read_text())["image_sha256"] == digest


def software_rendering_copy(image: Path, copy: Path) -> Path:
    """The image, with wlroots told (on the kernel command line, for every unit) to render on the CPU: qemu's
    virtio GPU has no 3D here, and Mesa's fallback for it crashes cage. A terminal's GPU renders itself. The
    journal goes to the serial console too: systemd's own status lines stop once the boot is done."""
    subprocess.run(["cp", "--sparse=always", str(image), str(copy)], check=True)
    entry = "::/loader/entries/kiosk.conf"
    esp = f"{copy}@@1M"  # the EFI partition starts 1 MiB in (build_image.sh)
    text = subprocess.run(["mtype", "-i", esp, entry], capture_output=True, text=True, check=True).stdout
    lines = [f"{line} {TEST_BOOT_OPTIONS}" if line.startswith("options ") else line for line in text.splitlines()]
    (copy.parent / "kiosk.conf").write_text("\n".join(lines) + "\n")
    subprocess.run(["mcopy", "-o", "-i", esp, str(copy.parent / "kiosk.conf"), entry], check=True)
    return copy


class Guest:
    """The image running under qemu: software emulation (TCG), UEFI firmware, a virtio GPU (its kernel driver
    imports buffers, PRIME, as a terminal's GPU does; qemu's default VGA cannot, and cage refuses it), qemu's
    user-mode network (the guest reaches this machine at 10.0.2.2), and the serial console as the only output.
    One virtual CPU each: two guests side by side on this machine's two cores come up sooner than with two each
    (59 s against 76 s)."""

    def __init__(self, image: Path, folder: Path) -> None:
        self.serial = folder / "serial.log"
        variables = folder / "vars.fd"
        shutil.copy(OVMF / "OVMF_VARS_4M.fd", variables)
        self.qemu = subprocess.Popen(
            [
                "qemu-system-x86_64", "-machine", "q35,accel=tcg", "-cpu", "max", "-m", "2048", "-smp", "1",
                "-no-reboot", "-display", "none", "-monitor", "none", "-serial", f"file:{self.serial}",
                "-vga", "none", "-device", "virtio-vga",
                "-nic", "user,model=virtio-net-pci",
                "-drive", f"if=pflash,format=raw,readonly=on,file={OVMF / 'OVMF_CODE_4M.fd'}",
                "-drive", f"if=pflash,format=raw,file={variables}",
                "-drive", f"file={image},format=raw,if=virtio",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )  # fmt: skip
        self.started = time.monotonic()

    def console(self) -> str:
        return self.serial.read_text(errors="replace") if self.serial.exists() else ""

    def wait_until(self, done: Callable[[], object], within_s: float, refused: str = "\0") -> float:
        """Seconds since power-on when `done()` came true; fails if `refused` shows on the console first."""
        while not done():
            assert self.qemu.poll() is None, self.qemu.stderr.read().decode() if self.qemu.stderr else ""
            assert refused not in self.console(), self.console()[-3000:]
            assert time.monotonic() - self.started < within_s, self.console()[-3000:]
            time.sleep(1)
        return time.monotonic() - self.started

    def on_console(self, text: str, within_s: float, refused: str = "\0") -> float:
        return self.wait_until(lambda: text in self.console(), within_s, refused)

    def stop(self) -> None:
        self.qemu.kill()
        self.qemu.wait()


def staff_view(central: tuple[CentralProcess, Path], name: str) -> dict[str, Any]:
    """A terminal as the officers' page gets it."""
    process, ca = central
    return next(t for t in staff_call(process, "GET", "/terminals", verify=str(ca)).json() if t["name"] == name)


@pytest.fixture(scope="module")
def guests(built: Path, central, tmp_path_factory) -> Iterator[dict[str, Guest]]:
    """Both boots at once (minutes each under emulation; side by side little more than the longer one): the
    terminal as built ("up"), and a copy enrolled as a second terminal whose configuration its kiosk refuses at
    every start ("failing": a technician PIN file that is not there, which neither the out-of-service screen nor
    its helper reads)."""
    up_folder, failing_folder = tmp_path_factory.mktemp("boot-up"), tmp_path_factory.mktemp("boot-failing")
    up = software_rendering_copy(built / "kiosk.img", up_folder / "kiosk.img")
    failing = software_rendering_copy(built / "kiosk.img", failing_folder / "kiosk.img")
    second = tmp_path_factory.mktemp("enrolled-failing")
    enrolled_config(*central, second, FAILING_TERMINAL)
    with (second / "kiosk.toml").open("a") as config:
        config.write('\n[technician]\npin_file = "/etc/kiosk/no-pin"\n')
    kiosk_user = next(
        line for line in (built / "rootfs/etc/passwd").read_text().splitlines() if line.startswith("kiosk:")
    )
    uid, gid = kiosk_user.split(":")[2:4]
    write_into_root_partition(
        failing,
        {
            "/etc/kiosk/kiosk.toml": (second / "kiosk.toml", "0", "0", "0100644"),
            "/etc/kiosk/terminal-token": (second / "terminal-token", uid, gid, "0100600"),
            "/etc/kiosk/terminal.key": (second / "terminal.key", uid, gid, "0100600"),
        },
        failing_folder,
    )
    started = {"up": Guest(up, up_folder), "failing": Guest(failing, failing_folder)}
    yield started
    for guest in started.values():
        guest.stop()
    for image in (up, failing):
        image.unlink()  # gigabytes each


def test_the_image_boots_under_qemu_the_kiosk_comes_up_and_central_hears_it(guests, central):
    guest = guests["up"]
    # "Started" for a Type=notify unit means the app inside cage sent READY=1, which it does once its first
    # screen is drawn; systemd hears it only from a process in the unit (no PAM session took it away).
    ready = guest.on_console("systemd[1]: Started kiosk.service", 420, refused="Failed to start kiosk.service")
    print(f"the kiosk was ready {ready:.0f} s after power-on")
    shown = guest.console()
    assert "UI thread at real-time priority 1" in shown, "the unit's LimitRTPRIO=1 reached the app"
    assert "left full screen" not in shown, "the app does not fight cage over its window"
    # DHCP, the facility CA pinned, every request signed with the terminal's key, and a clock central accepts.
    heard = guest.wait_until(lambda: staff_view(central, TERMINAL)["version"] == __version__, 480)
    guest.stop()  # its core goes to the other guest, still on its way to the out-of-service screen
    seen = staff_view(central, TERMINAL)
    assert {"camera", "handset", "hook"} <= set(seen["health"]), "the heartbeat carried the devices' health"
    # Only what the devices say may be wrong here: one emulated CPU may give the simulated camera too few frames.
    assert all(sentence.startswith("The ") for sentence in seen["attention"]), seen["attention"]
    print(f"central heard the terminal {heard:.0f} s after power-on")


def test_a_kiosk_that_keeps_failing_gives_way_to_the_out_of_service_screen_and_staff_are_told(guests, central):
    guest = guests["failing"]
    guest.on_console("kiosk.service: Start request repeated too quickly", 420)
    shown = guest.on_console("systemd[1]: Started kiosk-out-of-service.service", 480)
    print(f"the out-of-service screen was up {shown:.0f} s after power-on")
    assert "cannot read the technician PIN /etc/kiosk/no-pin" in guest.console(), "the kiosk said why"
    # Its helper, a user systemd made up, told central with the token and key it got as credentials.
    told = guest.wait_until(
        lambda: SOFTWARE_FAILING in " ".join(staff_view(central, FAILING_TERMINAL)["attention"]), 540
    )
    assert "kiosk-report-out-of-service.service: Deactivated successfully" in guest.console()
    print(f"staff were told {told:.0f} s after power-on")


def write_into_root_partition(image: Path, files: dict[str, tuple[Path, str, str, str]], folder: Path) -> None:
    """Puts files into the image's root file system, in place, with debugfs: each path in the image from a local
    file, with its owner, group and mode (octal, file type included)."""
    table = json.loads(subprocess.run(["sfdisk", "--json", str(image)], capture_output=True, text=True).stdout)
    root = table["partitiontable"]["partitions"][1]["start"] * 512
    commands = folder / "debugfs.commands"
    lines = []
    for path, (local, uid, gid, mode) in files.items():
        lines += [f"rm {path}", f"write {local} {path}", f"sif {path} uid {uid}", f"sif {path} gid {gid}"]
        lines.append(f"sif {path} mode {mode}")
    commands.write_text("\n".join(lines) + "\n")
    done = subprocess.run(
        ["debugfs", "-w", "-f", str(commands), f"{image}?offset={root}"], capture_output=True, text=True
    )
    assert done.returncode == 0 and "error" not in done.stderr.lower(), done.stderr


def test_a_missing_tool_is_named_before_anything_starts(tmp_path: Path):
    tools = tmp_path / "bin"
    tools.mkdir()
    for tool in ("id", "awk", "sed", "mkfs.ext4", "chroot", "sha256sum", "dirname", "mkfs.vfat", "mcopy", "sfdisk"):
        found = shutil.which(tool)
        if found:
            (tools / tool).symlink_to(found)
    env = {**os.environ, "PATH": str(tools), "PYTHON": str(CHECKOUT / ".venv/bin/python")}
    done = subprocess.run(
        ["/bin/bash", str(CHECKOUT / "build_image.sh"), "--output", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 2
    assert "missing:" in done.stderr and "debootstrap (apt install debootstrap)" in done.stderr
    assert not (tmp_path / "out").exists(), "nothing was started"

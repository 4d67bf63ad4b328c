"""build_image.sh, run for real: a rootfs-only build into a temporary folder (debootstrap from the Debian mirror
this machine's apt uses, the kiosk from a wheel of this checkout), then, inside it with chroot: the app imports
and `kiosk --version` runs, the units are enabled, tty1 has no getty, and the kiosk user exists and owns only
its state. And the script names what is missing before it starts."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk import __version__
from tests.conftest import machine_network

CHECKOUT = Path(__file__).parents[1]
OVMF = Path("/usr/share/OVMF")  # the UEFI firmware for qemu (apt ovmf)
ESP_TYPE = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
ROOT_X86_64_TYPE = "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709"
TEST_BOOT_OPTIONS = "systemd.setenv=WLR_RENDERER=pixman systemd.journald.forward_to_console=1"
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]  # a build, then a boot under emulation


TRAINING_CONFIG = """\
[terminal]
name = "Training terminal"
facility = "Training"
location = "Technician bench"

[central]
url = "http://127.0.0.1:8000"
token_file = "/etc/kiosk/terminal-token"
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Iterator[Path]:
    """One build serves every test: the disk image of a training terminal (its configuration baked in, so the
    kiosk starts at boot), with the root file system kept beside it for the chroot checks."""
    output = tmp_path_factory.mktemp("image")
    config = tmp_path_factory.mktemp("training")
    (config / "kiosk.toml").write_text(TRAINING_CONFIG)
    (config / "terminal-token").write_text("training-token\n")
    # The suite runs in a private network namespace (tests.conftest); the build alone needs the Debian mirror
    # and the Python package index, so it runs in the machine's own.
    build = [str(CHECKOUT / "build_image.sh"), "--keep-rootfs", "--config", str(config), "--output", str(output)]
    command = ["nsenter", f"--net={machine_network()}", "--", *build]
    done = subprocess.run(command, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    yield output
    shutil.rmtree(output)  # over a gigabyte


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
    assert owned == ["/etc/kiosk/terminal-token", "/var/lib/kiosk"], "the training image's token, and the state"
    assert (root / "etc/kiosk/terminal-token").stat().st_mode & 0o777 == 0o600
    assert (root / "var/lib/kiosk").stat().st_mode & 0o777 == 0o750


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


def test_the_image_boots_under_qemu_and_the_kiosk_comes_up(built: Path, tmp_path: Path):
    """Software emulation (TCG), UEFI firmware, the serial console as the only output."""
    serial = tmp_path / "serial.log"
    variables = tmp_path / "vars.fd"
    shutil.copy(OVMF / "OVMF_VARS_4M.fd", variables)
    image = software_rendering_copy(built / "kiosk.img", tmp_path / "kiosk.img")
    qemu = subprocess.Popen(
        [
            "qemu-system-x86_64", "-machine", "q35,accel=tcg", "-cpu", "max", "-m", "2048", "-smp", "2",
            "-no-reboot", "-display", "none", "-monitor", "none", "-serial", f"file:{serial}",
            # A GPU whose kernel driver imports buffers (PRIME), as a terminal's GPU does; qemu's default VGA
            # cannot, and cage refuses it.
            "-vga", "none", "-device", "virtio-vga",
            "-drive", f"if=pflash,format=raw,readonly=on,file={OVMF / 'OVMF_CODE_4M.fd'}",
            "-drive", f"if=pflash,format=raw,file={variables}",
            "-drive", f"file={image},format=raw,if=virtio",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    started = time.monotonic()

    def console() -> str:
        return serial.read_text(errors="replace") if serial.exists() else ""

    try:
        # "Started" for a Type=notify unit means the app inside cage sent READY=1, which it does once its first
        # screen is drawn; systemd hears it only from a process in the unit (no PAM session took it away).
        while "systemd[1]: Started kiosk.service" not in console():
            assert qemu.poll() is None, qemu.stderr.read().decode() if qemu.stderr else ""
            assert "Failed to start kiosk.service" not in console(), console()[-3000:]
            assert time.monotonic() - started < 420, console()[-3000:]
            time.sleep(1)
        print(f"the kiosk was ready {time.monotonic() - started:.0f} s after power-on")
        shown = console()
        assert "UI thread at real-time priority 1" in shown, "the unit's LimitRTPRIO=1 reached the app"
        assert "left full screen" not in shown, "the app does not fight cage over its window"
    finally:
        qemu.kill()
        qemu.wait()


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

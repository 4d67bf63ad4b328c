"""The systemd units in systemd/, checked by systemd's own tools: `systemd-analyze verify` in a root laid out as
the terminal's image lays it out (the units, cage and the app's entry point where the units expect them), and
`systemd-analyze security --offline=true`, whose exposure score may not get worse than the level reached."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

UNITS = Path(__file__).parents[1] / "systemd"
# The exposure each unit reached (0 is the safest, 10 the most exposed); a change that raises one fails here.
EXPOSURE_AT_MOST = {
    "kiosk.service": 2.1,
    "kiosk-out-of-service.service": 1.3,
    "kiosk-report-out-of-service.service": 1.2,
    "kiosk-setup.service": 4.4,
}
# What the units run (verify checks each command, not its arguments), as the image installs them.
EXECUTABLES = ("usr/bin/cage", "opt/kiosk/bin/kiosk", "opt/kiosk/bin/kiosk-provision", "bin/sh")


def test_every_unit_has_an_exposure_limit():
    assert sorted(p.name for p in UNITS.glob("*.service")) == sorted(EXPOSURE_AT_MOST)


@pytest.fixture(scope="module")
def image_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("image")
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    for unit in UNITS.glob("*.service"):
        shutil.copy(unit, root / "usr/lib/systemd/system" / unit.name)
    for executable in EXECUTABLES:
        path = root / executable
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)
    return root


@pytest.mark.parametrize("unit", sorted(EXPOSURE_AT_MOST))
def test_systemd_analyze_verify_finds_nothing_wrong(image_root: Path, unit: str):
    done = subprocess.run(
        ["systemd-analyze", "verify", f"--root={image_root}", unit], capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stderr.strip()) == (0, ""), done.stderr


def test_verify_does_catch_a_broken_unit(image_root: Path):
    broken = image_root / "usr/lib/systemd/system/kiosk-broken.service"
    broken.write_text((UNITS / "kiosk.service").read_text().replace("Type=notify", "Type=notifyy"))
    done = subprocess.run(
        ["systemd-analyze", "verify", f"--root={image_root}", broken.name], capture_output=True, text=True, timeout=60
    )
    broken.unlink()
    assert "notifyy" in done.stderr


@pytest.mark.parametrize("unit", sorted(EXPOSURE_AT_MOST))
def test_exposure_is_no_worse_than_reached(unit: str):
    done = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", "--no-pager", str(UNITS / unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    found = re.search(rf"Overall exposure level for {re.escape(unit)}: ([0-9.]+)", done.stdout)
    assert found is not None, done.stdout + done.stderr
    print(f"{unit}: exposure {found.group(1)}")
    assert float(found.group(1)) <= EXPOSURE_AT_MOST[unit]

"""`kiosk-provision setup`, run as the technician runs it, into a temporary root standing for a freshly imaged
terminal, against the real central server over HTTPS with a facility CA made here: a first run, a second run
that changes nothing, a dry run, a run killed half way and finished by the next, bad answers, and used,
expired and unknown codes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from central.server_process import CentralProcess, TlsFiles, free_port
from central.store import Store
from drivers.hotplug import RecordedSource
from drivers.udev_devices import DeviceRules
from kiosk.audit_journal import AuditJournal
from kiosk.central_client import CentralClient, CentralError
from kiosk.config import load_config
from kiosk.protocol import EnrollmentRequest, ErrorCode
from kiosk.request_proof import load_private_key, public_key_text
from provisioning.answers import AnswersError, gather
from provisioning.devices import detect
from provisioning.diagnostics import scrub
from provisioning.report import build_report
from provisioning.steps import Context, Status, run_steps
from provisioning.target import Target
from tests.conftest import staff_call
from tests.simulated_terminal import ScriptedTechnician, SimulatedTerminal
from tests.tls_authority import make_authority, server_certificate
from tests.udev_recordings import table_after

pytestmark = pytest.mark.e2e

OS_RELEASE = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n'
NAME, LOCATION = "B North terminal 3", "Harbor County, Unit B North, dayroom"


@dataclass
class Facility:
    central: CentralProcess
    ca: Path

    def code(self) -> str:
        answer = staff_call(
            self.central, "POST", "/enrollment-codes", json={"housing_unit": "Unit B North"}, verify=str(self.ca)
        )
        assert answer.status_code == 200, answer.text
        return str(answer.json()["code"])

    def terminals(self) -> list[dict]:
        return staff_call(self.central, "GET", "/terminals", verify=str(self.ca)).json()


@pytest.fixture
def facility(start_central, tmp_path: Path) -> Facility:
    folder = tmp_path / "pki"
    folder.mkdir()
    authority = make_authority(folder, "Harbor County Facility CA")
    cert, key = server_certificate(folder, authority, "127.0.0.1")
    return Facility(start_central(tls=TlsFiles(cert, key, authority.pem)), authority.pem)


@pytest.fixture
def image(tmp_path: Path) -> Path:
    """A freshly imaged terminal's root, as far as provisioning reads it: its OS release and account files."""
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    files = {
        "os-release": OS_RELEASE,
        "passwd": "root:x:0:0:root:/root:/bin/bash\n",
        "group": "root:x:0:\nvideo:x:44:\naudio:x:29:\ninput:x:105:\n",
        "shadow": "root:*:19000:0:99999:7:::\n",
        "gshadow": "root:*::\nvideo:*::\naudio:*::\ninput:*::\n",
    }
    for name, text in files.items():
        (root / "etc" / name).write_text(text)
    units = root / "usr/lib/systemd/system"  # build_image.sh installs the units; setup enables them
    units.mkdir(parents=True)
    for unit in (Path(__file__).parents[1] / "systemd").glob("*.service"):
        (units / unit.name).write_bytes(unit.read_bytes())
    return root


ENABLED_KIOSK = "etc/systemd/system/graphical.target.wants/kiosk.service"


def answers_for(facility: Facility) -> dict[str, str]:
    """Every answer `setup` asks for, with a new code, as `gather` takes them."""
    return {
        "central_url": facility.central.url,
        "enrollment_code": facility.code(),
        "name": NAME,
        "location": LOCATION,
        "ca_file": str(facility.ca),
    }


def provision(root: Path, *args: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "provisioning.cli", *args, "--root", str(root)]
    return subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def start_setup(root: Path, facility: Facility, code: str, *extra: str) -> subprocess.Popen[str]:
    """`kiosk-provision setup` with every answer given as a flag."""
    answers = {"--central-url": facility.central.url, "--code": code, "--name": NAME, "--location": LOCATION}
    answers |= {"--ca-file": str(facility.ca), "--devices": "simulated"}  # this machine has none of them
    flags = [part for flag, value in answers.items() for part in (flag, value)]
    return provision(root, "setup", *flags, *extra)


def setup(root: Path, facility: Facility, code: str, *extra: str) -> tuple[int, str, str]:
    process = start_setup(root, facility, code, *extra)
    out, err = process.communicate(timeout=120)
    return process.returncode, out, err


def tree(root: Path) -> dict[str, tuple[bytes, int, int, int]]:
    """Every file under `root`: content, mode, owner and modification time."""
    found = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            state = path.stat()
            found[str(path.relative_to(root))] = (path.read_bytes(), state.st_mode, state.st_uid, state.st_mtime_ns)
    return found


def test_a_first_run_enrolls_the_terminal_and_writes_what_the_kiosk_needs(facility, image):
    returncode, out, err = setup(image, facility, facility.code())
    assert returncode == 0, out + err
    steps = ("system", "kiosk user", "network", "enrollment", "media server", "devices", "configuration")
    for step in (*steps, "state folder", "device rules", "self-test", "services"):
        assert f"changed  {step}" in out or f"ok  {step}" in out, out
    assert "Result:     ready" in out

    kiosk = next(line for line in (image / "etc/passwd").read_text().splitlines() if line.startswith("kiosk:"))
    uid = int(kiosk.split(":")[2])
    for secret in ("etc/kiosk/terminal-token", "etc/kiosk/terminal.key"):
        state = (image / secret).stat()
        assert (state.st_mode & 0o777, state.st_uid) == (0o600, uid), f"{secret}: the kiosk user's alone"
    for group in ("video", "audio", "input"):
        assert any(
            line.startswith(f"{group}:") and line.endswith("kiosk")
            for line in (image / "etc/group").read_text().splitlines()
        )
    state = (image / "var/lib/kiosk").stat()
    assert (state.st_uid, state.st_mode & 0o777) == (uid, 0o750), "the kiosk writes its audit journal there"
    assert (image / ENABLED_KIOSK).readlink() == Path("/usr/lib/systemd/system/kiosk.service"), "starts at boot"

    config = load_config(image / "etc/kiosk/kiosk.toml")
    assert (config.terminal.name, config.terminal.location) == (NAME, LOCATION)
    assert config.terminal.facility == "Harbor County Detention Center", "the facility's name comes from central"
    assert (config.central.url, str(config.central.key_file)) == (facility.central.url, "/etc/kiosk/terminal.key")
    assert (image / "etc/kiosk/facility-ca.pem").read_text() == facility.ca.read_text()
    assert (image / "etc/udev/rules.d/70-kiosk.rules").exists()
    assert "LIBINPUT_CALIBRATION_MATRIX" in (image / "etc/udev/rules.d/99-kiosk-touchscreen.rules").read_text()

    key = load_private_key(image / "etc/kiosk/terminal.key")
    enrolled = [t for t in facility.terminals() if t["name"] == NAME]
    assert [(t["location"], t["public_key"]) for t in enrolled] == [(LOCATION, public_key_text(key))]
    token = (image / "etc/kiosk/terminal-token").read_text().strip()
    client = CentralClient(config.central.url, token, verify=str(image / "etc/kiosk/facility-ca.pem"), key=key)
    client.idle_info()  # the kiosk, with what was written, is served by central

    report = json.loads((image / "var/lib/kiosk/provision-report.json").read_text())
    assert report["terminal"]["terminal_id"] == enrolled[0]["id"]
    assert report["result"] == "ready"
    assert report["self_test"]["checks"][-1]["verdict"] == "simulated", "--devices simulated: a training terminal"
    assert token not in json.dumps(report), "the report holds no secret"


@pytest.mark.ui
def test_the_kiosk_set_up_this_way_is_served_by_central_with_its_own_credentials(facility, image, start_kiosk, qtbot):
    assert setup(image, facility, facility.code())[0] == 0
    identity = json.loads((image / "var/lib/kiosk/identity.json").read_text())
    kiosk = start_kiosk(
        facility.central.url,
        image / "etc/kiosk/terminal-token",
        key=load_private_key(image / "etc/kiosk/terminal.key"),
        ca_file=image / "etc/kiosk/facility-ca.pem",
    )

    def heard() -> bool:  # its first heartbeat: a signed request with a body, over HTTPS to the pinned CA
        return any(t["id"] == identity["terminal_id"] and t["version"] for t in facility.terminals())

    qtbot.waitUntil(heard, timeout=20_000)
    assert kiosk.window.isVisible()


def test_a_media_server_out_of_reach_stops_the_set_up_saying_where(start_central, image, tmp_path):
    authority = make_authority(tmp_path, "Facility CA")
    cert, key = server_certificate(tmp_path, authority, "127.0.0.1")
    closed = f"http://127.0.0.1:{free_port()}/janus"  # where central says Janus is, and nothing listens
    facility = Facility(start_central(janus_url=closed, tls=TlsFiles(cert, key, authority.pem)), authority.pem)
    returncode, out, _ = setup(image, facility, facility.code())
    assert returncode == 1
    assert "changed  enrollment" in out and "failed  media server: Janus TCP: failed" in out, out


def test_a_second_run_changes_nothing(facility, image):
    code = facility.code()
    assert setup(image, facility, code)[0] == 0
    before = tree(image)
    returncode, out, err = setup(image, facility, code)  # the code is spent: it is not needed again
    assert returncode == 0, out + err
    assert "changed" not in out.replace("unchanged", "")
    after = tree(image)
    report = "var/lib/kiosk/provision-report.json"
    assert {k: v for k, v in after.items() if k != report} == {k: v for k, v in before.items() if k != report}
    assert len([t for t in facility.terminals() if t["name"] == NAME]) == 1


def test_a_terminal_without_the_kiosk_units_is_not_ready(facility, image):
    for unit in (image / "usr/lib/systemd/system").iterdir():
        unit.unlink()
    returncode, out, _ = setup(image, facility, facility.code())
    assert returncode == 1
    assert "failed  services: kiosk.service not installed: this is not the terminal's image" in out


def test_a_dry_run_says_what_it_would_change_and_changes_nothing(facility, image):
    code = facility.code()
    before = tree(image)
    returncode, out, err = setup(image, facility, code, "--dry-run")
    assert returncode == 0, out + err
    assert "would change  kiosk user" in out and "would change  enrollment" in out
    assert "would change  self-test" in out and "would change  services" in out
    assert tree(image) == before and not (image / ENABLED_KIOSK).is_symlink()
    assert not [t for t in facility.terminals() if t["name"] == NAME], "central was not asked to enroll"
    assert setup(image, facility, code)[0] == 0, "the code is still good for the real run"


def test_a_run_killed_half_way_is_finished_by_the_next(facility, image):
    code = facility.code()
    process = start_setup(image, facility, code)
    assert process.stdout is not None
    for line in process.stdout:
        if "enrollment:" in line:
            process.send_signal(signal.SIGKILL)  # the power cut out right after enrollment
            break
    process.wait(timeout=30)
    assert not (image / "etc/kiosk/kiosk.toml").exists()
    identity = json.loads((image / "var/lib/kiosk/identity.json").read_text())

    returncode, out, err = setup(image, facility, code)
    assert returncode == 0, out + err
    assert "ok  enrollment" in out and "changed  configuration" in out
    assert json.loads((image / "var/lib/kiosk/identity.json").read_text()) == identity, "the same terminal"
    assert len([t for t in facility.terminals() if t["name"] == NAME]) == 1


def test_a_run_that_failed_after_central_answered_is_finished_without_the_spent_code(facility, image):
    code = facility.code()
    (image / "etc/kiosk/terminal-token").mkdir(parents=True)  # the token cannot be written: the run stops there
    returncode, out, _ = setup(image, facility, code)
    assert returncode == 1 and "failed  enrollment: Is a directory" in out, out
    (image / "etc/kiosk/terminal-token").rmdir()

    returncode, out, err = setup(image, facility, code)
    assert returncode == 0, out + err
    assert "finished the enrollment of terminal" in out, "from central's kept answer: the code is spent"
    assert not (image / "var/lib/kiosk/enrollment-answer.json").exists()
    assert len([t for t in facility.terminals() if t["name"] == NAME]) == 1


@pytest.mark.parametrize(
    ("flag", "value", "named"),
    [
        ("--central-url", "http://central.example/", "central_url"),
        ("--code", "K7QM-9XTD", "enrollment_code"),
        ("--name", "  ", "name"),
        ("--ca-file", "/nonexistent/ca.pem", "ca_file"),
    ],
)
def test_a_bad_answer_is_refused_before_anything_changes(facility, image, flag, value, named):
    answers = {
        "--central-url": facility.central.url,
        "--code": "K7QM-9XTD-3HPA",
        "--name": NAME,
        "--location": LOCATION,
        "--ca-file": str(facility.ca),
    }
    answers[flag] = value
    before = tree(image)
    process = provision(image, "setup", *[part for pair in answers.items() for part in pair])
    out, err = process.communicate(timeout=60)
    assert process.returncode == 2, out + err
    assert named in err
    assert tree(image) == before


def test_an_answers_file_sets_up_a_terminal_unattended_and_a_wrong_one_changes_nothing(facility, image, tmp_path):
    answers = tmp_path / "answers.toml"
    answers.write_text(
        f'central_url = "{facility.central.url}"\nenrollment_code = "{facility.code()}"\n'
        f'name = "{NAME}"\nlocation = "{LOCATION}"\nca_file = "{facility.ca}"\ndevices = "simulated"\n'
        'language = "es"\n'
    )
    before = tree(image)
    process = provision(image, "setup", "--answers", str(answers))
    _, err = process.communicate(timeout=60)
    assert (process.returncode, "unknown keys: language" in err) == (2, True), err
    assert tree(image) == before
    answers.write_text(answers.read_text().replace('language = "es"\n', ""))
    process = provision(image, "setup", "--answers", str(answers))
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, out + err
    assert load_config(image / "etc/kiosk/kiosk.toml").terminal.name == NAME


def test_an_unattended_run_missing_an_answer_says_which(image):
    process = provision(image, "setup", "--central-url", "https://central.example", "--name", NAME)
    _, err = process.communicate(timeout=60)
    assert (process.returncode, "enrollment_code: missing" in err) == (2, True), err


def test_at_the_keyboard_each_answer_is_checked_as_it_is_typed(capsys):
    typed = iter(["ftp://central", "https://central.example", "12", "k7qm 9xtd 3hpa", NAME, LOCATION, ""])
    answers = gather({}, lambda _question: next(typed))
    assert (answers.central_url, answers.enrollment_code, answers.ca_file) == (
        "https://central.example",
        "K7QM9XTD3HPA",
        None,
    )
    shown = capsys.readouterr().out
    assert "must be an https:// URL" in shown and "the 12-character code" in shown
    with pytest.raises(AnswersError, match="location: missing"):
        gather({"central_url": "https://c.example", "enrollment_code": "K7QM9XTD3HPA", "name": NAME}, None)


def _expired_code(facility: Facility) -> str:
    store = Store(facility.central.state / "central.sqlite3")  # the server's own database file
    try:
        return store.add_enrollment_code("Unit B North", valid_s=-1.0, created_by="test")[0]
    finally:
        store.dispose()


def _used_code(facility: Facility) -> str:
    code = facility.code()
    key = public_key_text(Ed25519PrivateKey.generate())
    request = EnrollmentRequest(code=code, name="Another terminal", location="Unit C South", public_key=key)
    CentralClient(facility.central.url, None, verify=str(facility.ca)).enroll(request)
    return code


CODES: dict[str, tuple[Callable[[Facility], str], str]] = {
    "used": (_used_code, "this enrollment code was used already: ask the admin for a new one"),
    "expired": (_expired_code, "this enrollment code has expired: ask the admin for a new one"),
    "unknown": (
        lambda _facility: "ABCD-EFGH-JKMN",
        "central does not know this enrollment code: check it with the admin",
    ),
}


@pytest.mark.parametrize("kind", CODES)
def test_a_used_expired_or_unknown_code_fails_the_enrollment_with_what_to_do(facility, image, kind):
    make_code, says = CODES[kind]
    returncode, out, _ = setup(image, facility, make_code(facility))
    assert returncode == 1
    assert f"failed  enrollment: {says}" in out
    assert "configuration:" not in out, "the run stops at the step that failed"
    assert "Result:     not ready: enrollment failed" in out
    assert not (image / "etc/kiosk/terminal-token").exists()


def test_status_prints_the_last_report_again(facility, image):
    assert setup(image, facility, facility.code())[0] == 0
    process = provision(image, "self-test")
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, out + err
    assert "passed  camera: 640x480" in out and "simulated  earpiece: simulated on this training terminal" in out
    process = provision(image, "status")
    out, _ = process.communicate(timeout=30)
    assert process.returncode == 0 and NAME in out and "Result:     ready" in out
    process = provision(image, "status", "--json")
    out, _ = process.communicate(timeout=30)
    assert json.loads(out)["terminal"]["name"] == NAME


# -- diagnostics and reset ---------------------------------------------------------------------------------


def test_the_diagnostics_bundle_holds_what_support_needs_and_no_secret(facility, image, tmp_path):
    assert setup(image, facility, facility.code())[0] == 0
    token = (image / "etc/kiosk/terminal-token").read_text().strip()
    key_pem = (image / "etc/kiosk/terminal.key").read_text()
    output = tmp_path / "bundle.tar.gz"
    process = provision(image, "diagnostics", "--output", str(output))
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, out + err
    assert output.stat().st_mode & 0o777 == 0o600
    with tarfile.open(output) as bundle:
        texts = {m.name.split("/")[-1]: bundle.extractfile(m).read().decode() for m in bundle.getmembers()}
    assert set(texts) == {
        "versions.txt",
        "kiosk.toml",
        "identity.json",
        "provision-report.json",
        "self-test.json",
        "devices.txt",
        "logs.txt",
    }
    assert NAME in texts["identity.json"] and "kiosk 0.1.0" in texts["versions.txt"]
    camera = json.loads(texts["self-test.json"])["checks"][0]
    assert (camera["part"], camera["verdict"]) == ("camera", "passed") and "640x480" in camera["detail"]
    everything = "\n".join(texts.values())
    assert token not in everything and "PRIVATE KEY" not in everything and key_pem.splitlines()[1] not in everything


@pytest.mark.parametrize(
    "line",
    [
        "identify failed for pin=2468 on terminal 4",
        'POST /terminal/identify body={"resident_id": "1001", "pin": "2468"}',
        "headers: Authorization: Bearer 3x4mpl3-t0k3n_value",
        '{"display_name": "Daniel", "visitors": ["Maria", "Rosa"]}',
        "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIN0tAr3alKeyJustForThisTest\n-----END PRIVATE KEY-----",
    ],
)
def test_the_bundle_scrubs_a_secret_or_a_name_that_a_log_line_carried(line):
    scrubbed = scrub(line, secrets=[])
    for leaked in ("2468", "1001", "3x4mpl3", "Daniel", "Maria", "Rosa", "N0tAr3alKey", "t0k3n"):
        assert leaked not in scrubbed, scrubbed
    assert "[removed]" in scrubbed


def test_a_reset_leaves_central_after_handing_over_the_audit_and_wipes_the_terminal(facility, image):
    assert setup(image, facility, facility.code())[0] == 0
    config = load_config(image / "etc/kiosk/kiosk.toml")
    token = (image / "etc/kiosk/terminal-token").read_text().strip()
    key = load_private_key(image / "etc/kiosk/terminal.key")
    AuditJournal(image / "var/lib/kiosk/audit").record("handset_lifted", visit_id=None)

    refused = provision(image, "reset")  # no keyboard and no --yes: it asks, so it cannot go on
    _, err = refused.communicate(timeout=30)
    assert refused.returncode == 2 and "--yes" in err
    assert (image / "etc/kiosk/terminal-token").exists()

    process = provision(image, "reset", "--yes")
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, out + err
    assert "handing over 1 audit event it still held" in out
    assert "disabled kiosk.service" in out and not (image / ENABLED_KIOSK).is_symlink()
    for gone in (
        "etc/kiosk/kiosk.toml",
        "etc/kiosk/terminal-token",
        "etc/kiosk/terminal.key",
        "etc/udev/rules.d/70-kiosk.rules",
    ):
        assert not (image / gone).exists(), gone
    assert list((image / "var/lib/kiosk").iterdir()) == []
    assert "kiosk:" in (image / "etc/passwd").read_text(), "the image's user stays"

    with pytest.raises(CentralError) as left:
        CentralClient(config.central.url, token, verify=str(facility.ca), key=key).idle_info()
    assert left.value.code is ErrorCode.TERMINAL_NOT_AUTHORISED
    audit = staff_call(facility.central, "GET", "/audit", verify=str(facility.ca)).json()
    kinds = [event["kind"] for event in audit]
    assert "handset_lifted" in kinds and "terminal_left" in kinds
    assert setup(image, facility, facility.code())[0] == 0, "set up again from scratch with a new code"


def test_a_reset_with_central_unreachable_wipes_nothing_unless_told_to_go_offline(facility, image):
    assert setup(image, facility, facility.code())[0] == 0
    facility.central.stop()
    process = provision(image, "reset", "--yes")
    out, err = process.communicate(timeout=60)
    assert process.returncode == 1 and "nothing was wiped" in out + err
    assert (image / "etc/kiosk/terminal-token").exists()
    process = provision(image, "reset", "--yes", "--offline")
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, out + err
    assert "ask the admin to retire terminal" in out
    assert not (image / "etc/kiosk/terminal-token").exists()


# -- the devices, found as the kiosk finds them ----------------------------------------------------------


def recorded_terminal(*names: str) -> RecordedSource:
    return RecordedSource(list(table_after(*names)))


TERMINAL = ("camera_c615.json", "handset_h340_plug.json", "touchscreen_epson_plug.json")  # udev recordings
H340_HOOK = DeviceRules(has_hook_switch=lambda device: device.devnode == "/dev/hidraw0")  # its HID descriptor's


def test_each_device_found_is_written_as_real_with_a_name_that_survives_replugging():
    detected = detect(recorded_terminal(*TERMINAL), H340_HOOK)
    assert detected.missing == []
    assert detected.settings == {
        "camera": "real",
        "camera_source": "/dev/v4l/by-id/usb-046d_HD_Webcam_C615_1563CF40-video-index0",
        "handset": "real",
        "hook": "real",
        "touchscreen": "real",
        "touchscreen_name": detected.settings["touchscreen_name"],
    }
    assert "EPSON" in detected.settings["touchscreen_name"].upper()
    assert detected.found[0] == "camera HD Webcam C615 at /dev/v4l/by-id/usb-046d_HD_Webcam_C615_1563CF40-video-index0"


def test_a_terminal_missing_a_device_is_told_which_and_its_configuration_is_not_written(facility, image):
    camera_only = detect(recorded_terminal("camera_c615.json"), H340_HOOK)
    assert camera_only.missing == [
        "handset sound card (a USB sound card)",
        "hook switch (a HID device reporting one)",
        "touchscreen",
    ]
    answers = gather(answers_for(facility), None)
    shown: list[str] = []
    outcomes = run_steps(Context(Target(image), answers, False, lambda: camera_only), lambda o: shown.append(o.step))
    assert outcomes[-1].status is Status.FAILED and outcomes[-1].step == "devices"
    assert "handset sound card" in outcomes[-1].detail and "Check their cables" in outcomes[-1].detail
    assert not (image / "etc/kiosk/kiosk.toml").exists()


def test_the_devices_found_go_into_the_configuration_and_a_second_run_keeps_it(facility, image):
    found = detect(recorded_terminal(*TERMINAL), H340_HOOK)
    given = answers_for(facility)
    terminal = SimulatedTerminal()  # the self-test's devices: this machine has none of those found
    for run in ("first", "second"):
        context = Context(Target(image), gather(given, None), False, lambda: found, open_devices=terminal.open)
        outcomes = {o.step: o for o in run_steps(context, lambda _o: None)}
        assert [o.status for o in outcomes.values() if o.status is Status.FAILED] == [], (run, outcomes)
    devices = load_config(image / "etc/kiosk/kiosk.toml").devices
    assert (devices.camera.value, devices.camera_source) == ("real", found.settings["camera_source"])
    assert (devices.handset.value, devices.hook.value, devices.touchscreen.value) == ("real", "real", "real")
    assert outcomes["configuration"].detail.startswith("unchanged"), "the second run found the same devices"
    result = build_report(Target(image), list(outcomes.values()), False)["result"]
    assert result == "ready; at the terminal, `kiosk-provision self-test` checks the earpiece, hook switch, touchscreen"


def test_a_passed_self_test_is_not_asked_again_until_the_devices_change(facility, image):
    given = answers_for(facility)
    found = detect(recorded_terminal(*TERMINAL), H340_HOOK)
    terminal = SimulatedTerminal()
    technicians = []
    for rotation in ("0", "0", "180"):
        technician = ScriptedTechnician(terminal, tap_at=(0.9, 0.9) if rotation == "180" else (0.1, 0.1))
        technicians.append(technician)
        answers = gather(given | {"touchscreen_rotation": rotation}, None)
        context = Context(
            Target(image), answers, False, lambda: found, open_devices=terminal.open, technician=technician
        )
        outcomes = {o.step: o for o in run_steps(context, lambda _o: None)}
        assert outcomes["self-test"].status is not Status.FAILED, outcomes["self-test"]
    first, second, turned = technicians
    assert len(first.told) == 4
    assert outcomes["self-test"].detail == "passed: camera, microphone, earpiece, hook switch, touchscreen"
    assert second.told == [] and terminal.opened == 2, "the second run kept the passed test of the same devices"
    assert turned.told[-1] == "Tap the top-left corner of the screen.", "a turned screen is tested again"
    assert load_config(image / "etc/kiosk/kiosk.toml").devices.touchscreen_rotation == 180
    rule = (image / "etc/udev/rules.d/99-kiosk-touchscreen.rules").read_text()
    assert 'LIBINPUT_CALIBRATION_MATRIX}="-1 0 1 0 -1 1"' in rule

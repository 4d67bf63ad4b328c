"""The steps of `kiosk-provision setup`, in order. Each looks before it acts: what is already as it should be
is left alone (`ok`), so a second run changes nothing and a run cut off half way is finished by the next. In a
dry run a step says what it would change (`would change`) and changes nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from drivers.hotplug import PyudevSource
from kiosk.central_client import CentralClient, CentralError
from kiosk.config import DevicesSection, parse_config
from kiosk.device_watch import device_rules
from kiosk.devices import DeviceMissing
from kiosk.protocol import EnrollmentGrant, EnrollmentRequest, ErrorCode
from kiosk.request_proof import load_private_key, new_private_key, public_key_text
from kiosk.technician import CENTRAL, JANUS, CheckResult, network_check
from provisioning.answers import Answers
from provisioning.devices import Detected, detect
from provisioning.self_test import (
    NOBODY,
    Technician,
    TestDevices,
    Verdict,
    Waits,
    open_test_devices,
    run_self_test,
)
from provisioning.self_test_record import AUTOMATIC, FULL, SelfTestRecord
from provisioning.services import (
    UNITS,
    ServiceError,
    enable,
    is_active,
    is_enabled,
    kiosk_paused,
    manager_running,
    not_installed,
    start,
)
from provisioning.target import (
    CONFIG,
    FACILITY_CA,
    IDENTITY,
    KEY,
    KIOSK_GROUPS,
    KIOSK_USER,
    PENDING_GRANT,
    STATE,
    TOKEN,
    Target,
)
from provisioning.udev_rules import rules_files

# Sentences for the technician, per refusal from central.
_REFUSED = {
    ErrorCode.ENROLLMENT_CODE_UNKNOWN: "central does not know this enrollment code: check it with the admin",
    ErrorCode.ENROLLMENT_CODE_USED: "this enrollment code was used already: ask the admin for a new one",
    ErrorCode.ENROLLMENT_CODE_EXPIRED: "this enrollment code has expired: ask the admin for a new one",
    ErrorCode.LOCKED: "too many wrong codes from this terminal: wait, then try again",
}


class Status(StrEnum):
    OK = "ok"  # already as it should be
    CHANGED = "changed"
    WOULD_CHANGE = "would change"  # a dry run
    FAILED = "failed"


@dataclass(frozen=True)
class Outcome:
    step: str
    status: Status
    detail: str


class StepFailed(Exception):
    """A step that cannot go on, with a sentence saying what to do."""


def _live_devices() -> Detected:
    return detect(PyudevSource(), device_rules(DevicesSection()))  # the kiosk's own defaults find them


@dataclass(frozen=True)
class Context:
    target: Target
    answers: Answers
    dry_run: bool
    find_devices: Callable[[], Detected] = _live_devices
    devices: dict[str, str | int] = field(default_factory=dict)  # [devices] as the devices step found them
    technician: Technician = NOBODY
    open_devices: Callable[[DevicesSection], TestDevices] = open_test_devices
    waits: Waits = field(default_factory=Waits)
    changed: list[str] = field(default_factory=list)  # the steps that changed something in this run


@dataclass(frozen=True)
class Identity:
    """What enrollment made of this terminal; kept in IDENTITY (nothing secret in it)."""

    terminal_id: int
    name: str
    location: str
    facility: str
    housing_unit: str
    central_url: str
    janus_url: str

    @staticmethod
    def read(target: Target) -> Identity | None:
        try:
            return Identity(**json.loads(target.path(IDENTITY).read_text(encoding="utf-8")))
        except (FileNotFoundError, ValueError, TypeError):
            return None

    def json(self) -> bytes:
        return (json.dumps(self.__dict__, indent=2, ensure_ascii=False) + "\n").encode()


def _changed(context: Context, would: str, done: Callable[[], str]) -> tuple[Status, str]:
    if context.dry_run:
        return Status.WOULD_CHANGE, would
    return Status.CHANGED, done()


# -- 1. the system ----------------------------------------------------------------------------------


def check_system(context: Context) -> tuple[Status, str]:
    release = context.target.path("/etc/os-release")
    try:
        fields = dict(line.split("=", 1) for line in release.read_text(encoding="utf-8").splitlines() if "=" in line)
    except FileNotFoundError:
        raise StepFailed(f"no {release}: this is not the terminal's OS image") from None
    found = {key: value.strip('"') for key, value in fields.items()}
    if (found.get("ID"), found.get("VERSION_ID")) != ("debian", "12"):
        raise StepFailed(f"the terminal runs Debian 12; this is {found.get('PRETTY_NAME', 'another system')}")
    return Status.OK, found.get("PRETTY_NAME", "Debian 12")


def ensure_kiosk_user(context: Context) -> tuple[Status, str]:
    target = context.target
    account = target.kiosk_account()
    groups = [group for group in KIOSK_GROUPS if group in target.groups()]
    missing = [group for group in groups if account is None or group not in account.groups]
    if account is not None and not missing:
        return Status.OK, f"user {KIOSK_USER} ({account.uid}) in {', '.join(groups)}"
    prefix = [] if target.root == Path("/") else ["--prefix", str(target.root)]

    def create() -> str:
        if account is None:
            home = ["--home-dir", STATE, "--no-create-home", "--shell", "/usr/sbin/nologin"]
            _run(["useradd", *prefix, "--system", "--user-group", *home, KIOSK_USER])
        if missing:
            _run(["usermod", *prefix, "--append", "--groups", ",".join(missing), KIOSK_USER])
        made = "created" if account is None else "added"
        return f"user {KIOSK_USER} {made}" + (f", in {', '.join(missing)}" if missing else "")

    return _changed(context, f"create user {KIOSK_USER}" if account is None else f"add to {missing}", create)


def ensure_state_folder(context: Context) -> tuple[Status, str]:
    """The kiosk's own state (its audit journal above all) lives in STATE: the kiosk user's, and no one else's."""
    target = context.target
    folder = target.path(STATE)
    account = target.kiosk_account()
    try:
        state = folder.stat()
        owned = account is not None and (state.st_uid, state.st_gid) == (account.uid, account.gid)
        if owned and state.st_mode & 0o7777 == 0o750:
            return Status.OK, f"{STATE} is the kiosk user's"
    except FileNotFoundError:
        pass
    if account is None and not context.dry_run:
        raise StepFailed(f"no {KIOSK_USER} user to own {STATE}")

    def own() -> str:
        assert account is not None
        folder.mkdir(parents=True, exist_ok=True)
        os.chown(folder, account.uid, account.gid)
        folder.chmod(0o750)
        return f"{STATE} given to {KIOSK_USER}, mode 0750"

    return _changed(context, f"give {STATE} to {KIOSK_USER}", own)


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise StepFailed(f"{command[0]} failed: {done.stderr.strip() or done.returncode}")


# -- 2. the network ---------------------------------------------------------------------------------


def _trusted_ca(target: Target, ca_file: Path | None) -> Path | None:
    """The CA central's certificate is checked against: the one pinned at enrollment, else the answer's."""
    pinned = target.path(FACILITY_CA)
    return pinned if pinned.exists() else ca_file


def _reached(results: list[CheckResult]) -> tuple[Status, str]:
    failed = next((r for r in results if not r.ok), None)
    if failed is not None:
        raise StepFailed(failed.line())
    return Status.OK, ", ".join(f"{r.step.value} {r.ms:.0f} ms" for r in results)


def check_network(context: Context) -> tuple[Status, str]:
    answers = context.answers
    trusted = _trusted_ca(context.target, answers.ca_file)
    return _reached([r for r in network_check(answers.central_url, None, trusted) if r.target == CENTRAL])


def check_media_server(context: Context) -> tuple[Status, str]:
    """Janus, at the address central gave at enrollment (known only once enrolled)."""
    identity = Identity.read(context.target)
    if identity is None:
        if context.dry_run:
            return Status.OK, "its address comes with the enrollment: checked then"
        raise StepFailed("not enrolled, so the media server's address is not known")
    trusted = _trusted_ca(context.target, context.answers.ca_file)
    checked = [r for r in network_check(identity.central_url, identity.janus_url, trusted) if r.target == JANUS]
    return _reached(checked)


# -- 3. enrollment ----------------------------------------------------------------------------------


def _verify(target: Target, ca_file: Path | None) -> bool | str:
    trusted = _trusted_ca(target, ca_file)
    return str(trusted) if trusted else True


def enrolled_client(target: Target, identity: Identity, ca_file: Path | None) -> CentralClient:
    """The client the kiosk will be: its token, signed with its key, trusting the pinned CA (else `ca_file`)."""
    token = target.path(TOKEN).read_text(encoding="ascii").strip()
    key = load_private_key(target.path(KEY))
    return CentralClient(identity.central_url, token, verify=_verify(target, ca_file), key=key)


def _settle(target: Target, pending: dict[str, Any]) -> Identity:
    """Puts an enrollment central has answered into place: the token (0600, the kiosk user's), the facility CA
    and the identity; then forgets the pending answer."""
    grant = EnrollmentGrant.model_validate(pending["grant"])
    target.write(TOKEN, f"{grant.token}\n".encode(), 0o600, target.kiosk_account())
    ca_pem = grant.facility_ca_pem or pending.get("ca_pem")
    if ca_pem:
        target.write(FACILITY_CA, ca_pem.encode(), 0o644)
    identity = Identity(
        grant.terminal_id,
        pending["name"],
        pending["location"],
        grant.facility,
        grant.housing_unit,
        pending["url"],
        grant.janus_url,
    )
    target.write(IDENTITY, identity.json(), 0o644)
    target.path(PENDING_GRANT).unlink()
    return identity


def ensure_enrolled(context: Context) -> tuple[Status, str]:
    target, answers = context.target, context.answers
    if target.path(PENDING_GRANT).exists():
        if context.dry_run:
            return Status.WOULD_CHANGE, "finish the enrollment a cut-off run began"
        try:
            pending = json.loads(target.path(PENDING_GRANT).read_text(encoding="utf-8"))
            identity = _settle(target, pending)
        except (ValueError, KeyError, TypeError):
            raise StepFailed(
                f"{PENDING_GRANT} is unreadable: run `kiosk-provision reset`, then use a new code"
            ) from None
        return Status.CHANGED, f"finished the enrollment of terminal {identity.terminal_id} a cut-off run began"
    identity = Identity.read(target)
    key_path, token_path = target.path(KEY), target.path(TOKEN)
    if identity is not None and key_path.exists() and token_path.exists():
        try:
            enrolled_client(target, identity, answers.ca_file).idle_info()
        except CentralError as exc:
            if exc.code is ErrorCode.TERMINAL_NOT_AUTHORISED:
                raise StepFailed(
                    f"central no longer accepts terminal {identity.terminal_id}: run `kiosk-provision reset`, "
                    "then set it up with a new code"
                ) from None
            raise StepFailed(f"central did not answer the check of this terminal's identity: {exc}") from None
        return Status.OK, f"terminal {identity.terminal_id} of {identity.facility}, accepted by central"

    def enroll() -> str:
        account = target.kiosk_account()
        # The key is made once: a run cut off after this point enrolls with the same key next time.
        key = load_private_key(key_path) if key_path.exists() else new_private_key(key_path)
        if account is not None:
            os.chown(key_path, account.uid, account.gid)
        request = EnrollmentRequest(
            code=answers.enrollment_code, name=answers.name, location=answers.location, public_key=public_key_text(key)
        )
        try:
            grant = CentralClient(answers.central_url, None, verify=_verify(target, answers.ca_file)).enroll(request)
        except CentralError as exc:
            sentence = _REFUSED.get(exc.code) if exc.code is not None else None
            raise StepFailed(sentence or f"central refused the enrollment: {exc}") from None
        # Central's answer is kept whole, in one write, before anything else: the code is spent, so a run cut
        # off from here on must be able to finish without it.
        pending = {
            "grant": grant.model_dump(mode="json"),
            "name": answers.name,
            "location": answers.location,
            "url": answers.central_url,
            "ca_pem": answers.ca_file.read_text() if answers.ca_file else None,
        }
        target.write(PENDING_GRANT, json.dumps(pending).encode(), 0o600)
        _settle(target, pending)
        return f"enrolled as terminal {grant.terminal_id} of {grant.facility}"

    return _changed(context, f'enroll at {answers.central_url} as "{answers.name}"', enroll)


# -- 4. devices, configuration and device rules -----------------------------------------------------


def find_devices(context: Context) -> tuple[Status, str]:
    rotation = context.answers.touchscreen_rotation
    if rotation:  # how the panel is mounted: the technician says so; nothing can detect it
        context.devices["touchscreen_rotation"] = rotation
    if context.answers.devices == "simulated":
        return Status.OK, "simulated devices: a training terminal, with nothing to find"
    detected = context.find_devices()
    if detected.missing:
        raise StepFailed(f"not found: {'; '.join(detected.missing)}. Check their cables, then run this again")
    context.devices.update(detected.settings)
    return Status.OK, "; ".join(detected.found)


def kiosk_config(target: Target, identity: Identity, devices: dict[str, str | int]) -> bytes:
    """The kiosk's configuration file for this identity, checked by the kiosk's own parser before it is used."""

    def quoted(value: str | int) -> str:
        return json.dumps(value, ensure_ascii=False)  # a TOML basic string, or a number

    ca_line = f"ca_file = {quoted(FACILITY_CA)}\n" if target.path(FACILITY_CA).exists() else ""
    text = (
        "# Written by kiosk-provision: run it again rather than editing this file.\n"
        "[terminal]\n"
        f"name = {quoted(identity.name)}\n"
        f"facility = {quoted(identity.facility)}\n"
        f"location = {quoted(identity.location)}\n"
        f"state_dir = {quoted(STATE)}\n\n"
        "[central]\n"
        f"url = {quoted(identity.central_url)}\n"
        f"token_file = {quoted(TOKEN)}\n"
        f"key_file = {quoted(KEY)}\n"
        f"{ca_line}"
    )
    if devices:
        text += "\n[devices]\n" + "".join(f"{key} = {quoted(value)}\n" for key, value in devices.items())
    parse_config(text, "the configuration kiosk-provision wrote")
    return text.encode()


def _file_step(context: Context, files: dict[str, bytes], mode: int) -> tuple[Status, str]:
    target = context.target
    stale = [absolute for absolute, content in files.items() if not target.same(absolute, content, mode, None)]
    if not stale:
        return Status.OK, f"unchanged: {', '.join(files)}"

    def write() -> str:
        for absolute in stale:
            target.write(absolute, files[absolute], mode)
        return f"wrote {', '.join(stale)}"

    return _changed(context, f"write {', '.join(stale)}", write)


def ensure_config(context: Context) -> tuple[Status, str]:
    identity = Identity.read(context.target)
    if identity is None:
        if context.dry_run:
            return Status.WOULD_CHANGE, f"write {CONFIG} once enrolled"
        raise StepFailed("not enrolled, so there is no configuration to write")
    return _file_step(context, {CONFIG: kiosk_config(context.target, identity, context.devices)}, 0o644)


def ensure_device_rules(context: Context) -> tuple[Status, str]:
    try:
        config_text = context.target.path(CONFIG).read_text(encoding="utf-8")
    except FileNotFoundError:
        if context.dry_run:
            return Status.WOULD_CHANGE, "write the device rules once configured"
        raise StepFailed(f"no {CONFIG} to take the devices from") from None
    return _file_step(context, rules_files(parse_config(config_text, CONFIG).devices), 0o644)


# -- 5. the self-test -------------------------------------------------------------------------------


def configured_devices(target: Target) -> DevicesSection | None:
    try:
        return parse_config(target.path(CONFIG).read_text(encoding="utf-8"), CONFIG).devices
    except FileNotFoundError:
        return None


def self_test_now(
    target: Target,
    devices: DevicesSection,
    technician: Technician,
    open_devices: Callable[[DevicesSection], TestDevices] = open_test_devices,
    waits: Waits = Waits(),  # noqa: B008  (frozen: one shared default is safe)
) -> SelfTestRecord:
    """Runs the self-test on the configured devices now and keeps its results."""
    try:
        with kiosk_paused(target):
            try:
                opened = open_devices(devices)
            except DeviceMissing as exc:
                raise StepFailed(str(exc)) from None
            try:
                checks = run_self_test(opened, devices, technician, waits)
            finally:
                opened.close()
    except ServiceError as exc:
        raise StepFailed(f"the kiosk holds the devices and could not be paused: {exc}") from None
    record = SelfTestRecord.new(FULL if technician.at_terminal else AUTOMATIC, devices, checks)
    record.write(target)
    return record


def summary(record: SelfTestRecord) -> str:
    """For example "passed: camera, microphone; not checked: earpiece"."""
    groups = {verdict: [c.part for c in record.checks if c.verdict is verdict] for verdict in Verdict}
    return "; ".join(f"{verdict.value}: {', '.join(parts)}" for verdict, parts in groups.items() if parts)


def self_test(context: Context) -> tuple[Status, str]:
    devices = configured_devices(context.target)
    if devices is None:
        if context.dry_run:
            return Status.WOULD_CHANGE, "run the self-test once configured"
        raise StepFailed(f"no {CONFIG} to take the devices from")
    mode = FULL if context.technician.at_terminal else AUTOMATIC
    previous = SelfTestRecord.read(context.target)
    if previous is not None and previous.covers(mode, devices):
        return Status.OK, f"passed on {previous.when}: {summary(previous)}"
    if context.dry_run:
        return Status.WOULD_CHANGE, f"run the self-test ({mode})"
    record = self_test_now(context.target, devices, context.technician, context.open_devices, context.waits)
    if record.failed:
        raise StepFailed("; ".join(check.line() for check in record.failed))
    return Status.CHANGED, summary(record)


# -- 6. the services ---------------------------------------------------------------------------------


def ensure_services(context: Context) -> tuple[Status, str]:
    target = context.target
    if missing := not_installed(target):
        raise StepFailed(f"{', '.join(missing)} not installed: this is not the terminal's image (see build_image.sh)")
    live = manager_running(target)
    disabled = [unit for unit in UNITS if not is_enabled(target, unit)]
    stopped = [unit for unit in UNITS if live and not is_active(target, unit)]
    # A kiosk already running reads its configuration and device rules only when it starts.
    reconfigured = bool({"configuration", "device rules"} & set(context.changed))
    stale = [unit for unit in UNITS if live and unit not in stopped and reconfigured]
    units = ", ".join(UNITS)
    if not (disabled or stopped or stale):
        return Status.OK, f"{units} enabled and running" if live else f"{units} enabled: they start at boot"

    def enable_and_start() -> str:
        try:
            if disabled:
                enable(target, disabled)
            start(target, stopped, restart=False)
            start(target, stale, restart=True)
        except ServiceError as exc:
            raise StepFailed(str(exc)) from None
        done = [
            f"enabled {', '.join(disabled)}" if disabled else "",
            f"starting {', '.join(stopped)}" if stopped else "",
            f"restarted {', '.join(stale)} for its new configuration" if stale else "",
        ]
        return "; ".join(part for part in done if part)

    return _changed(context, f"enable and start {units}", enable_and_start)


STEPS: list[tuple[str, Callable[[Context], tuple[Status, str]]]] = [
    ("system", check_system),
    ("kiosk user", ensure_kiosk_user),
    ("state folder", ensure_state_folder),
    ("network", check_network),
    ("enrollment", ensure_enrolled),
    ("media server", check_media_server),
    ("devices", find_devices),
    ("configuration", ensure_config),
    ("device rules", ensure_device_rules),
    ("self-test", self_test),
    ("services", ensure_services),
]


def run_steps(context: Context, show: Callable[[Outcome], None]) -> list[Outcome]:
    """Runs the steps in order, showing each outcome as it comes; stops at the first that fails."""
    outcomes = []
    for name, step in STEPS:
        try:
            status, detail = step(context)
        except StepFailed as exc:
            status, detail = Status.FAILED, str(exc)
        except OSError as exc:  # a full disk, a read-only or wrong file: said, and the next run goes on from here
            status, detail = Status.FAILED, f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": ")
        outcome = Outcome(name, status, detail)
        outcomes.append(outcome)
        if status is Status.CHANGED:
            context.changed.append(name)
        show(outcome)
        if status is Status.FAILED:
            break
    return outcomes

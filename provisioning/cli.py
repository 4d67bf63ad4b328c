"""`kiosk-provision`: takes a freshly imaged terminal to an enrolled kiosk in one command.

    kiosk-provision setup [--root DIR] [--dry-run] [--answers FILE] [--central-url URL] [--code CODE]
                          [--name NAME] [--location TEXT] [--ca-file PEM] [--devices detect|simulated]
                          [--touchscreen-rotation 0|90|180|270] [--json]
    kiosk-provision self-test [--root DIR]
    kiosk-provision status [--root DIR] [--json]
    kiosk-provision diagnostics [--root DIR] [--output FILE]
    kiosk-provision reset [--root DIR] [--yes] [--offline]

`setup` asks only for what it was not given (at a keyboard; unattended, a missing answer is an error before
anything changes), prints each step with its result, and ends with a one-screen report, kept as JSON in
/var/lib/kiosk/provision-report.json. Exit status: 0 ready (or a dry run), 1 a step failed, 2 bad answers.
At a keyboard its self-test asks the technician to lift the handset, speak, listen and tap; unattended it checks
only what needs no one. `self-test` runs the self-test again, whole, at the terminal.
`diagnostics` writes a support bundle without secrets or personal data; `reset` is the factory reset, and asks
first.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from provisioning.answers import AnswersError, gather, read_answers_file
from provisioning.diagnostics import write_bundle
from provisioning.report import build_report, read_report, render, save_report, self_test_json
from provisioning.reset import CONFIRMATION, ResetRefused, reset
from provisioning.self_test import NOBODY, ConsoleTechnician
from provisioning.steps import Context, Outcome, Status, StepFailed, configured_devices, run_steps, self_test_now
from provisioning.target import Target

_FLAGS = {
    "central_url": "central-url",
    "enrollment_code": "code",
    "name": "name",
    "location": "location",
    "ca_file": "ca-file",
    "devices": "devices",
    "touchscreen_rotation": "touchscreen-rotation",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kiosk-provision", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    setup = commands.add_parser("setup", help="enroll this terminal and set it up")
    self_test = commands.add_parser("self-test", help="test the camera, handset and touchscreen again")
    status = commands.add_parser("status", help="print the last report again")
    diagnostics = commands.add_parser("diagnostics", help="write a support bundle, without secrets or personal data")
    reset = commands.add_parser("reset", help="factory reset: leave central, wipe identity, configuration and state")
    for command in (setup, self_test, status, diagnostics, reset):
        command.add_argument("--root", type=Path, default=Path("/"), help="work on this folder instead of /")
    for command in (setup, status):
        command.add_argument("--json", action="store_true", help="print the report as JSON")
    default_bundle = f"kiosk-diagnostics-{time.strftime('%Y%m%d-%H%M%S')}.tar.gz"
    diagnostics.add_argument("--output", type=Path, default=Path(default_bundle), help="the bundle (tar.gz)")
    reset.add_argument("--yes", action="store_true", help="do not ask for confirmation (unattended)")
    reset.add_argument("--offline", action="store_true", help="wipe even though central cannot be told")
    setup.add_argument("--dry-run", action="store_true", help="show what would change, and change nothing")
    setup.add_argument("--answers", type=Path, help="a TOML file of answers, for unattended installs")
    helps = {
        "ca_file": "the facility CA (PEM) that signs central's certificate",
        "devices": "detect (default), or simulated for a training terminal",
        "touchscreen_rotation": "degrees clockwise the touchscreen is mounted turned: 0 (default), 90, 180 or 270",
    }
    for field, flag in _FLAGS.items():
        setup.add_argument(f"--{flag}", dest=field, help=helps.get(field))
    return parser


def _show(outcome: Outcome) -> None:
    print(f"  {outcome.status.value:>12}  {outcome.step}: {outcome.detail}", flush=True)


def _setup(args: argparse.Namespace) -> int:
    try:
        given = read_answers_file(args.answers) if args.answers else {}
        given |= {field: value for field in _FLAGS if (value := getattr(args, field)) is not None}
        at_keyboard = sys.stdin.isatty()
        answers = gather(given, input if at_keyboard else None)
    except AnswersError as exc:
        print(f"kiosk-provision: {exc}", file=sys.stderr)
        return 2
    target = Target(args.root.resolve())
    print(f"Setting up {target.root}{' (dry run: nothing will change)' if args.dry_run else ''}", flush=True)
    context = Context(target, answers, args.dry_run, technician=ConsoleTechnician() if at_keyboard else NOBODY)
    outcomes = run_steps(context, _show)
    report = build_report(target, outcomes, args.dry_run)
    if not args.dry_run:
        save_report(target, report)
    print(json.dumps(report, indent=2, ensure_ascii=False) if args.json else render(report, with_steps=False))
    return 1 if any(o.status is Status.FAILED for o in outcomes) else 0


def _not_set_up() -> int:
    print("kiosk-provision: this terminal has not been set up yet (run `kiosk-provision setup`)", file=sys.stderr)
    return 1


def _self_test(args: argparse.Namespace) -> int:
    target = Target(args.root.resolve())
    devices = configured_devices(target)
    if devices is None:
        return _not_set_up()
    technician = ConsoleTechnician() if sys.stdin.isatty() else NOBODY
    try:
        record = self_test_now(target, devices, technician)
    except StepFailed as exc:
        print(f"kiosk-provision: {exc}", file=sys.stderr)
        return 1
    for check in record.checks:
        print(f"  {check.verdict.value:>12}  {check.part}: {check.detail}")
    return 1 if record.failed else 0


def _status(args: argparse.Namespace) -> int:
    target = Target(args.root.resolve())
    report = read_report(target)
    if report is None:
        return _not_set_up()
    report["self_test"] = self_test_json(target)  # `self-test` may have run since
    print(json.dumps(report, indent=2, ensure_ascii=False) if args.json else render(report, with_steps=True))
    return 0 if str(report.get("result")).startswith("ready") else 1


def _diagnostics(args: argparse.Namespace) -> int:
    names = write_bundle(Target(args.root.resolve()), args.output)
    print(f"Wrote {args.output} ({', '.join(names)}), with secrets and personal data removed.")
    return 0


def _reset(args: argparse.Namespace) -> int:
    target = Target(args.root.resolve())
    if not args.yes:
        if not sys.stdin.isatty():
            print("kiosk-provision: reset asks for confirmation: run it at the keyboard, or add --yes", file=sys.stderr)
            return 2
        print(f"This leaves central and wipes this terminal's identity, configuration and state in {target.root}.")
        if input(f"Type {CONFIRMATION} to go on: ").strip() != CONFIRMATION:
            print("Nothing was changed.")
            return 1
    try:
        reset(target, args.offline, print)
    except ResetRefused as exc:
        print(f"kiosk-provision: {exc}", file=sys.stderr)
        return 1
    print("Reset: run `kiosk-provision setup` with a new enrollment code to set this terminal up again.")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    commands = {
        "setup": _setup,
        "self-test": _self_test,
        "status": _status,
        "diagnostics": _diagnostics,
        "reset": _reset,
    }
    return commands[args.command](args)


if __name__ == "__main__":
    sys.exit(main())

"""`kiosk-demo`: the whole product on one machine: Janus, central with the demo data, a simulated
visitor and the kiosk. With a display it opens the kiosk window; without one it runs a scripted
visit and saves a screenshot of each screen and the visit's recording into one folder.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from central.child_process import stop
from central.demo_data import DEMO_OFFICER, DEMO_RESIDENT_ID, DEMO_RESIDENT_PIN, FACILITY, HOUSING_UNIT
from central.janus_server import JanusNotInstalled, JanusServer, JanusSettings
from central.private_network import PrivateNetwork, PrivateNetworkError, enter_private_network
from central.server_process import CentralProcess, free_port
from central.simulated_visitor import visitor_command
from kiosk.logs import configure_logging

log = logging.getLogger("demo")
CALL_SECONDS = 20.0


def write_kiosk_config(folder: Path, central: CentralProcess, devices: str = "", ca_file: Path | None = None) -> Path:
    """The demo terminal's configuration file in `folder`; `devices` is the body of its [devices] section;
    `ca_file`: the CA that signed central's (and Janus's) certificate, when they serve HTTPS."""
    path = folder / "kiosk.toml"
    trust = f'ca_file = "{ca_file}"\n' if ca_file else ""
    path.write_text(
        f"""# The demo terminal's configuration (see README: configuration).
[terminal]
name = "B North terminal 1"
facility = "{FACILITY}"
location = "{HOUSING_UNIT}"
state_dir = "{folder / "kiosk-state"}"

[central]
url = "{central.url}"
token_file = "{central.state / "terminal-token"}"
{trust}
[devices]
{devices}
"""
    )
    return path


def _start_visitor(central: CentralProcess, folder: Path) -> subprocess.Popen[bytes]:
    with open(folder / "visitor.log", "ab") as log_file:
        return subprocess.Popen(
            visitor_command(central.url, central.state / "visitor-code"),
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )


def _scripted_visit(config_path: Path, folder: Path) -> None:
    """Walks one visit by touch on an offscreen window, saving a screenshot of every screen."""
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtWidgets import QApplication

    from kiosk.config import load_config, read_token
    from kiosk.visit_machine import Screen
    from ui.app import KioskApp
    from ui.qt_process import load_fonts
    from ui.touch_script import screenshot, tap, type_digits, visible_text, wait_until

    qt = QApplication([])
    load_fonts()
    config = load_config(config_path)
    kiosk = KioskApp(config, read_token(config))
    qt.installEventFilter(activity := kiosk.window.activity_filter())
    window = kiosk.window
    kiosk.start()
    try:
        wait_until(lambda: window.current is Screen.IDLE, 5, "the idle screen")
        screenshot(window, folder, "01-idle")
        tap(window, "start")
        wait_until(lambda: window.current is Screen.IDENTIFY, 5, "the sign-in screen")
        type_digits(window, DEMO_RESIDENT_ID)
        tap(window, "continue")
        type_digits(window, DEMO_RESIDENT_PIN)
        screenshot(window, folder, "02-identify")
        tap(window, "continue")
        wait_until(lambda: window.current is Screen.VISIT_LIST, 10, "the visit list")
        screenshot(window, folder, "03-visit-list")
        ready = kiosk.terminal.machine.snapshot().visits[0]
        tap(window, f"choose-{ready.visit_id}")
        wait_until(lambda: window.current is Screen.PRE_VISIT, 5, "the notice before the visit")
        wait_until(lambda: window.pre_visit.self_view.has_video, 5, "the self-view")
        screenshot(window, folder, "04-pre-visit")
        tap(window, "accept")
        wait_until(lambda: "Lift the handset" in visible_text(window), 5, "the invitation to lift the handset")
        kiosk.handset.hook.lift()
        wait_until(lambda: window.current is Screen.IN_VISIT, 10, "the visit to open")
        wait_until(lambda: any(v.has_video for v in window.in_visit.remote_views()), 20, "the visitor's video")
        log.info("in the visit; talking for %.0f s", CALL_SECONDS)
        started = time.monotonic()
        wait_until(lambda: time.monotonic() - started > CALL_SECONDS, CALL_SECONDS + 1, "the call")
        screenshot(window, folder, "05-in-visit")
        tap(window, "end-visit")
        screenshot(window, folder, "06-confirm-end")
        tap(window, "confirm-end")
        wait_until(lambda: window.current is Screen.ENDED, 5, "the end of the visit")
        screenshot(window, folder, "07-ended")
        log.info("ended: %s", visible_text(window).replace("\n", " | "))
    finally:
        del activity
        kiosk.stop()


def _windowed_kiosk(config_path: Path) -> int:
    from ui.cli import main as kiosk_main

    return kiosk_main(["--config", str(config_path), "--simulator-panel"])


def _convert_recordings(recordings: Path, folder: Path) -> list[Path]:
    converted = []
    for mjr in sorted(recordings.glob("visit-*/*.mjr")):
        out = folder / "recording" / mjr.with_suffix(".webm" if "-video-" in mjr.name else ".opus").name
        out.parent.mkdir(exist_ok=True)
        result = subprocess.run(["janus-pp-rec", str(mjr), str(out)], capture_output=True, check=False)
        if result.returncode == 0:
            converted.append(out)
        else:
            log.error("could not convert %s", mjr.name)
    return converted


def _print_links(central: CentralProcess, network: PrivateNetwork) -> None:
    web = f"http://{network.media_address}:{central.port}"
    print(f"Demo resident (fictional): ID {DEMO_RESIDENT_ID}, PIN {DEMO_RESIDENT_PIN}.")
    if not network.shared_with_host:
        print("The browser links need root: the private network could not be shared with this machine.")
        return
    code = central.secret("visitor-code")
    password_file = central.state / "officer-password"
    print(f"Join the visit as a visitor, in a browser on this machine: {web}/visit?code={code}")
    print(f"Officer page: {web}/officer (user {DEMO_OFFICER}, password in {password_file})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kiosk-demo", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("demo-output"), help="where screenshots and recordings go")
    parser.add_argument("--headless", action="store_true", help="run the scripted visit even with a display")
    args = parser.parse_args(argv)
    configure_logging()
    folder = (args.out / datetime.now().strftime("%Y%m%d-%H%M%S")).resolve()
    folder.mkdir(parents=True)
    windowed = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) and not args.headless
    try:
        network = enter_private_network(share_with_host=True)
    except PrivateNetworkError as exc:
        print(f"kiosk-demo: cannot make the private network Janus needs: {exc}", file=sys.stderr)
        return 1
    janus = JanusServer(
        JanusSettings(
            network.media_interface,
            http_port=free_port(),
            http_ip=network.media_address,
            admin_key=secrets.token_hex(12),
        ),
        log_path=folder / "janus.log",
    )
    try:
        janus.start()
    except JanusNotInstalled as exc:
        print(f"kiosk-demo: {exc}", file=sys.stderr)
        return 1
    # Central listens on the namespace's loopback (for the kiosk) and on its media address (for a
    # browser on this machine, through the veth shared with the host).
    central = CentralProcess(folder / "central", janus.url, janus.settings.admin_key, listen="0.0.0.0")
    visitor = None
    try:
        central.start()
        visitor = _start_visitor(central, folder)
        config_path = write_kiosk_config(folder, central)
        _print_links(central, network)
        if windowed:
            return _windowed_kiosk(config_path)
        _scripted_visit(config_path, folder)
        # Central closes the room when the terminal reports the end; give Janus a moment to close files.
        deadline = time.monotonic() + 10
        while visitor.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop(visitor)
        central.stop()
        janus.stop()
    recordings = _convert_recordings(folder / "central" / "recordings", folder)
    print(f"\nScreenshots: {folder}/*.png")
    print("Recording:   " + (", ".join(str(p) for p in recordings) if recordings else "none was written"))
    print(f"Logs:        {folder}/janus.log, {folder}/central/central.log, {folder}/visitor.log")
    return 0 if recordings else 1


if __name__ == "__main__":
    sys.exit(main())

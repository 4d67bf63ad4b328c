"""The kiosk inside cage, the Wayland compositor systemd/kiosk.service runs it in, for real: cage's headless
backend and software renderer stand in for the terminal's screen and GPU. The app fills cage's screen, says
READY=1 once it is drawn, keeps the watchdog fed, and leaves with STOPPING=1 when systemd stops the session; the
out-of-service program does the same.

What cage shows is not captured here: with the window exactly the output's size, cage hands the app's buffer to
the headless output as it is (direct scan-out), and a screen capture of that output comes back black.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Received, notifications
from tests.waiting import wait_for

pytestmark = [pytest.mark.ui, pytest.mark.slow]

KIOSK = Path(sys.executable).with_name("kiosk")
SCREEN = (1280, 720)  # the size of the output cage's headless backend makes
WATCHDOG_S = 2.0
# cage refuses to run as root, so the session runs as `nobody`, as the unit runs it as `kiosk`. Reading the
# checkout (which may sit in a folder only root can enter) is the one right it keeps.
AS_NOBODY = [
    "setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
    "--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search",
]  # fmt: skip
PUT_BACK = "left full screen; put back"
# How cage may end when stopped: 0, or SIGABRT from its own double ending of the display (the units count both as
# a clean stop, SuccessExitStatus=SIGABRT).
CLEAN_STOP = (0, -signal.SIGABRT)


def config_text(folder: Path) -> str:
    return f"""\
[terminal]
name = "Training terminal"
facility = "Harbor County Detention Center"
location = "Unit B North"
state_dir = "{folder / "state"}"

[central]
url = "http://127.0.0.1:9"
token_file = "{folder / "token"}"

[screen]
width = {SCREEN[0]}
height = {SCREEN[1]}
"""


class CageSession:
    """cage running one of the kiosk's programs as `nobody`, with a notify socket as systemd's."""

    def __init__(self, folder: Path, received: Received, command: str) -> None:
        self.folder = folder
        self.received = received
        self.log = folder / "session.log"
        env = {
            "PATH": os.environ["PATH"],
            "LANG": "C.UTF-8",
            "HOME": str(folder),
            "XDG_RUNTIME_DIR": str(folder / "run"),
            "WLR_BACKENDS": "headless",
            "WLR_RENDERER": "pixman",
            "WLR_LIBINPUT_NO_DEVICES": "1",
            # What the unit sets for cage and the app.
            "XKB_DEFAULT_OPTIONS": "srvrkeys:none",
            "QT_QPA_PLATFORM": "wayland",
            "NOTIFY_SOCKET": str(folder / "notify"),
            "WATCHDOG_USEC": str(int(WATCHDOG_S * 1_000_000)),
        }
        program = [str(KIOSK), "--config", str(folder / "kiosk.toml"), command]
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [*AS_NOBODY, "cage", "-d", "--", *program],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a process group, as the unit's control group
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self) -> str:
        """The READY=1 datagram (its STATUS= with it)."""

        def ready() -> str | None:
            return next((text for text in self.received.texts() if text.startswith("READY=1")), None)

        try:
            wait_for(lambda: ready() or self.process.poll() is not None, 60, "READY=1 from the app in cage")
        except AssertionError as exc:
            raise AssertionError(self.output()[-3000:]) from exc
        assert self.process.poll() is None, self.output()[-3000:]
        return ready() or ""

    def stop(self) -> int:
        """What systemd does to stop the unit: SIGTERM to every process in it, cage and the app; returns cage's
        exit status."""
        os.killpg(self.process.pid, signal.SIGTERM)
        return self.process.wait(timeout=20)


@pytest.fixture
def cage_folder() -> Iterator[Path]:
    """A folder `nobody` may use: the configuration, the token, the state and the runtime folder, and the notify
    socket, which it must be able to write to."""
    folder = Path(tempfile.mkdtemp(prefix="cage-session-"))
    folder.chmod(0o755)
    (folder / "kiosk.toml").write_text(config_text(folder))
    (folder / "token").write_text("training-token\n")
    (folder / "token").chmod(0o600)
    for mine in ("state", "run"):
        (folder / mine).mkdir(mode=0o700)
    for owned in ("token", "state", "run"):
        shutil.chown(folder / owned, "nobody", "nogroup")
    yield folder
    shutil.rmtree(folder)


@pytest.fixture
def start_session(cage_folder: Path) -> Iterator[type[CageSession]]:
    sessions: list[CageSession] = []
    with notifications(cage_folder / "notify") as received:
        (cage_folder / "notify").chmod(0o666)

        def start(command: str) -> CageSession:
            sessions.append(session := CageSession(cage_folder, received, command))
            return session

        yield start  # type: ignore[misc]
        for session in sessions:
            if session.process.poll() is None:
                session.process.kill()
                session.process.wait()


def test_the_kiosk_in_cage_is_ready_keeps_the_watchdog_fed_and_stops_cleanly(start_session):
    session = start_session("run")
    assert session.wait_ready() == "READY=1\nSTATUS=Idle: ready for visits"
    ready_at = session.received.messages[0][0]
    wait_for(lambda: session.received.pings_between(ready_at, ready_at + 10) >= 3, 10, "three watchdog pings")
    # cage shows its one window maximized and full screen at once; the app must not fight it for "full screen
    # only" (that tug of war flooded the journal and starved the screen).
    assert PUT_BACK not in session.output()
    assert session.stop() in CLEAN_STOP
    wait_for(lambda: "STOPPING=1" in session.received.texts(), 5, "STOPPING=1")


def test_the_out_of_service_program_comes_up_in_cage(start_session):
    session = start_session("out-of-service")
    status = session.wait_ready()
    assert status == "READY=1\nSTATUS=Out of service: the kiosk failed to start, again and again"
    assert PUT_BACK not in session.output()
    assert session.stop() in CLEAN_STOP
    wait_for(lambda: "STOPPING=1" in session.received.texts(), 5, "STOPPING=1")

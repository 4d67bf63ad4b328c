"""Every screen at every supported size, in both languages and in large text: nothing cut off, every target
at least 15 mm on that panel, text colours readable (WCAG AA); a screenshot of each in build/screens/sizes/.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import pytestqt.exceptions
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QPushButton

from drivers.simulated_camera import SimulatedCamera
from kiosk.call_quality import Quality
from kiosk.call_status import CallStatus
from kiosk.protocol import CalloutPrivacy, EndReason, IdleInfo, Notice, VisitCallout, VisitStatus, VisitSummary
from kiosk.visit_machine import EndedVisit, LiveVisit, Problem, Screen, TerminalState
from tests.conftest import kiosk_config
from ui import theme
from ui.bridge import CoreBridge
from ui.touch_script import cut_off_texts
from ui.window import KioskWindow

pytestmark = pytest.mark.ui

# (width, height, dpi): a 10.1-inch 1280x800 tablet panel, a 15.6-inch 1920x1080 one, a 21.5-inch portrait.
SIZES = [(1280, 800, 150.0), (1920, 1080, 141.0), (1080, 1920, 102.0)]
NOW = datetime.now(UTC)


def visit(visit_id: int, status: VisitStatus, visitors: list[str], reason: str = "") -> VisitSummary:
    starts = NOW + timedelta(minutes=10 * (visit_id - 1))
    return VisitSummary(
        visit_id=visit_id,
        visitors=visitors,
        starts_at=starts,
        ends_at=starts + timedelta(minutes=30),
        status=status,
        status_reason=reason,
        joinable_from=starts - timedelta(minutes=5),
        recorded=True,
        place="Unit B North",
    )


VISITS = (
    visit(1, VisitStatus.READY, ["Maria"]),
    visit(2, VisitStatus.SCHEDULED, ["Rosa", "Luis", "Ana"]),
    visit(3, VisitStatus.CANCELLED, ["Tomás"], "The visitor asked to move it"),
)


def states() -> dict[str, TerminalState]:
    live = LiveVisit(1, ("Maria", "Luis"), True, time.monotonic(), time.monotonic() + 245, (300, 60))
    signed_in = TerminalState(screen=Screen.VISIT_LIST, resident_name="Daniel", visits=VISITS)
    idle_info = IdleInfo(
        notices=[
            Notice(
                title="Report sexual abuse or harassment",
                body="Call the hotline: dial 7233 from any unit phone. Calls are free and confidential.",
            ),
            Notice(title="Visits are recorded", body="Except visits with your attorney or clergy."),
        ],
        callout_privacy=CalloutPrivacy.INITIALS,
        callouts=[VisitCallout(starts_at=NOW, initials="J. R."), VisitCallout(starts_at=NOW, initials="A. M.")],
    )
    return {
        "idle": TerminalState(idle_info=idle_info),
        "idle-plain": TerminalState(),
        "idle-resuming": TerminalState(busy=True, handset_lifted=True),
        "identify": TerminalState(screen=Screen.IDENTIFY, problem=Problem.BAD_CREDENTIALS),
        "visit-list": signed_in,
        "pre-visit": TerminalState(screen=Screen.PRE_VISIT, resident_name="Daniel", visits=VISITS, selected=VISITS[0]),
        "in-visit": TerminalState(
            screen=Screen.IN_VISIT, live=live, call=CallStatus.RECONNECTING, warning_s=300, handset_lifted=True
        ),
        "in-visit-weak": TerminalState(
            screen=Screen.IN_VISIT, live=live, call=CallStatus.CONNECTED, quality=Quality.WEAK, handset_lifted=True
        ),
        "in-visit-poor": TerminalState(
            screen=Screen.IN_VISIT, live=live, call=CallStatus.CONNECTED, quality=Quality.POOR, handset_lifted=True
        ),
        "ended": TerminalState(screen=Screen.ENDED, ended=EndedVisit(1, EndReason.TIME_UP, "", 1795.0)),
        "out-of-service": TerminalState(screen=Screen.OUT_OF_SERVICE, out_of_service=("handset",)),
        "technician-pin": TerminalState(screen=Screen.TECHNICIAN_PIN, problem=Problem.TECHNICIAN_PIN),
    }


@pytest.fixture(scope="module")
def camera():
    return SimulatedCamera()


def window_for(qtbot, tmp_path, camera, width: int, height: int, dpi: float) -> KioskWindow:
    config = kiosk_config("http://127.0.0.1:9", tmp_path / "token").model_copy(deep=True)
    screen = config.screen.model_copy(update={"width": width, "height": height, "dpi": dpi})
    window = KioskWindow(config.model_copy(update={"screen": screen}), CoreBridge(camera), lambda _event: None)
    qtbot.addWidget(window)
    window.allow_close()
    window.show()
    return window


@pytest.mark.parametrize(("width", "height", "dpi"), SIZES, ids=[f"{w}x{h}" for w, h, _ in SIZES])
@pytest.mark.parametrize("language", ["en", "es"])
def test_every_screen_fits_and_every_target_is_large_enough(
    qtbot, tmp_path, camera, screens_folder, width, height, dpi, language
):
    folder = screens_folder / "sizes"
    folder.mkdir(exist_ok=True)
    window = window_for(qtbot, tmp_path, camera, width, height, dpi)
    smallest = theme.Scale(800, dpi).mm(theme.TOUCH_TARGET_MM)
    for large_text in (False, True):
        for name, state in states().items():
            window.render(replace(state, language=language, large_text=large_text))
            kind = "-large" if large_text else ""
            # A rebuilt screen settles its layout over a few turns of the event loop.
            with contextlib.suppress(pytestqt.exceptions.TimeoutError):
                qtbot.waitUntil(lambda: cut_off_texts(window) == [], timeout=2000)
            window.grab().save(str(folder / f"{width}x{height}-{language}{kind}-{name}.png"))
            assert cut_off_texts(window) == [], f"{name} at {width}x{height} {language}{kind}: words cut off"
            for target in window.findChildren(QPushButton):
                if target.isVisible():
                    size = (target.width(), target.height())
                    assert min(size) >= smallest, f"{name}: {target.objectName()} is {size}, under 15 mm"


def test_the_chip_says_what_the_core_measured_of_the_call(qtbot, tmp_path, camera):
    window = window_for(qtbot, tmp_path, camera, 1280, 800, 150.0)
    shown = {}
    for name in ("in-visit-weak", "in-visit-poor"):
        window.render(states()[name])
        chip = window.in_visit._quality
        shown[name] = chip.text() if chip.isVisible() else ""
    assert shown == {"in-visit-weak": "Video: weak", "in-visit-poor": "Video: poor"}
    window.render(replace(states()["in-visit-weak"], call=CallStatus.RECONNECTING))
    assert not window.in_visit._quality.isVisible(), "while reconnecting the banner says it all"


def contrast(foreground: str, background: str) -> float:
    def luminance(colour: str) -> float:
        channels = [QColor(colour).redF(), QColor(colour).greenF(), QColor(colour).blueF()]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    lighter, darker = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


@pytest.mark.parametrize(
    ("foreground", "background"),
    [
        (theme.TEXT, theme.NAVY),
        (theme.TEXT, theme.SURFACE),
        (theme.TEXT, theme.RAISED),
        (theme.MUTED, theme.NAVY),
        (theme.MUTED, theme.SURFACE),
        (theme.ON_ACCENT, theme.ACCENT),
        (theme.ON_ACCENT, theme.ACCENT_PRESSED),
        (theme.ON_DANGER, theme.DANGER),
        (theme.ON_DANGER, theme.DANGER_PRESSED),
        (theme.ON_WARNING, theme.WARNING),
        (theme.TEXT, theme.PROBLEM),
    ],
)
def test_every_text_colour_on_its_background_meets_wcag_aa(foreground, background):
    assert contrast(foreground, background) >= 4.5

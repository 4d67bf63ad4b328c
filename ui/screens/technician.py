"""Technician mode: the terminal's identity, each device's health, a camera preview, the microphone's level,
a test tone, a network check to central and Janus, and a restart. What it shows also goes to the log.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QHideEvent, QImage, QPainter, QPaintEvent, QShowEvent
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from kiosk.devices import DeviceReport
from kiosk.technician import TONE_S, CheckResult, TechnicianReport, TerminalIdentity, level_text
from kiosk.visit_machine import TerminalState
from ui import theme
from ui.bridge import to_qimage
from ui.screens.base import ScreenBase, page_layout
from ui.texts import tr
from ui.video_view import VideoView
from ui.widgets import button, card, label

log = logging.getLogger(__name__)

METER_MS = 66  # the level meter moves at about 15 frames a second
DEVICES_MS = 1000
METER_FLOOR_DBFS = -60.0


def _local_style(scale: theme.Scale) -> str:
    """The technician's own roles: a state chip in three colours and a card's small heading."""
    p = scale.px
    chip = f"border-radius: {p(14)}px; padding: {p(4)}px {p(12)}px; font-size: {p(18)}px; font-weight: 600;"
    return f"""
QLabel[role="state-ok"] {{ background: {theme.ACCENT}; color: {theme.ON_ACCENT}; {chip} }}
QLabel[role="state-warn"] {{ background: {theme.WARNING}; color: #2a1d00; {chip} }}
QLabel[role="state-bad"] {{ background: {theme.DANGER}; color: #2b0608; {chip} }}
QLabel[role="heading"] {{ font-size: {p(18)}px; font-weight: 600; color: {theme.MUTED}; letter-spacing: {p(1)}px; }}
QLabel[role="name"] {{ font-size: {p(22)}px; font-weight: 600; }}
QLabel[role="detail"] {{ font-size: {p(18)}px; color: {theme.MUTED}; }}
QLabel[role="row-detail"] {{ font-size: {p(18)}px; color: {theme.MUTED}; padding-top: {p(3)}px; }}
"""


class LevelMeter(QWidget):
    """A horizontal bar for a level in dBFS, from METER_FLOOR_DBFS (empty) to 0 (full); amber near clipping."""

    def __init__(self, scale: theme.Scale) -> None:
        super().__init__()
        self.level_dbfs = -math.inf
        self.setFixedHeight(scale.px(26))
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    @property
    def fraction(self) -> float:
        if not math.isfinite(self.level_dbfs):
            return 0.0
        return min(1.0, max(0.0, 1 - self.level_dbfs / METER_FLOOR_DBFS))

    def set_level(self, dbfs: float) -> None:
        if dbfs != self.level_dbfs:
            self.level_dbfs = dbfs
            self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        radius = self.height() / 2
        painter.setBrush(QColor(theme.NAVY))
        painter.drawRoundedRect(QRectF(self.rect()), radius, radius)
        width = self.width() * self.fraction
        if width > 0:
            painter.setBrush(QColor(theme.WARNING if self.level_dbfs > -6 else theme.ACCENT))
            painter.drawRoundedRect(QRectF(0, 0, max(width, self.height()), self.height()), radius, radius)


class _Background(QObject):
    """Runs one job at a time on a worker thread and hands its result (or its exception) to the UI thread."""

    finished = Signal(object)

    def __init__(self, parent: QObject, what: str) -> None:
        super().__init__(parent)
        self._what = what
        self._busy = threading.Event()

    @property
    def busy(self) -> bool:
        return self._busy.is_set()

    def run(self, job: Callable[[], object]) -> bool:
        """Starts `job` unless one is still running; False if it was not started."""
        if self._busy.is_set():
            return False
        self._busy.set()
        threading.Thread(target=self._work, args=(job,), name=self._what, daemon=True).start()
        return True

    def _work(self, job: Callable[[], object]) -> None:
        try:
            result: object = job()
        except Exception as exc:
            log.exception("technician: the %s failed", self._what)
            result = exc
        self._busy.clear()
        # Queued to the UI thread. RuntimeError: the screen was closed (or rebuilt in another language) meanwhile.
        with contextlib.suppress(RuntimeError):
            self.finished.emit(result)


Row = tuple[str, str, str, str]  # a health row: the name, the state's caption, its role, the detail


def _state_role(ok: bool, state: str = "") -> str:
    return "state-ok" if ok else "state-warn" if state == "degraded" else "state-bad"


class _HealthRows(QWidget):
    """Rows of name, a coloured state and a detail; rebuilt whenever what they show changes."""

    def __init__(self, scale: theme.Scale) -> None:
        super().__init__()
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setHorizontalSpacing(scale.px(16))
        self._grid.setVerticalSpacing(scale.px(8))
        self._grid.setColumnMinimumWidth(0, scale.px(140))
        self._grid.setColumnMinimumWidth(1, scale.px(120))
        self._grid.setColumnStretch(2, 1)
        self._shown: object = None

    def show_rows(self, rows: list[Row], key: object) -> None:
        if key == self._shown:
            return
        self._shown = key
        while self._grid.count():
            item = self._grid.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        for index, (name, caption, role, detail) in enumerate(rows):
            top = Qt.AlignmentFlag.AlignTop
            self._grid.addWidget(label(name, "name", wrap=False), index, 0, top)
            self._grid.addWidget(label(caption, role, wrap=False), index, 1, top | Qt.AlignmentFlag.AlignLeft)
            self._grid.addWidget(label(detail, "row-detail"), index, 2, top)


def _section(layout: QVBoxLayout, scale: theme.Scale, heading: str, note: str) -> tuple[_HealthRows, QLabel]:
    """A heading, its rows, and a note under them for while there are none."""
    layout.addWidget(label(heading, "heading"))
    rows = _HealthRows(scale)
    layout.addWidget(rows)
    shown = label(note, "detail")
    layout.addWidget(shown)
    return rows, shown


def _device_rows(reports: list[DeviceReport]) -> list[Row]:
    names = {
        "camera": tr("Camera"),
        "handset": tr("Handset"),
        "hook": tr("Hook switch"),
        "touchscreen": tr("Touchscreen"),
    }
    states = {"ok": tr("OK"), "degraded": tr("Degraded"), "lost": tr("Lost"), "missing": tr("Missing")}
    return [
        (
            names.get(r.name, r.name),
            states.get(r.state, r.state),
            _state_role(r.state == "ok", r.state),
            f"{r.driver}: {r.detail}",
        )
        for r in reports
    ]


def _network_rows(results: list[CheckResult]) -> list[Row]:
    rows = []
    for target in dict.fromkeys(r.target for r in results):
        steps = [r for r in results if r.target == target]
        timings = " · ".join(f"{r.step.value} {r.ms:.1f} ms" for r in steps if r.ok)
        last = steps[-1]
        detail = f"{timings}\n{last.detail}" if last.ok else "\n".join(filter(None, (timings, last.detail)))
        caption = tr("OK") if last.ok else tr("Failed")
        rows.append((target[0].upper() + target[1:], caption, _state_role(last.ok), detail))
    return rows


def _show_rows(result: object, rows: _HealthRows, make: Callable[[list], list[Row]], note: QLabel, failed: str) -> bool:
    """Shows a background job's list as rows (True), or in `note` that it failed (an exception came back)."""
    if not isinstance(result, list):
        note.setText(failed)
        note.show()
        return False
    note.hide()
    rows.show_rows(make(result), tuple(result))
    return True


class TechnicianScreen(ScreenBase):
    """Built from plain callables, so it knows nothing of the core; `leave` and `restart` act, the rest read."""

    network_done = Signal(object)  # the check's results, once shown

    def __init__(
        self,
        scale: theme.Scale,
        identity: TerminalIdentity,
        device_reports: Callable[[], list[DeviceReport]],
        mic_level: Callable[[], float],
        play_tone: Callable[[], None],
        run_network_check: Callable[[], list[CheckResult]],
        restart: Callable[[], None],
        leave: Callable[[], None],
    ) -> None:
        super().__init__(lambda _event: None, scale)  # it posts no event: its actions are the callables above
        self.setStyleSheet(_local_style(scale))
        self._identity = identity
        self._device_reports = device_reports
        self._mic_level = mic_level
        self._play_tone = play_tone
        self._run_network_check = run_network_check
        self._restart = restart
        self._leave = leave
        self._devices: list[DeviceReport] = []
        self._network: list[CheckResult] = []
        self._logged: TechnicianReport | None = None
        self._log_whole = True

        layout = page_layout(self, scale)
        top = QHBoxLayout()
        titles = QVBoxLayout()
        titles.setSpacing(scale.px(4))
        titles.addWidget(label(tr("Technician mode"), "title", wrap=False))
        titles.addWidget(label(f"{identity.name} · kiosk {identity.version}", "subtitle", wrap=False))
        titles.addWidget(label(f"{identity.facility} · {identity.location}", "muted", wrap=False))
        top.addLayout(titles, 1)
        leave_button = button(tr("Leave technician mode"), "leave-technician", self._on_leave, role="primary")
        leave_button.setFixedWidth(scale.px(380))
        top.addWidget(leave_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(top)

        body = QHBoxLayout()
        body.setSpacing(scale.px(24))
        layout.addLayout(body, 1)
        body.addWidget(self._camera_card(scale))
        body.addWidget(self._health_card(scale), 1)

        actions = QHBoxLayout()
        actions.setSpacing(scale.px(16))
        self._tone_button = button(tr("Play test tone"), "play-tone", self._on_tone)
        self._check_button = button(tr("Check network"), "check-network", self.check_network)
        restart_button = button(tr("Restart app"), "restart-app", self._on_restart, role="danger")
        for widget in (self._tone_button, self._check_button, restart_button):
            widget.setFixedWidth(scale.px(300))
        actions.addWidget(self._tone_button)
        actions.addWidget(self._check_button)
        actions.addStretch(1)
        actions.addWidget(restart_button)
        layout.addLayout(actions)

        self._device_job = _Background(self, "device report")
        self._device_job.finished.connect(self._devices_arrived)
        self._network_job = _Background(self, "network check")
        self._network_job.finished.connect(self._network_arrived)
        self._meter_timer = QTimer(self)
        self._meter_timer.timeout.connect(self._refresh_meter)
        self._device_timer = QTimer(self)
        self._device_timer.timeout.connect(self.refresh_devices)

    def _camera_card(self, scale: theme.Scale) -> QWidget:
        box = card()
        inner = QVBoxLayout(box)
        pad = scale.px(20)
        inner.setContentsMargins(pad, pad, pad, pad)
        inner.setSpacing(scale.px(10))
        inner.addWidget(label(tr("CAMERA"), "heading"))
        self.preview = VideoView(tr("Waiting for the camera…"))
        self.preview.setFixedSize(scale.px(384), scale.px(288))
        inner.addWidget(self.preview)
        inner.addSpacing(scale.px(8))
        inner.addWidget(label(tr("MICROPHONE"), "heading"))
        row = QHBoxLayout()
        row.setSpacing(scale.px(14))
        self.meter = LevelMeter(scale)
        row.addWidget(self.meter, 1)
        self._level = label("", "detail", wrap=False)
        self._level.setFixedWidth(scale.px(90))
        self._level.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        row.addWidget(self._level)
        inner.addLayout(row)
        inner.addWidget(label(tr("Speak into the handset: the bar moves."), "detail"))
        inner.addStretch(1)
        return box

    def _health_card(self, scale: theme.Scale) -> QWidget:
        box = card()
        inner = QVBoxLayout(box)
        pad = scale.px(24)
        inner.setContentsMargins(pad, scale.px(20), pad, pad)
        inner.setSpacing(scale.px(12))
        self._device_rows, self._devices_waiting = _section(inner, scale, tr("DEVICES"), tr("Looking at the devices…"))
        inner.addSpacing(scale.px(12))
        self._network_rows, self._network_note = _section(
            inner, scale, tr("NETWORK"), tr("Not checked yet. Tap “Check network”.")
        )
        inner.addStretch(1)
        return box

    # -- what the core (or a test) calls ----------------------------------------------------------

    def show_camera_frame(self, image: np.ndarray | QImage) -> None:
        """The newest camera frame (RGB pixels, or a QImage already converted off the UI thread)."""
        self.preview.show_frame(image if isinstance(image, QImage) else to_qimage(image))

    def render(self, state: TerminalState) -> None:
        """The visit's state has nothing to show here."""

    def entered(self) -> None:
        self._log_whole = True
        self.refresh_devices()

    def check_network(self) -> None:
        if not self._network_job.run(self._run_network_check):
            return
        self._check_button.setEnabled(False)
        self._check_button.setText(tr("Checking…"))
        self._network_note.setText(tr("Checking the way to central and Janus…"))
        self._network_note.show()

    def refresh_devices(self) -> None:
        self._device_job.run(self._device_reports)

    # -- timers and results -----------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:
        self._meter_timer.start(METER_MS)
        self._device_timer.start(DEVICES_MS)
        self._refresh_meter()
        self.refresh_devices()

    def hideEvent(self, event: QHideEvent) -> None:
        self._meter_timer.stop()
        self._device_timer.stop()

    def _refresh_meter(self) -> None:
        level = self._mic_level()
        self.meter.set_level(level)
        self._level.setText(level_text(level))

    def _devices_arrived(self, reports: object) -> None:
        failed = tr("The devices could not be read. See the log.")
        if _show_rows(reports, self._device_rows, _device_rows, self._devices_waiting, failed):
            self._devices = reports  # type: ignore[assignment]
            self._log()

    def _network_arrived(self, results: object) -> None:
        self._check_button.setEnabled(True)
        self._check_button.setText(tr("Check network"))
        failed = tr("The network check could not run. See the log.")
        if _show_rows(results, self._network_rows, _network_rows, self._network_note, failed):
            self._network = results  # type: ignore[assignment]
            self._log()
            self.network_done.emit(results)

    def report(self) -> TechnicianReport:
        return TechnicianReport(self._identity, tuple(self._devices), tuple(self._network), self.meter.level_dbfs)

    def _log(self) -> None:
        report = self.report()
        report.log(since=None if self._log_whole else self._logged)
        self._logged, self._log_whole = report, False

    # -- taps -------------------------------------------------------------------------------------

    def _on_tone(self) -> None:
        self._play_tone()
        self._tone_button.setEnabled(False)
        self._tone_button.setText(tr("Playing…"))
        QTimer.singleShot(round(TONE_S * 1000), self, self._tone_over)

    def _tone_over(self) -> None:
        self._tone_button.setEnabled(True)
        self._tone_button.setText(tr("Play test tone"))

    def _on_restart(self) -> None:
        log.warning("technician: restarting the app")
        self._restart()

    def _on_leave(self) -> None:
        self.report().log()
        log.info("technician: technician mode left")
        self._leave()

"""The kiosk window: frameless, the size of the configured screen, one screen at a time.

It routes the core's state and video to the screens and refuses to be closed by anyone but the app.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QStackedLayout, QWidget

from kiosk.config import KioskConfig
from kiosk.visit_machine import Screen, TerminalState, Touched
from ui.bridge import CoreBridge
from ui.i18n import LANGUAGE
from ui.screens.base import Post, ScreenBase
from ui.screens.ended import EndedScreen
from ui.screens.identify import IdentifyScreen
from ui.screens.idle import IdleScreen
from ui.screens.in_visit import InVisitScreen
from ui.screens.out_of_service import OutOfServiceScreen
from ui.screens.pre_visit import PreVisitScreen
from ui.screens.technician import TechnicianScreen
from ui.screens.technician_pin import TechnicianPinScreen
from ui.screens.visit_list import VisitListScreen
from ui.theme import Scale, style_sheet

_ACTIVITY = (QEvent.Type.MouseButtonPress, QEvent.Type.TouchBegin)
_SWALLOWED = (QEvent.Type.KeyPress, QEvent.Type.KeyRelease, QEvent.Type.Shortcut, QEvent.Type.ContextMenu)


class ActivityFilter(QObject):
    """Reports every touch to the core (the person is still here) and swallows keys and menus."""

    def __init__(self, post: Post) -> None:
        super().__init__()
        self._post = post

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in _ACTIVITY:
            self._post(Touched())
        return event.type() in _SWALLOWED


class KioskWindow(QWidget):
    def __init__(
        self,
        config: KioskConfig,
        bridge: CoreBridge,
        post: Post,
        technician: Callable[[Scale], TechnicianScreen] | None = None,
    ) -> None:
        """`technician` makes the technician screen at a scale (it needs the devices, which the window does not
        know); a terminal without a technician PIN has none."""
        super().__init__()
        self._allow_close = False
        self.setWindowTitle("Video visits")
        self.setWindowFlags(Qt.WindowType.FramelessWindowHint | Qt.WindowType.WindowStaysOnTopHint)
        self.setCursor(Qt.CursorShape.BlankCursor)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.NoContextMenu)
        self.setFixedSize(config.screen.width, config.screen.height)
        self._config = config
        self._make_technician = technician
        self._language = LANGUAGE
        self._large_text = False
        self._stack = QStackedLayout(self)
        self.screens: dict[Screen, ScreenBase] = {}
        self.current: Screen = Screen.IDLE
        self._bridge = bridge
        self._post = post
        self._build(config.screen.language, large_text=False)
        bridge.state_changed.connect(self.render)
        bridge.remote_frame_ready.connect(self._remote_frame)
        bridge.remote_left.connect(lambda feed_id: self.in_visit.remove_feed(feed_id))
        bridge.self_view_ready.connect(self._self_view)
        self._timer = QTimer(self)
        self._timer.timeout.connect(lambda: self.screens[self.current].tick())
        self._timer.start(250)

    def _build(self, language: str, large_text: bool) -> None:
        """Builds every screen afresh in this language and text size (Qt texts and sizes are set when made)."""
        self._language.use(language)
        self._large_text = large_text
        config, post = self._config, self._post
        screen = config.screen
        scale = Scale.for_screen(screen.width, screen.height, screen.dpi, large_text)
        self.setStyleSheet(style_sheet(scale))
        terminal = config.terminal
        for old in self.screens.values():
            self._stack.removeWidget(old)
            old.deleteLater()
        self.in_visit = InVisitScreen(post, scale)
        self.pre_visit = PreVisitScreen(post, scale)
        self.screens = {
            Screen.IDLE: IdleScreen(post, scale, terminal.facility, terminal.location),
            Screen.IDENTIFY: IdentifyScreen(post, scale),
            Screen.VISIT_LIST: VisitListScreen(post, scale),
            Screen.PRE_VISIT: self.pre_visit,
            Screen.IN_VISIT: self.in_visit,
            Screen.ENDED: EndedScreen(post, scale, config.timeouts.ended_screen_s),
            Screen.OUT_OF_SERVICE: OutOfServiceScreen(post, scale, terminal.facility, terminal.location),
            Screen.TECHNICIAN_PIN: TechnicianPinScreen(post, scale),
        }
        if self._make_technician is not None:
            self.technician = self._make_technician(scale)
            self.screens[Screen.TECHNICIAN] = self.technician
        for screen in self.screens.values():
            self._stack.addWidget(screen)
        self._stack.setCurrentWidget(self.screens[self.current])
        self_views = {Screen.PRE_VISIT: self.pre_visit.self_view, Screen.IN_VISIT: self.in_visit.self_view}
        if self._make_technician is not None:
            self_views[Screen.TECHNICIAN] = self.technician.preview
        for shown_on, view in self_views.items():
            view.on_resize = lambda width, height, on=shown_on: self._bridge.set_self_view_size(on, width, height)
            view.on_resize(view.width(), view.height())

    def render(self, state: TerminalState) -> None:
        if state.language != self._language.current or state.large_text != self._large_text:
            self._build(state.language, state.large_text)
            self.screens[state.screen].entered()
        screen = self.screens[state.screen]
        if state.screen is not self.current:
            self.current = state.screen
            screen.entered()
            self._stack.setCurrentWidget(screen)
        screen.render(state)

    def _remote_frame(self, feed_id: int, display: str) -> None:
        image = self._bridge.take_remote_frame(feed_id)
        if image is not None and self.current is Screen.IN_VISIT:
            view = self.in_visit.show_remote_frame(feed_id, display, image)
            if view.on_resize is None:
                view.on_resize = lambda width, height: self._bridge.set_view_size(feed_id, width, height)
                view.on_resize(view.width(), view.height())

    def _self_view(self) -> None:
        image = self._bridge.take_self_view()
        if image is None:
            return
        if self.current is Screen.PRE_VISIT:
            self.pre_visit.show_self_view(image)
        elif self.current is Screen.IN_VISIT:
            self.in_visit.show_self_view(image)
        elif self.current is Screen.TECHNICIAN:
            self.technician.show_camera_frame(image)

    def activity_filter(self) -> ActivityFilter:
        """The filter to install on the QApplication so every touch counts as activity."""
        return ActivityFilter(self._post)

    def allow_close(self) -> None:
        self._allow_close = True

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._allow_close:
            event.accept()
        else:
            event.ignore()

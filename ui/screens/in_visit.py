"""In the visit: the visitors' video large, a self-view, names, the time left, warnings, the call's
state, hang-up grace and "end visit" with a confirmation."""

from __future__ import annotations

import math
import time

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QResizeEvent
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QSizePolicy, QVBoxLayout, QWidget

from kiosk.call_quality import Quality
from kiosk.call_status import CallStatus
from kiosk.visit_machine import VOLUME_GAINS, EndTapped, MessageDismissed, TerminalState, VolumeChanged
from ui import theme
from ui.screens.base import Post, ScreenBase
from ui.texts import duration, names, tr
from ui.video_view import VideoView
from ui.widgets import button, card, label, set_role


def _grid_position(index: int, count: int, landscape: bool) -> tuple[int, int]:
    """1 feed fills the screen, 2 sit side by side (one above the other on a portrait screen), 3 or more
    fill a two-column grid."""
    if count <= 2:
        return (0, index) if landscape else (index, 0)
    return divmod(index, 2)


MINUS = "\N{MINUS SIGN}"  # as wide as the plus beside it


class InVisitScreen(ScreenBase):
    def __init__(self, post: Post, scale: theme.Scale) -> None:
        super().__init__(post, scale)
        self._state: TerminalState | None = None
        self._feeds: dict[int, VideoView] = {}
        self._videos = QWidget(self)
        self._grid = QGridLayout(self._videos)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setSpacing(scale.px(6))
        self._waiting = VideoView("")
        self._grid.addWidget(self._waiting, 0, 0)

        self._bar = card("overlay")
        self._bar.setParent(self)
        bar = QHBoxLayout(self._bar)
        bar.setContentsMargins(scale.px(24), scale.px(12), scale.px(24), scale.px(12))
        self._names = label("", "title")  # three visitors' names may need two lines on a narrow screen
        bar.addWidget(self._names, 1)
        self._quality = label("", "chip", wrap=False)
        bar.addWidget(self._quality)
        bar.addSpacing(scale.px(8))
        self._call_state = label("", "chip", wrap=False)
        bar.addWidget(self._call_state)
        bar.addSpacing(scale.px(16))
        self._time_left = label("", "countdown", wrap=False)
        bar.addWidget(self._time_left)
        for never_squeezed in (self._quality, self._call_state, self._time_left):
            never_squeezed.setSizePolicy(QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Preferred)

        # The earpiece's volume, at the bottom where the hand holding nothing can reach it.
        self._volume = card("overlay")
        self._volume.setParent(self)
        volume = QHBoxLayout(self._volume)
        volume.setContentsMargins(scale.px(12), scale.px(8), scale.px(12), scale.px(8))
        volume.setSpacing(scale.px(12))
        volume.addWidget(button(MINUS, "volume-down", lambda: post(VolumeChanged(-1))))
        self._volume_level = label("", "subtitle", wrap=False, align=Qt.AlignmentFlag.AlignCenter)
        volume.addWidget(self._volume_level)
        volume.addWidget(button("+", "volume-up", lambda: post(VolumeChanged(1))))

        self._banner = label("", "banner", align=Qt.AlignmentFlag.AlignCenter)
        self._banner.setParent(self)
        self.self_view = VideoView(tr("Camera"))
        self.self_view.setParent(self)
        self._end = button(tr("End visit"), "end-visit", self._ask_to_end, role="danger")
        self._end.setParent(self)

        self._confirm = card()
        self._confirm.setParent(self)
        confirm = QVBoxLayout(self._confirm)
        confirm.setContentsMargins(scale.px(36), scale.px(32), scale.px(36), scale.px(32))
        confirm.setSpacing(scale.px(20))
        confirm.addWidget(label(tr("End the visit now?"), "title", align=Qt.AlignmentFlag.AlignCenter))
        confirm.addWidget(
            label(tr("Your visitors will be disconnected."), "subtitle", align=Qt.AlignmentFlag.AlignCenter)
        )
        choices = QHBoxLayout()
        choices.setSpacing(scale.px(16))
        choices.addWidget(button(tr("Keep talking"), "keep-talking", self._confirm.hide, role="primary"))
        choices.addWidget(button(tr("End visit"), "confirm-end", lambda: post(EndTapped()), role="danger"))
        confirm.addLayout(choices)
        self._confirm.hide()

        self._message = card()
        self._message.setParent(self)
        message = QVBoxLayout(self._message)
        message.setContentsMargins(scale.px(32), scale.px(24), scale.px(32), scale.px(24))
        message.setSpacing(scale.px(14))
        message.addWidget(label(tr("Message from staff"), "subtitle"))
        self._message_text = label("", "title")
        message.addWidget(self._message_text)
        message.addWidget(button(tr("OK"), "dismiss-message", lambda: post(MessageDismissed()), role="primary"))
        self._message.hide()

        # While the call is rebuilt, the person sees why the picture stopped and that their time still runs.
        self._reconnecting = card()
        self._reconnecting.setParent(self)
        reconnecting = QVBoxLayout(self._reconnecting)
        reconnecting.setContentsMargins(scale.px(36), scale.px(28), scale.px(36), scale.px(28))
        reconnecting.setSpacing(scale.px(12))
        reconnecting.addWidget(
            label(tr("The connection dropped. Reconnecting…"), "title", align=Qt.AlignmentFlag.AlignCenter)
        )
        self._still_counting = label("", "subtitle", align=Qt.AlignmentFlag.AlignCenter)
        reconnecting.addWidget(self._still_counting)
        self._reconnecting.hide()

        # Stacked once: the visitors' views come and go inside `_videos`, below all of these. Raising them at
        # every tick sent a re-stacking event to each, four times a second.
        overlays = (self._bar, self._banner, self.self_view, self._end, self._volume, self._reconnecting, self._message)
        for widget in (*overlays, self._confirm):
            widget.raise_()

    # -- video ------------------------------------------------------------------------------------

    def show_remote_frame(self, feed_id: int, display: str, image: QImage) -> VideoView:
        view = self._feeds.get(feed_id)
        if view is None:
            view = VideoView(display)
            view.setObjectName(f"feed-{feed_id}")
            self._feeds[feed_id] = view
            self._layout_feeds()
        view.show_frame(image)
        return view

    def remove_feed(self, feed_id: int) -> None:
        view = self._feeds.pop(feed_id, None)
        if view is not None:
            view.deleteLater()
            self._layout_feeds()

    def remote_views(self) -> list[VideoView]:
        return list(self._feeds.values())

    def _layout_feeds(self) -> None:
        for view in [*self._feeds.values(), self._waiting]:
            self._grid.removeWidget(view)
        self._waiting.setVisible(not self._feeds)
        if not self._feeds:
            self._grid.addWidget(self._waiting, 0, 0)
        for index, view in enumerate(self._feeds.values()):
            self._grid.addWidget(view, *_grid_position(index, len(self._feeds), self.scale.landscape))

    def show_self_view(self, image: QImage) -> None:
        self.self_view.show_frame(image)

    # -- state ------------------------------------------------------------------------------------

    def entered(self) -> None:
        self._confirm.hide()
        self._quality.hide()
        for feed_id in list(self._feeds):
            self.remove_feed(feed_id)
        self.self_view.clear()

    def _ask_to_end(self) -> None:
        self._confirm.show()
        self._confirm.raise_()

    def render(self, state: TerminalState) -> None:
        self._state = state
        live = state.live
        if live is None:
            return
        self._names.setText(names(live.visitors))
        steps = len(VOLUME_GAINS)
        dots = "●" * (state.volume + 1) + "○" * (steps - state.volume - 1)
        self._volume_level.setText(tr("Volume {level}").format(level=dots))
        self._message_text.setText(state.staff_message)
        self._message.setVisible(bool(state.staff_message))
        waiting = tr("Waiting for {names} to join…").format(names=names(live.visitors))
        self._waiting.clear("" if state.call is CallStatus.RECONNECTING else waiting)  # the overlay says why
        chips = {
            CallStatus.CONNECTING: (tr("Connecting…"), "chip"),
            CallStatus.CONNECTED: (tr("Connected"), "chip-ready"),
            CallStatus.RECONNECTING: (tr("Reconnecting…"), "banner"),
        }
        text, role = chips.get(state.call or CallStatus.CONNECTING, chips[CallStatus.CONNECTING])
        self._call_state.setText(text)
        set_role(self._call_state, role)
        self._reconnecting.setVisible(state.call is CallStatus.RECONNECTING)
        self.tick()

    def _show_quality(self, state: TerminalState) -> None:
        """The core's word for the last seconds (`kiosk.call_quality`: the worst visitor's pictures per second, the
        packets lost either way, the round trip), while the call is connected."""
        if state.call is not CallStatus.CONNECTED or state.quality is None:
            self._quality.hide()
            return
        text, role = {
            Quality.GOOD: (tr("Video: good"), "chip-ready"),
            Quality.WEAK: (tr("Video: weak"), "chip"),
            Quality.POOR: (tr("Video: poor"), "banner"),
        }[state.quality]
        self._quality.setText(text)
        set_role(self._quality, role)
        self._quality.show()

    def tick(self) -> None:
        state = self._state
        if state is None or state.live is None:
            return
        now = time.monotonic()
        self._show_quality(state)
        left = duration(max(0.0, state.live.ends_at - now))
        self._time_left.setText(tr("{time} left").format(time=left))
        self._still_counting.setText(tr("Your visit time keeps counting: {time} left.").format(time=left))
        if state.hangup_deadline is not None:
            seconds = max(0, math.ceil(state.hangup_deadline - now))
            self._banner.setText(tr("Lift the handset to continue. The visit ends in %n seconds.", "", seconds))
        elif state.warning_s is not None:
            minutes = max(1, math.ceil((state.live.ends_at - now) / 60))
            self._banner.setText(tr("%n minutes left in this visit", "", minutes))
        self._banner.setVisible(state.hangup_deadline is not None or state.warning_s is not None)
        self._place()

    # -- geometry ---------------------------------------------------------------------------------

    def resizeEvent(self, event: QResizeEvent) -> None:
        self._place()

    def _place(self) -> None:
        s, w, h = self.scale, self.width(), self.height()
        margin = s.px(20)
        self._videos.setGeometry(0, 0, w, h)
        bar_w = w - 2 * margin
        self._bar.setGeometry(margin, margin, bar_w, max(s.px(84), self._bar.layout().totalHeightForWidth(bar_w)))
        self._banner.adjustSize()
        banner_w = min(w - 2 * margin, max(self._banner.sizeHint().width(), s.px(520)))
        self._banner.setGeometry((w - banner_w) // 2, margin + s.px(100), banner_w, self._banner.sizeHint().height())
        view_w = s.px(260)
        self.self_view.setGeometry(margin, h - margin - view_w * 3 // 4, view_w, view_w * 3 // 4)
        end_w = max(s.px(240), self._end.sizeHint().width())  # as wide as its words, in any language
        end_h = max(s.target, self._end.sizeHint().height())
        self._end.setGeometry(w - margin - end_w, h - margin - end_h, end_w, end_h)
        volume = self._volume.sizeHint()
        self._volume.setGeometry(
            (w - volume.width()) // 2, h - margin - volume.height(), volume.width(), volume.height()
        )
        message_w = min(w - 4 * margin, s.px(760))
        message_h = self._message.layout().totalHeightForWidth(message_w)
        self._message.setGeometry((w - message_w) // 2, s.px(200), message_w, message_h)
        confirm_w = min(w - 4 * margin, s.px(720))
        confirm_h = max(s.px(320), self._confirm.layout().totalHeightForWidth(confirm_w))
        self._confirm.setGeometry((w - confirm_w) // 2, (h - confirm_h) // 2, confirm_w, confirm_h)
        overlay_h = self._reconnecting.layout().totalHeightForWidth(confirm_w)
        self._reconnecting.setGeometry((w - confirm_w) // 2, (h - overlay_h) // 2, confirm_w, overlay_h)

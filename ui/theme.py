"""One visual system for every screen: colours, type scale, spacing and the application style sheet.

Sizes scale with the screen's height so 1280x800 and 1920x1080 look the same from 60 cm.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QFont, QFontDatabase

NAVY = "#0d1a2b"
SURFACE = "#16273e"
RAISED = "#1f3553"
LINE = "#2c4466"
TEXT = "#f3f6fa"
MUTED = "#aebdd0"
ACCENT = "#33b5a5"
ACCENT_PRESSED = "#26897d"
WARNING = "#f2b84b"
DANGER = "#e0656a"
DANGER_PRESSED = "#b94c51"
ON_ACCENT = "#06201c"


@dataclass(frozen=True)
class Scale:
    """Pixel sizes derived from the screen height (800 px is the reference)."""

    height: int

    def px(self, at_800: float) -> int:
        return max(1, round(at_800 * self.height / 800))


def family() -> str:
    return "Inter" if "Inter" in QFontDatabase.families() else "DejaVu Sans"


def font(scale: Scale, size_at_800: float, weight: QFont.Weight = QFont.Weight.Normal) -> QFont:
    f = QFont(family())
    f.setPixelSize(scale.px(size_at_800))
    f.setWeight(weight)
    return f


def style_sheet(scale: Scale) -> str:
    p = scale.px
    return f"""
* {{ font-family: "{family()}"; color: {TEXT}; }}
QWidget#screen {{ background: {NAVY}; }}
QLabel {{ background: transparent; font-size: {p(22)}px; }}
QLabel[role="title"] {{ font-size: {p(40)}px; font-weight: 600; }}
QLabel[role="subtitle"] {{ font-size: {p(24)}px; color: {MUTED}; }}
QLabel[role="clock"] {{ font-size: {p(150)}px; font-weight: 300; }}
QLabel[role="countdown"] {{ font-size: {p(40)}px; font-weight: 600; }}
QLabel[role="muted"] {{ font-size: {p(20)}px; color: {MUTED}; }}
QLabel[role="problem"] {{
  background: #3a2326; border: {p(2)}px solid {DANGER}; border-radius: {p(12)}px;
  padding: {p(14)}px {p(18)}px; font-size: {p(22)}px;
}}
QLabel[role="banner"] {{
  background: {WARNING}; color: #2a1d00; border-radius: {p(12)}px; padding: {p(12)}px {p(20)}px;
  font-size: {p(26)}px; font-weight: 600;
}}
QLabel[role="chip"] {{
  background: {RAISED}; border-radius: {p(16)}px; padding: {p(6)}px {p(16)}px; font-size: {p(20)}px;
}}
QLabel[role="chip-ready"] {{
  background: {ACCENT}; color: {ON_ACCENT}; border-radius: {p(16)}px; padding: {p(6)}px {p(16)}px;
  font-size: {p(20)}px; font-weight: 600;
}}
QFrame[role="card"] {{ background: {SURFACE}; border: 1px solid {LINE}; border-radius: {p(20)}px; }}
QFrame[role="overlay"] {{ background: rgba(13, 26, 43, 215); border-radius: {p(16)}px; }}
QPushButton {{
  background: {RAISED}; border: 1px solid {LINE}; border-radius: {p(16)}px;
  min-height: {p(84)}px; padding: 0 {p(28)}px; font-size: {p(26)}px; font-weight: 600;
}}
QPushButton:pressed {{ background: {LINE}; }}
QPushButton:disabled {{ color: #6f819a; background: {SURFACE}; }}
QPushButton[role="primary"] {{ background: {ACCENT}; color: {ON_ACCENT}; border: none; }}
QPushButton[role="primary"]:pressed {{ background: {ACCENT_PRESSED}; }}
QPushButton[role="primary"]:disabled {{ background: #2a4a52; color: #7f9aa0; }}
QPushButton[role="danger"] {{ background: {DANGER}; color: #2b0608; border: none; }}
QPushButton[role="danger"]:pressed {{ background: {DANGER_PRESSED}; }}
QPushButton[role="key"] {{ font-size: {p(36)}px; min-height: {p(86)}px; min-width: {p(120)}px; }}
QPushButton[role="field"] {{
  text-align: left; background: {NAVY}; border: {p(3)}px solid {LINE}; font-size: {p(34)}px;
  font-weight: 500; letter-spacing: {p(4)}px;
}}
QPushButton[role="field"][active="true"] {{ border-color: {ACCENT}; }}
"""

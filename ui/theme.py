"""One visual system for every screen: colours, type scale, spacing and the application style sheet.

Sizes scale with the screen's height so 1280x800 and 1920x1080 look the same from 60 cm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PySide6.QtGui import QFont, QFontDatabase

NAVY = "#0d1a2b"
SURFACE = "#16273e"
RAISED = "#1f3553"
LINE = "#2c4466"
TEXT = "#f3f6fa"
MUTED = "#aebdd0"
ACCENT = "#33b5a5"
ACCENT_PRESSED = "#2a9d8f"  # still AA with its text: a pressed button stays readable
WARNING = "#f2b84b"
DANGER = "#e0656a"
DANGER_PRESSED = "#c95a5f"
ON_ACCENT = "#06201c"
ON_DANGER = "#2b0608"
ON_WARNING = "#2a1d00"
PROBLEM = "#3a2326"  # the background of a problem sentence


TOUCH_TARGET_MM = 15  # the smallest thing a person must tap, on any screen
LARGE_TEXT = 1.3  # how much larger the large-text mode makes every word


@dataclass(frozen=True)
class Scale:
    """Pixel sizes for one screen: spacing follows its size (800 px high at 1280 wide is the reference),
    touch targets its pixel density, and words the large-text mode as well."""

    height: int
    dpi: float = 141.0  # a 15.6-inch 1920x1080 panel
    text: float = 1.0
    width: int = 1280
    height_px: int = 800  # the screen's real height (`height` is the layout's reference)

    @classmethod
    def for_screen(cls, width: int, height: int, dpi: float, large_text: bool = False) -> Scale:
        # The shorter way round decides, so a portrait screen is laid out as narrow as it is.
        return cls(round(min(height, width * 800 / 1280)), dpi, LARGE_TEXT if large_text else 1.0, width, height)

    @property
    def landscape(self) -> bool:
        return self.width >= self.height_px

    def px(self, at_800: float) -> int:
        return max(1, round(at_800 * self.height / 800))

    def font(self, at_800: float) -> int:
        return self.px(at_800 * self.text)

    def mm(self, millimetres: float) -> int:
        return math.ceil(millimetres / 25.4 * self.dpi)

    @property
    def target(self) -> int:
        """The height and width of the smallest button: 84 px at the reference, and never under 15 mm."""
        return max(self.px(84), self.mm(TOUCH_TARGET_MM))


def family() -> str:
    return "Inter" if "Inter" in QFontDatabase.families() else "DejaVu Sans"


def font(scale: Scale, size_at_800: float, weight: QFont.Weight = QFont.Weight.Normal) -> QFont:
    f = QFont(family())
    f.setPixelSize(scale.font(size_at_800))
    f.setWeight(weight)
    return f


def style_sheet(scale: Scale) -> str:
    p, f, target = scale.px, scale.font, scale.target
    return f"""
* {{ font-family: "{family()}"; color: {TEXT}; }}
QWidget#screen {{ background: {NAVY}; }}
QLabel {{ background: transparent; font-size: {f(22)}px; }}
QLabel[role="title"] {{ font-size: {f(40)}px; font-weight: 600; }}
QLabel[role="subtitle"] {{ font-size: {f(24)}px; color: {MUTED}; }}
QLabel[role="clock"] {{ font-size: {p(112 / scale.text)}px; font-weight: 300; }}
QLabel[role="countdown"] {{ font-size: {f(40)}px; font-weight: 600; }}
QLabel[role="muted"] {{ font-size: {f(20)}px; color: {MUTED}; }}
QLabel[role="notice-title"] {{ font-size: {f(22)}px; font-weight: 600; }}
QLabel[role="callout"] {{
  background: {RAISED}; border-left: {p(6)}px solid {ACCENT}; border-radius: {p(10)}px;
  padding: {p(12)}px {p(18)}px; font-size: {f(24)}px; font-weight: 600;
}}
QLabel[role="problem"] {{
  background: {PROBLEM}; border: {p(2)}px solid {DANGER}; border-radius: {p(12)}px;
  padding: {p(14)}px {p(18)}px; font-size: {f(22)}px;
}}
QLabel[role="banner"] {{
  background: {WARNING}; color: {ON_WARNING}; border-radius: {p(12)}px; padding: {p(12)}px {p(20)}px;
  font-size: {f(26)}px; font-weight: 600;
}}
QLabel[role="chip"] {{
  background: {RAISED}; border-radius: {p(16)}px; padding: {p(6)}px {p(16)}px; font-size: {f(20)}px;
}}
QLabel[role="chip-ready"] {{
  background: {ACCENT}; color: {ON_ACCENT}; border-radius: {p(16)}px; padding: {p(6)}px {p(16)}px;
  font-size: {f(20)}px; font-weight: 600;
}}
QFrame[role="card"] {{ background: {SURFACE}; border: 1px solid {LINE}; border-radius: {p(20)}px; }}
QFrame[role="overlay"] {{ background: rgba(13, 26, 43, 215); border-radius: {p(16)}px; }}
QPushButton {{
  background: {RAISED}; border: 1px solid {LINE}; border-radius: {p(16)}px;
  min-height: {target}px; min-width: {target}px; padding: 0 {p(28)}px; font-size: {f(26)}px; font-weight: 600;
}}
QPushButton:pressed {{ background: {LINE}; }}
QPushButton:disabled {{ color: #6f819a; background: {SURFACE}; }}
QPushButton[role="primary"] {{ background: {ACCENT}; color: {ON_ACCENT}; border: none; }}
QPushButton[role="primary"]:pressed {{ background: {ACCENT_PRESSED}; }}
QPushButton[role="primary"]:disabled {{ background: #2a4a52; color: #7f9aa0; }}
QPushButton[role="danger"] {{ background: {DANGER}; color: {ON_DANGER}; border: none; }}
QPushButton[role="danger"]:pressed {{ background: {DANGER_PRESSED}; }}
QPushButton[role="key-word"] {{
  font-size: {f(26)}px; min-height: {max(p(86), target)}px; min-width: {max(p(120), target)}px;
}}
QPushButton[role="key"] {{
  font-size: {f(36)}px; min-height: {max(p(86), target)}px; min-width: {max(p(120), target)}px;
}}
QPushButton[role="field"] {{
  text-align: left; background: {NAVY}; border: {p(3)}px solid {LINE}; font-size: {f(34)}px;
  font-weight: 500; letter-spacing: {p(4)}px;
}}
QPushButton[role="field"][active="true"] {{ border-color: {ACCENT}; }}
"""

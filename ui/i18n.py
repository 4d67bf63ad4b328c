"""The screens' language: Qt's translation system, with one translation file per language.

The sentences live in ui/translations/kiosk_<language>.ts (edited with Qt Linguist or by hand, kept in
step with the code by `pyside6-lupdate`) and are built to .qm files by `python -m ui.build_translations`,
which the set-up runs. English is the source language: its file holds only the plural forms ("1 minute",
"2 minutes"), as Qt expects.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QLocale, QTranslator

log = logging.getLogger(__name__)

TRANSLATIONS = Path(__file__).parent / "translations"
NATIVE_NAMES = {"en": "English", "es": "Español"}  # each language named in itself, so anyone finds theirs


def translation_file(language: str) -> Path:
    return TRANSLATIONS / f"kiosk_{language}.qm"


class Language:
    """Switches the application's language; widgets then rebuild their texts. Translators belong to the
    whole application, so there is one of these: `LANGUAGE`."""

    def __init__(self) -> None:
        self.current = ""
        self._translator: QTranslator | None = None

    def use(self, language: str) -> None:
        if language == self.current:
            return
        app = QCoreApplication.instance()
        if self._translator is not None:
            app.removeTranslator(self._translator)
            self._translator = None
        translator = QTranslator()
        if translator.load(str(translation_file(language))):
            app.installTranslator(translator)
            self._translator = translator
        else:
            # A missing file is a broken build, not the person's fault: the screens stay readable in English.
            log.error("no translation for %s in %s: run 'python -m ui.build_translations'", language, TRANSLATIONS)
        QLocale.setDefault(QLocale(language))
        self.current = language


LANGUAGE = Language()

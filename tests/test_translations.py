"""The screens' translations: complete, current with the code, faithful to each sentence's placeholders,
built, and with plural forms that read right in both languages."""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication

from kiosk.protocol import VisitStatus, VisitSummary
from ui.build_translations import update_command
from ui.i18n import LANGUAGE, TRANSLATIONS, translation_file
from ui.texts import clock_time, status_text, tr

PLACEHOLDER = re.compile(r"\{[a-z_]+\}|%n")


def messages(ts_file: Path) -> list[ET.Element]:
    return list(ET.parse(ts_file).iter("message"))


def translations(message: ET.Element) -> list[str]:
    translation = message.find("translation")
    assert translation is not None
    forms = [form.text or "" for form in translation.iter("numerusform")]
    return forms if message.get("numerus") == "yes" else [translation.text or ""]


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_translation_files_hold_every_sentence_in_the_code(language, tmp_path):
    current = tmp_path / f"kiosk_{language}.ts"
    shutil.copy(TRANSLATIONS / current.name, current)
    subprocess.run(update_command(current), capture_output=True, check=True)
    # lupdate would change nothing: no sentence is missing, none is left over.
    assert current.read_text() == (TRANSLATIONS / current.name).read_text(), (
        "the code's sentences changed: run 'python -m ui.build_translations --update' and translate the new ones"
    )


def test_every_spanish_sentence_is_translated_with_the_same_placeholders():
    found = messages(TRANSLATIONS / "kiosk_es.ts")
    assert len(found) > 70
    for message in found:
        source = message.findtext("source") or ""
        assert message.find("translation").get("type") is None, f"unfinished: {source!r}"  # type: ignore[union-attr]
        forms = translations(message)
        assert len(forms) == (2 if message.get("numerus") == "yes" else 1), source
        for text in forms:
            assert text.strip(), f"empty translation of {source!r}"
            assert sorted(PLACEHOLDER.findall(text)) == sorted(PLACEHOLDER.findall(source)), (source, text)


def test_english_gives_its_plurals_their_singular():
    for message in messages(TRANSLATIONS / "kiosk_en.ts"):
        assert message.get("numerus") == "yes"
        singular, plural = translations(message)
        assert plural == message.findtext("source") and singular != plural


@pytest.mark.parametrize(
    ("language", "one", "three"),
    [
        ("en", "1 minute left in this visit", "3 minutes left in this visit"),
        ("es", "Queda 1 minuto de visita", "Quedan 3 minutos de visita"),
    ],
)
def test_the_built_files_load_and_read_right(qapp, language, one, three):
    assert translation_file(language).is_file(), "the set-up builds them: python -m ui.build_translations"
    switch = LANGUAGE
    try:
        switch.use(language)
        assert tr("%n minutes left in this visit", "", 1) == one
        assert tr("%n minutes left in this visit", "", 3) == three
        assert (tr("Start") == "Empezar") is (language == "es")
    finally:
        switch.use("en")
    assert QCoreApplication.translate("", "Start") == "Start"


@pytest.mark.parametrize(
    ("language", "soon", "one"),
    [("en", "Opens in 12 minutes", "Opens in 1 minute"), ("es", "Se abre en 12 minutos", "Se abre en 1 minuto")],
)
def test_a_visit_opening_within_the_hour_counts_down_and_a_later_one_gives_its_time(qapp, language, soon, one):
    now = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)

    def opening_in(minutes: float) -> VisitSummary:
        opens = now + timedelta(minutes=minutes)
        return VisitSummary(
            visit_id=1,
            visitors=["Rosa"],
            starts_at=opens,
            ends_at=opens + timedelta(minutes=30),
            status=VisitStatus.SCHEDULED,
            joinable_from=opens,
            recorded=True,
        )

    LANGUAGE.use(language)
    try:
        assert status_text(opening_in(11.5), now) == soon
        assert status_text(opening_in(0.2), now) == one
        assert status_text(opening_in(90), now) == tr("Opens at {time}").format(
            time=clock_time(now + timedelta(minutes=90))
        )
    finally:
        LANGUAGE.use("en")

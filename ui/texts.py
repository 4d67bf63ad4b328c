"""Every sentence the terminal shows about a problem, an end reason or a time, in one place.

Sentences go through Qt's translation system so the Spanish edition needs no code change.
"""

from __future__ import annotations

import math
from datetime import datetime

from PySide6.QtCore import QCoreApplication, QDate, QLocale, QTime

from kiosk.protocol import EndReason, VisitCallout, VisitStatus, VisitSummary
from kiosk.visit_machine import Problem


def tr(text: str, disambiguation: str = "", n: int = -1) -> str:
    """The sentence in the screens' language. With `n`, the plural form for n (%n in the text).

    The context is empty because that is where pyside6-lupdate files a bare tr() call.
    """
    return QCoreApplication.translate("", text, disambiguation or None, n)


def problem_sentence(problem: Problem, visit: VisitSummary | None = None, until: datetime | None = None) -> str:
    if problem is Problem.LOCKED and until is not None:
        return tr("Too many wrong PINs. For your safety, sign-in is paused until {time}.").format(
            time=clock_time(until)
        )
    if problem is Problem.WRONG_PLACE and visit is not None and visit.place:
        return tr("This visit takes place at {place}. Please go there, or ask staff.").format(place=visit.place)
    if problem is Problem.NOT_READY and visit is not None:
        return tr("This visit has not started yet. You can join it from {time}.").format(
            time=clock_time(visit.joinable_from)
        )
    sentences = {
        Problem.ID_FORMAT: tr("Enter your ID number, using the keypad."),
        Problem.PIN_FORMAT: tr("Your PIN has 4 to 8 digits. Please enter it again."),
        Problem.BAD_CREDENTIALS: tr("That ID and PIN do not match. Please check them and try again."),
        Problem.CENTRAL_UNREACHABLE: tr(
            "The visit service cannot be reached right now. Please try again in a minute. "
            "If this keeps happening, tell staff."
        ),
        Problem.TERMINAL_NOT_AUTHORISED: tr("This terminal is not set up for visits. Please tell staff."),
        Problem.SESSION_EXPIRED: tr("You were signed out to keep your account safe. Please sign in again."),
        Problem.NOT_READY: tr("This visit has not started yet."),
        Problem.VISIT_OVER: tr("This visit is no longer available."),
        Problem.WRONG_PLACE: tr("This visit takes place at another terminal. Please ask staff where."),
        Problem.LOCKED: tr("Too many wrong PINs. For your safety, sign-in is paused for a while."),
        Problem.TECHNICIAN_PIN: tr("That is not the technician PIN."),
        Problem.MEDIA_UNAVAILABLE: tr(
            "The video service is not answering. Hang up and lift the handset to try again, or tell staff."
        ),
    }
    return sentences[problem]


def end_sentence(reason: EndReason, message: str) -> str:
    if reason is EndReason.ENDED_BY_STAFF:
        return tr("Staff ended the visit: {reason}").format(reason=message) if message else tr("Staff ended the visit.")
    sentences = {
        EndReason.TIME_UP: tr("The scheduled time is over."),
        EndReason.ENDED_BY_RESIDENT: tr("You ended the visit."),
        EndReason.HUNG_UP: tr("The handset was hung up."),
        EndReason.CONNECTION_FAILED: tr("The connection could not be restored."),
    }
    return sentences[reason]


SOON_MINUTES = 60  # a visit opening within the hour counts down; later ones give the time


def status_text(visit: VisitSummary, now: datetime) -> str:
    minutes = math.ceil((visit.joinable_from - now).total_seconds() / 60)
    opens = (
        tr("Opens in %n minutes", "", max(1, minutes))
        if minutes <= SOON_MINUTES
        else tr("Opens at {time}").format(time=clock_time(visit.joinable_from))
    )
    texts = {
        VisitStatus.READY: tr("Ready now"),
        VisitStatus.LIVE: tr("In progress"),
        VisitStatus.SCHEDULED: opens,
        VisitStatus.ENDED: tr("Ended"),
        VisitStatus.ENDED_BY_STAFF: tr("Ended by staff"),
        VisitStatus.CANCELLED: tr("Cancelled"),
        VisitStatus.NO_SHOW: tr("Missed"),
    }
    return texts[visit.status]


def clock_time(at: datetime) -> str:
    """A time of day as people of the screens' language write it (14:05, or 2:05 PM)."""
    local = at.astimezone()
    return QLocale().toString(QTime(local.hour, local.minute), QLocale.FormatType.ShortFormat)


def long_date(at: datetime) -> str:
    return QLocale().toString(QDate(at.year, at.month, at.day), QLocale.FormatType.LongFormat)


def duration(seconds: float) -> str:
    minutes, secs = divmod(math.ceil(seconds), 60)
    return f"{minutes}:{secs:02d}"


def names(visitors: list[str] | tuple[str, ...]) -> str:
    if len(visitors) <= 1:
        return "".join(visitors)
    return tr("{first} and {last}").format(first=", ".join(visitors[:-1]), last=visitors[-1])


def callout_sentence(callout: VisitCallout) -> str:
    """ "A visit is ready for J. R.": only what central sent, which is what the facility allows."""
    if callout.initials:
        return tr("A visit is ready for {initials}").format(initials=callout.initials)
    if callout.booking_number_tail:
        return tr("A visit is ready for the ID ending in {digits}").format(digits=callout.booking_number_tail)
    return ""


def out_of_service_sentence(missing: tuple[str, ...]) -> str:
    """Which device is not working, as a whole sentence (no sentence is assembled from parts)."""
    if len(missing) != 1:
        return tr("Some of the terminal's equipment is not working.")
    sentences = {
        "camera": tr("The camera is not working."),
        "handset": tr("The handset is not working."),
        "touchscreen": tr("The touchscreen is not working."),
        "software": tr("The terminal's software has stopped working."),
    }
    return sentences.get(missing[0], tr("Some of the terminal's equipment is not working."))

"""Unit tests for the visit state machine: every screen, timeout and ending, driven with explicit times.

No network, no Qt: the machine is fed events at chosen monotonic times and its snapshot and commands checked.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kiosk.call_status import CallStatus
from kiosk.config import TimeoutsSection
from kiosk.protocol import (
    CalloutPrivacy,
    EndReason,
    ErrorCode,
    IdleInfo,
    Notice,
    ResidentSession,
    RoomGrant,
    VisitStatus,
    VisitSummary,
)
from kiosk.visit_machine import (
    TECHNICIAN_IDLE_S,
    TECHNICIAN_LOCKOUT_S,
    TECHNICIAN_TRIES,
    VOLUME_GAINS,
    BackTapped,
    CallStatusChanged,
    CheckTechnicianPin,
    CredentialsEntered,
    DevicesChanged,
    DoneTapped,
    EndTapped,
    HookChanged,
    Identified,
    Identify,
    IdleInfoArrived,
    LanguageChosen,
    Logout,
    NoticeAccepted,
    OpenVisit,
    Problem,
    ReportEnd,
    RequestFailed,
    ResumeCall,
    ResumeVisit,
    RoomClosed,
    Screen,
    StartCall,
    StartTapped,
    StopCall,
    TechnicianGesture,
    TechnicianLeft,
    TechnicianPinChecked,
    TechnicianPinEntered,
    TerminalState,
    Tick,
    Touched,
    VisitChosen,
    VisitEndedByCentral,
    VisitMachine,
    VisitOpened,
    VolumeChanged,
)

T0 = 1000.0
TOKEN = "tok-SECRET-7f3c9a"
RESIDENT_ID = "20240117"
PIN = "482913"
ROOM_PIN = "roompin-d81e"
NAME = "Jordan Reyes"

READY_ID = 41
SCHEDULED_ID = 42
OVER_ID = 43
LIVE_ID = 44
OTHER_ID = 99

# -- builders -----------------------------------------------------------------------------------------

_START = datetime(2025, 3, 1, 14, 0, tzinfo=UTC)


def summary(visit_id: int, status: VisitStatus) -> VisitSummary:
    return VisitSummary(
        visit_id=visit_id,
        visitors=["Maria"],
        starts_at=_START,
        ends_at=_START + timedelta(minutes=30),
        status=status,
        joinable_from=_START - timedelta(minutes=5),
        recorded=True,
    )


VISITS = (
    summary(READY_ID, VisitStatus.READY),
    summary(SCHEDULED_ID, VisitStatus.SCHEDULED),
    summary(OVER_ID, VisitStatus.ENDED),
    summary(LIVE_ID, VisitStatus.LIVE),
)


def session() -> ResidentSession:
    return ResidentSession(session_token=TOKEN, display_name=NAME, visits=list(VISITS))


def grant(seconds_left: float = 400.0, warnings_s: tuple[int, ...] = (300, 60), visit_id: int = READY_ID) -> RoomGrant:
    return RoomGrant(
        visit_id=visit_id,
        janus_url="https://janus.test/janus",
        room=1234,
        pin=ROOM_PIN,
        display=NAME,
        ends_at=_START + timedelta(seconds=seconds_left),
        seconds_left=seconds_left,
        warnings_s=list(warnings_s),
        recorded=True,
        visitors=["Maria", "Leo"],
    )


def machine(**timeouts: float) -> VisitMachine:
    return VisitMachine(TimeoutsSection(**timeouts))


# -- getting to a screen (every step at `now`) ----------------------------------------------------------


def to_identify(m: VisitMachine, now: float = T0) -> None:
    assert m.handle(StartTapped(), now) == []
    assert m.snapshot().screen is Screen.IDENTIFY


def to_visit_list(m: VisitMachine, now: float = T0) -> None:
    to_identify(m, now)
    assert m.handle(CredentialsEntered(RESIDENT_ID, PIN), now) == [Identify(RESIDENT_ID, PIN)]
    assert m.handle(Identified(session()), now) == []
    assert m.snapshot().screen is Screen.VISIT_LIST


def to_pre_visit(m: VisitMachine, now: float = T0) -> None:
    to_visit_list(m, now)
    assert m.handle(VisitChosen(READY_ID), now) == []
    assert m.snapshot().screen is Screen.PRE_VISIT


def to_opening(m: VisitMachine, now: float = T0) -> None:
    """Before the visit, notice accepted and handset lifted: OpenVisit is in flight."""
    to_pre_visit(m, now)
    m.handle(NoticeAccepted(), now)
    assert m.handle(HookChanged(lifted=True), now) == [OpenVisit(TOKEN, READY_ID)]
    assert m.snapshot().busy


def to_in_visit(
    m: VisitMachine, now: float = T0, seconds_left: float = 400.0, warnings_s: tuple[int, ...] = (300, 60)
) -> None:
    to_opening(m, now)
    m.handle(VisitOpened(grant(seconds_left, warnings_s)), now)
    assert m.snapshot().screen is Screen.IN_VISIT


def to_ended(m: VisitMachine, now: float = T0) -> float:
    """A 400 s visit from `now`, ended by the resident 100 s in; returns the time it ended."""
    to_in_visit(m, now)
    m.handle(EndTapped(), now + 100)
    assert m.snapshot().screen is Screen.ENDED
    return now + 100


def assert_wiped(m: VisitMachine) -> None:
    """Back at the start with nothing left of the person who was here (the handset is hardware state)."""
    s = m.snapshot()
    assert s == TerminalState(handset_lifted=s.handset_lifted)
    assert s.resident_name == ""
    assert s.visits == ()
    assert m.next_deadline() is None


def assert_no_secrets(m: VisitMachine) -> None:
    text = repr(m.snapshot())
    assert TOKEN not in text
    assert PIN not in text
    assert ROOM_PIN not in text


# -- idle and identify ---------------------------------------------------------------------------------


def test_a_new_machine_is_idle_and_needs_no_tick():
    m = machine()
    assert m.snapshot() == TerminalState()
    assert m.next_deadline() is None


def test_idle_ignores_everything_but_start():
    m = machine()
    for event in (Touched(), CredentialsEntered(RESIDENT_ID, PIN), BackTapped(), Tick(), DoneTapped()):
        assert m.handle(event, T0) == []
        assert m.snapshot().screen is Screen.IDLE
    assert m.handle(StartTapped(), T0) == []
    assert m.snapshot().screen is Screen.IDENTIFY


def test_credentials_send_identify_and_show_busy():
    m = machine()
    to_identify(m)
    commands = m.handle(CredentialsEntered(RESIDENT_ID, PIN), T0 + 5)
    assert commands == [Identify(RESIDENT_ID, PIN)]
    assert commands[0].pin == PIN
    s = m.snapshot()
    assert s.screen is Screen.IDENTIFY
    assert s.busy
    assert s.problem is None


def test_identified_shows_the_visit_list_with_name_and_visits():
    m = machine()
    to_identify(m)
    m.handle(CredentialsEntered(RESIDENT_ID, PIN), T0 + 5)
    assert m.handle(Identified(session()), T0 + 6) == []
    s = m.snapshot()
    assert s.screen is Screen.VISIT_LIST
    assert not s.busy
    assert s.resident_name == NAME
    assert s.visits == VISITS


def test_no_token_or_pin_in_any_snapshot_through_a_whole_visit():
    m = machine()
    to_identify(m)
    m.handle(CredentialsEntered(RESIDENT_ID, PIN), T0)
    assert_no_secrets(m)
    m.handle(Identified(session()), T0)
    assert_no_secrets(m)
    m.handle(VisitChosen(READY_ID), T0)
    m.handle(NoticeAccepted(), T0)
    m.handle(HookChanged(lifted=True), T0)
    assert_no_secrets(m)
    m.handle(VisitOpened(grant()), T0)
    assert_no_secrets(m)
    m.handle(EndTapped(), T0 + 10)
    assert_no_secrets(m)


def test_pin_token_and_room_pin_never_in_the_repr_of_events_or_commands():
    for thing in (
        CredentialsEntered(RESIDENT_ID, PIN),
        Identify(RESIDENT_ID, PIN),
        Identified(session()),
        VisitOpened(grant()),
        StartCall(grant()),
        OpenVisit(TOKEN, READY_ID),
        ReportEnd(READY_ID, EndReason.TIME_UP),
        Logout(TOKEN),
    ):
        text = repr(thing)
        assert PIN not in text, text
        assert TOKEN not in text, text
        assert ROOM_PIN not in text, text
    # The ids stay visible, for logs.
    assert RESIDENT_ID in repr(Identify(RESIDENT_ID, PIN))
    assert str(READY_ID) in repr(OpenVisit(TOKEN, READY_ID))


@pytest.mark.parametrize(
    "resident_id",
    ["", "12a4", "1234567890123", " 1234", "1234 ", "-123", "١٢٣٤", "²³"],
    ids=["empty", "letter", "13-digits", "leading-space", "trailing-space", "sign", "arabic-indic", "superscript"],
)
def test_a_malformed_resident_id_is_a_problem_and_sends_nothing(resident_id):
    m = machine()
    to_identify(m)
    assert m.handle(CredentialsEntered(resident_id, PIN), T0) == []
    s = m.snapshot()
    assert s.problem is Problem.ID_FORMAT
    assert s.screen is Screen.IDENTIFY
    assert not s.busy


@pytest.mark.parametrize(
    "pin",
    ["", "123", "123456789", "12a4", "1234 ", "١٢٣٤"],
    ids=["empty", "3-digits", "9-digits", "letter", "trailing-space", "arabic-indic"],
)
def test_a_malformed_pin_is_a_problem_and_sends_nothing(pin):
    m = machine()
    to_identify(m)
    assert m.handle(CredentialsEntered(RESIDENT_ID, pin), T0) == []
    s = m.snapshot()
    assert s.problem is Problem.PIN_FORMAT
    assert s.screen is Screen.IDENTIFY
    assert not s.busy


@pytest.mark.parametrize(("resident_id", "pin"), [("1", "1234"), ("123456789012", "12345678")])
def test_ids_and_pins_at_the_length_limits_are_accepted(resident_id, pin):
    m = machine()
    to_identify(m)
    assert m.handle(CredentialsEntered(resident_id, pin), T0) == [Identify(resident_id, pin)]


def test_a_format_problem_clears_on_the_next_good_attempt():
    m = machine()
    to_identify(m)
    m.handle(CredentialsEntered(RESIDENT_ID, "12"), T0)
    assert m.snapshot().problem is Problem.PIN_FORMAT
    assert m.handle(CredentialsEntered(RESIDENT_ID, PIN), T0 + 1) == [Identify(RESIDENT_ID, PIN)]
    assert m.snapshot().problem is None


def test_bad_credentials_stay_on_identify_and_a_second_attempt_works():
    m = machine()
    to_identify(m)
    m.handle(CredentialsEntered(RESIDENT_ID, "0000"), T0 + 1)
    assert m.handle(RequestFailed(ErrorCode.BAD_CREDENTIALS), T0 + 2) == []
    s = m.snapshot()
    assert s.screen is Screen.IDENTIFY
    assert s.problem is Problem.BAD_CREDENTIALS
    assert not s.busy

    assert m.handle(CredentialsEntered(RESIDENT_ID, PIN), T0 + 3) == [Identify(RESIDENT_ID, PIN)]
    assert m.snapshot().problem is None
    m.handle(Identified(session()), T0 + 4)
    assert m.snapshot().screen is Screen.VISIT_LIST
    assert m.snapshot().resident_name == NAME


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        (None, Problem.CENTRAL_UNREACHABLE),
        (ErrorCode.TERMINAL_NOT_AUTHORISED, Problem.TERMINAL_NOT_AUTHORISED),
        (ErrorCode.INVALID_REQUEST, Problem.CENTRAL_UNREACHABLE),
    ],
)
def test_other_identify_failures_are_shown_on_identify(code, problem):
    m = machine()
    to_identify(m)
    m.handle(CredentialsEntered(RESIDENT_ID, PIN), T0)
    m.handle(RequestFailed(code), T0 + 1)
    s = m.snapshot()
    assert (s.screen, s.problem, s.busy) == (Screen.IDENTIFY, problem, False)


def test_credentials_are_ignored_while_a_check_is_in_flight():
    m = machine()
    to_identify(m)
    m.handle(CredentialsEntered(RESIDENT_ID, PIN), T0)
    assert m.handle(CredentialsEntered("555", "9999"), T0 + 1) == []
    assert m.snapshot().busy


def test_an_answer_nobody_asked_for_is_ignored():
    m = machine()
    to_identify(m)
    assert m.handle(Identified(session()), T0) == []
    assert m.handle(RequestFailed(ErrorCode.BAD_CREDENTIALS), T0) == []
    s = m.snapshot()
    assert (s.screen, s.resident_name, s.problem) == (Screen.IDENTIFY, "", None)


def test_back_from_identify_goes_idle_without_logout():
    m = machine()
    to_identify(m)
    m.handle(CredentialsEntered(RESIDENT_ID, "12"), T0)
    assert m.handle(BackTapped(), T0 + 1) == []
    assert_wiped(m)


def test_an_answer_for_someone_who_left_is_never_shown_to_the_next_person():
    # The terminal sends central's requests one at a time, in order, so the first Identified to arrive
    # answers the first person's request. Whatever the machine does with Back while a check is in flight
    # (ignore it, or go idle and drop the late answer), that answer must not reach the second person.
    m = machine()
    to_identify(m)
    m.handle(CredentialsEntered(RESIDENT_ID, PIN), T0)  # first person; check in flight
    m.handle(BackTapped(), T0 + 1)  # walks away
    m.handle(StartTapped(), T0 + 2)  # second person
    second = m.handle(CredentialsEntered("777", "5555"), T0 + 3)
    m.handle(Identified(session()), T0 + 4)  # the answer to the FIRST person's request
    if second:  # the machine asked central about the second person, so it is waiting for their answer
        s = m.snapshot()
        assert s.resident_name != NAME, "the first resident's name and visits were shown to the next person"
        assert s.visits == ()


# -- inactivity timeouts -------------------------------------------------------------------------------


def test_identify_times_out_exactly_at_its_deadline():
    m = machine(identify_s=60)
    to_identify(m, T0)
    assert m.next_deadline() == T0 + 60
    assert m.handle(Tick(), T0 + 60 - 0.001) == []
    assert m.snapshot().screen is Screen.IDENTIFY
    assert m.handle(Tick(), T0 + 60) == []  # no session yet, so nothing to log out
    assert_wiped(m)


def test_touches_on_identify_push_the_deadline():
    m = machine(identify_s=60)
    to_identify(m, T0)
    m.handle(Touched(), T0 + 30)
    assert m.next_deadline() == T0 + 90
    m.handle(Tick(), T0 + 60)
    assert m.snapshot().screen is Screen.IDENTIFY
    m.handle(CredentialsEntered(RESIDENT_ID, "1"), T0 + 50)  # a (bad) entry is activity too
    assert m.next_deadline() == T0 + 110
    m.handle(Tick(), T0 + 109.999)
    assert m.snapshot().screen is Screen.IDENTIFY
    m.handle(Tick(), T0 + 110)
    assert m.snapshot().screen is Screen.IDLE


def test_identify_does_not_time_out_while_the_check_is_in_flight():
    m = machine(identify_s=60)
    to_identify(m, T0)
    m.handle(CredentialsEntered(RESIDENT_ID, PIN), T0 + 10)
    assert m.next_deadline() is None
    assert m.handle(Tick(), T0 + 500) == []
    s = m.snapshot()
    assert (s.screen, s.busy) == (Screen.IDENTIFY, True)


def test_a_problem_from_a_slow_check_stays_on_screen_for_the_full_timeout():
    # identify_s may be as short as 5 s and central may take up to 60 s to answer; the person must still
    # get to read "wrong ID or PIN" rather than have the screen vanish the moment the answer arrives.
    m = machine(identify_s=10)
    to_identify(m, T0)
    m.handle(CredentialsEntered(RESIDENT_ID, PIN), T0)
    m.handle(RequestFailed(ErrorCode.BAD_CREDENTIALS), T0 + 12)
    assert m.next_deadline() is not None and m.next_deadline() >= T0 + 12 + 10
    m.handle(Tick(), T0 + 12.5)
    s = m.snapshot()
    assert (s.screen, s.problem) == (Screen.IDENTIFY, Problem.BAD_CREDENTIALS)


def test_the_visit_list_gets_its_full_time_after_a_slow_check():
    m = machine(identify_s=60, visit_list_s=90)
    to_identify(m, T0)
    m.handle(CredentialsEntered(RESIDENT_ID, PIN), T0)
    m.handle(Identified(session()), T0 + 30)  # central took 30 s
    assert m.next_deadline() == T0 + 30 + 90
    assert m.handle(Tick(), T0 + 100) == []
    assert m.snapshot().screen is Screen.VISIT_LIST


def test_visit_list_times_out_with_logout_and_forgets_the_resident():
    m = machine(visit_list_s=90)
    to_visit_list(m, T0)
    assert m.next_deadline() == T0 + 90
    assert m.handle(Tick(), T0 + 90 - 0.001) == []
    assert m.snapshot().resident_name == NAME
    assert m.handle(Tick(), T0 + 90) == [Logout(TOKEN)]
    assert_wiped(m)


def test_touches_on_the_visit_list_push_the_deadline():
    m = machine(visit_list_s=90)
    to_visit_list(m, T0)
    m.handle(Touched(), T0 + 80)
    assert m.next_deadline() == T0 + 170
    assert m.handle(Tick(), T0 + 90) == []
    m.handle(VisitChosen(SCHEDULED_ID), T0 + 100)  # choosing a visit that is not ready is activity too
    assert m.next_deadline() == T0 + 190
    assert m.handle(Tick(), T0 + 189.999) == []
    assert m.snapshot().screen is Screen.VISIT_LIST
    assert m.handle(Tick(), T0 + 190) == [Logout(TOKEN)]
    assert_wiped(m)


def test_pre_visit_times_out_with_logout_and_forgets_the_resident():
    m = machine(pre_visit_s=120)
    to_pre_visit(m, T0)
    m.handle(NoticeAccepted(), T0 + 20)
    assert m.next_deadline() == T0 + 140
    assert m.handle(Tick(), T0 + 140 - 0.001) == []
    assert m.snapshot().selected is not None
    assert m.handle(Tick(), T0 + 140) == [Logout(TOKEN)]
    assert_wiped(m)


def test_lifting_or_touching_before_the_visit_pushes_the_deadline():
    m = machine(pre_visit_s=120)
    to_pre_visit(m, T0)
    m.handle(Touched(), T0 + 100)
    assert m.next_deadline() == T0 + 220
    m.handle(HookChanged(lifted=True), T0 + 200)  # lifted without accepting the notice: no visit opens
    assert m.next_deadline() == T0 + 320
    assert m.handle(Tick(), T0 + 319.999) == []
    assert m.snapshot().screen is Screen.PRE_VISIT
    assert m.handle(Tick(), T0 + 320) == [Logout(TOKEN)]
    assert m.snapshot().screen is Screen.IDLE


def test_pre_visit_does_not_time_out_while_the_visit_opens():
    m = machine(pre_visit_s=120)
    to_opening(m, T0)
    assert m.next_deadline() is None
    assert m.handle(Tick(), T0 + 1000) == []
    assert m.snapshot().screen is Screen.PRE_VISIT
    assert m.snapshot().busy


def test_the_handset_position_survives_going_idle():
    m = machine(visit_list_s=90)
    to_visit_list(m, T0)
    m.handle(HookChanged(lifted=True), T0 + 1)
    m.handle(Tick(), T0 + 91)
    assert m.snapshot().screen is Screen.IDLE
    assert m.snapshot().handset_lifted


# -- the visit list -------------------------------------------------------------------------------------


def test_a_scheduled_visit_is_not_ready_yet():
    m = machine()
    to_visit_list(m)
    assert m.handle(VisitChosen(SCHEDULED_ID), T0 + 1) == []
    s = m.snapshot()
    assert s.screen is Screen.VISIT_LIST
    assert s.problem is Problem.NOT_READY
    assert s.resident_name == NAME


def test_an_ended_visit_is_over():
    m = machine()
    to_visit_list(m)
    assert m.handle(VisitChosen(OVER_ID), T0 + 1) == []
    s = m.snapshot()
    assert (s.screen, s.problem) == (Screen.VISIT_LIST, Problem.VISIT_OVER)


@pytest.mark.parametrize("visit_id", [READY_ID, LIVE_ID])
def test_a_ready_or_live_visit_goes_to_pre_visit(visit_id):
    m = machine()
    to_visit_list(m)
    m.handle(VisitChosen(SCHEDULED_ID), T0 + 1)
    assert m.handle(VisitChosen(visit_id), T0 + 2) == []
    s = m.snapshot()
    assert s.screen is Screen.PRE_VISIT
    assert s.selected is not None and s.selected.visit_id == visit_id
    assert s.problem is None
    assert not s.notice_accepted


def test_choosing_a_visit_not_on_the_list_does_nothing():
    m = machine()
    to_visit_list(m)
    before = m.snapshot()
    assert m.handle(VisitChosen(OTHER_ID), T0 + 1) == []
    assert m.snapshot() == before


def test_back_from_the_visit_list_logs_out():
    m = machine()
    to_visit_list(m)
    assert m.handle(BackTapped(), T0 + 1) == [Logout(TOKEN)]
    assert_wiped(m)


# -- before the visit -------------------------------------------------------------------------------------


def test_accepting_the_notice_then_lifting_opens_the_visit():
    m = machine()
    to_pre_visit(m)
    assert m.handle(NoticeAccepted(), T0 + 1) == []
    assert m.snapshot().notice_accepted
    assert not m.snapshot().busy
    assert m.handle(HookChanged(lifted=True), T0 + 2) == [OpenVisit(TOKEN, READY_ID)]
    s = m.snapshot()
    assert s.busy
    assert s.handset_lifted
    assert s.screen is Screen.PRE_VISIT


def test_with_the_handset_already_lifted_accepting_the_notice_opens_the_visit():
    m = machine()
    m.handle(HookChanged(lifted=True), T0)
    to_pre_visit(m, T0 + 1)
    assert m.handle(NoticeAccepted(), T0 + 2) == [OpenVisit(TOKEN, READY_ID)]
    assert m.snapshot().busy


def test_lifting_before_accepting_the_notice_does_not_open():
    m = machine()
    to_pre_visit(m)
    assert m.handle(HookChanged(lifted=True), T0 + 1) == []
    assert not m.snapshot().busy
    assert m.handle(NoticeAccepted(), T0 + 2) == [OpenVisit(TOKEN, READY_ID)]


def test_accepting_the_notice_twice_while_the_visit_opens_sends_one_request():
    m = machine()
    m.handle(HookChanged(lifted=True), T0)
    to_pre_visit(m, T0)
    assert m.handle(NoticeAccepted(), T0 + 1) == [OpenVisit(TOKEN, READY_ID)]
    assert m.handle(NoticeAccepted(), T0 + 1.2) == [], "a double tap sent a second OpenVisit"


def test_back_before_the_visit_returns_to_the_list_without_logout():
    m = machine()
    to_pre_visit(m)
    m.handle(NoticeAccepted(), T0 + 1)
    assert m.handle(BackTapped(), T0 + 2) == []
    s = m.snapshot()
    assert s.screen is Screen.VISIT_LIST
    assert s.selected is None
    assert not s.notice_accepted
    assert s.resident_name == NAME


def test_back_is_ignored_while_the_visit_opens():
    m = machine()
    to_opening(m)
    assert m.handle(BackTapped(), T0 + 1) == []
    assert m.snapshot().screen is Screen.PRE_VISIT
    assert m.snapshot().busy


def test_visit_opened_starts_the_visit_and_the_call():
    m = machine()
    to_opening(m, T0)
    g = grant(seconds_left=400)
    assert m.handle(VisitOpened(g), T0 + 3) == [StartCall(g)]
    s = m.snapshot()
    assert s.screen is Screen.IN_VISIT
    assert not s.busy
    assert s.call is CallStatus.CONNECTING
    assert s.live is not None
    assert s.live.visit_id == READY_ID
    assert s.live.visitors == ("Maria", "Leo")
    assert s.live.recorded
    assert s.live.started_at == T0 + 3
    assert s.live.ends_at == T0 + 3 + 400
    assert s.warning_s is None
    assert s.hangup_deadline is None


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        (ErrorCode.NOT_READY, Problem.NOT_READY),
        (ErrorCode.VISIT_OVER, Problem.VISIT_OVER),
        (ErrorCode.UNKNOWN_VISIT, Problem.VISIT_OVER),
    ],
)
def test_a_visit_that_cannot_open_goes_back_to_the_list(code, problem):
    m = machine()
    to_opening(m)
    assert m.handle(RequestFailed(code), T0 + 1) == []
    s = m.snapshot()
    assert s.screen is Screen.VISIT_LIST
    assert s.problem is problem
    assert not s.busy
    assert not s.notice_accepted
    assert s.resident_name == NAME
    # The list still works.
    assert m.handle(VisitChosen(LIVE_ID), T0 + 2) == []
    assert m.snapshot().screen is Screen.PRE_VISIT


def test_media_unavailable_stays_before_the_visit_and_lifting_again_retries():
    m = machine()
    to_opening(m)
    assert m.handle(RequestFailed(ErrorCode.MEDIA_UNAVAILABLE), T0 + 1) == []
    s = m.snapshot()
    assert (s.screen, s.problem, s.busy) == (Screen.PRE_VISIT, Problem.MEDIA_UNAVAILABLE, False)
    assert m.handle(HookChanged(lifted=False), T0 + 2) == []
    assert m.handle(HookChanged(lifted=True), T0 + 3) == [OpenVisit(TOKEN, READY_ID)]
    assert m.snapshot().problem is None
    assert m.snapshot().busy
    m.handle(VisitOpened(grant()), T0 + 4)
    assert m.snapshot().screen is Screen.IN_VISIT


def test_central_unreachable_while_opening_stays_before_the_visit():
    m = machine()
    to_opening(m)
    m.handle(RequestFailed(None), T0 + 1)
    s = m.snapshot()
    assert (s.screen, s.problem, s.busy) == (Screen.PRE_VISIT, Problem.CENTRAL_UNREACHABLE, False)


def test_an_expired_session_goes_idle_and_says_so():
    m = machine()
    to_opening(m)
    assert m.handle(RequestFailed(ErrorCode.SESSION_EXPIRED), T0 + 1) == [Logout(TOKEN)]
    s = m.snapshot()
    assert s.screen is Screen.IDLE
    assert s.problem is Problem.SESSION_EXPIRED
    assert s.resident_name == ""
    assert s.visits == ()
    assert s.selected is None
    assert not s.busy
    # Starting over clears the message.
    m.handle(StartTapped(), T0 + 2)
    assert m.snapshot().problem is None
    assert m.snapshot().screen is Screen.IDENTIFY


def test_hanging_up_while_the_visit_opens_still_ends_it_after_the_grace():
    m = machine(hangup_grace_s=10)
    to_opening(m, T0)
    m.handle(HookChanged(lifted=False), T0 + 1)
    m.handle(VisitOpened(grant(warnings_s=())), T0 + 2)
    assert m.snapshot().screen is Screen.IN_VISIT
    # The handset is down: the visit must not run on for its whole 400 s with nobody on the line.
    deadline = m.next_deadline()
    assert deadline is not None and deadline <= T0 + 2 + 10
    commands = m.handle(Tick(), T0 + 2 + 10)
    assert m.snapshot().screen is Screen.ENDED
    assert m.snapshot().ended is not None and m.snapshot().ended.reason is EndReason.HUNG_UP
    assert commands == [StopCall(), ReportEnd(READY_ID, EndReason.HUNG_UP)]


# -- in the visit ---------------------------------------------------------------------------------------


def test_warnings_come_at_the_exact_times():
    m = machine()
    to_in_visit(m, T0, seconds_left=400, warnings_s=(300, 60))
    ends_at = T0 + 400
    assert m.snapshot().warning_s is None
    assert m.next_deadline() == ends_at - 300

    assert m.handle(Tick(), ends_at - 300 - 0.001) == []
    assert m.snapshot().warning_s is None
    assert m.handle(Tick(), ends_at - 300) == []
    assert m.snapshot().warning_s == 300
    assert m.next_deadline() == ends_at - 60

    assert m.handle(Tick(), ends_at - 60 - 0.001) == []
    assert m.snapshot().warning_s == 300
    assert m.handle(Tick(), ends_at - 60) == []
    assert m.snapshot().warning_s == 60
    assert m.next_deadline() == ends_at
    assert m.snapshot().screen is Screen.IN_VISIT


def test_warnings_given_in_any_order_work_the_same():
    m = machine()
    to_in_visit(m, T0, seconds_left=400, warnings_s=(60, 300))
    assert m.next_deadline() == T0 + 100
    m.handle(Tick(), T0 + 100)
    assert m.snapshot().warning_s == 300
    assert m.next_deadline() == T0 + 340


def test_a_visit_opened_late_starts_with_the_smallest_passed_warning():
    m = machine()
    to_in_visit(m, T0, seconds_left=30, warnings_s=(300, 60))
    assert m.snapshot().warning_s == 60
    assert m.next_deadline() == T0 + 30


def test_the_visit_ends_exactly_when_time_is_up():
    m = machine()
    to_in_visit(m, T0, seconds_left=400)
    ends_at = T0 + 400
    m.handle(Tick(), ends_at - 300)
    m.handle(Tick(), ends_at - 60)
    assert m.handle(Tick(), ends_at - 0.001) == []
    assert m.snapshot().screen is Screen.IN_VISIT

    assert m.handle(Tick(), ends_at) == [StopCall(), ReportEnd(READY_ID, EndReason.TIME_UP)]
    s = m.snapshot()
    assert s.screen is Screen.ENDED
    assert s.ended is not None
    assert s.ended.visit_id == READY_ID
    assert s.ended.reason is EndReason.TIME_UP
    assert s.ended.message == ""
    assert s.ended.duration_s == 400
    assert (s.live, s.call, s.warning_s, s.hangup_deadline) == (None, None, None, None)
    assert s.resident_name == NAME  # still shown on the ended screen


def test_a_late_tick_does_not_count_past_the_end():
    m = machine()
    to_in_visit(m, T0, seconds_left=400, warnings_s=())
    m.handle(Tick(), T0 + 405)
    s = m.snapshot()
    assert s.ended is not None and s.ended.reason is EndReason.TIME_UP
    assert s.ended.duration_s == 400


def test_no_inactivity_timeout_during_a_visit():
    m = machine(identify_s=5, visit_list_s=5, pre_visit_s=5)
    to_in_visit(m, T0, seconds_left=400, warnings_s=())
    assert m.next_deadline() == T0 + 400
    assert m.handle(Tick(), T0 + 200) == []
    assert m.snapshot().screen is Screen.IN_VISIT


def test_touches_and_back_do_nothing_during_a_visit():
    m = machine()
    to_in_visit(m, T0)
    before = m.snapshot()
    for event in (Touched(), BackTapped(), StartTapped(), DoneTapped(), NoticeAccepted(), VisitChosen(READY_ID)):
        assert m.handle(event, T0 + 5) == []
    assert m.snapshot() == before


def test_hanging_up_starts_the_grace_and_lifting_again_cancels_it():
    m = machine(hangup_grace_s=10)
    to_in_visit(m, T0, seconds_left=400, warnings_s=())
    assert m.handle(HookChanged(lifted=False), T0 + 200) == []
    s = m.snapshot()
    assert s.hangup_deadline == T0 + 210
    assert not s.handset_lifted
    assert s.screen is Screen.IN_VISIT
    assert m.next_deadline() == T0 + 210

    assert m.handle(HookChanged(lifted=True), T0 + 205) == []
    assert m.snapshot().hangup_deadline is None
    assert m.next_deadline() == T0 + 400
    assert m.handle(Tick(), T0 + 210) == []
    assert m.snapshot().screen is Screen.IN_VISIT


def test_staying_hung_up_ends_the_visit_at_the_grace_deadline():
    m = machine(hangup_grace_s=10)
    to_in_visit(m, T0, seconds_left=400, warnings_s=())
    m.handle(HookChanged(lifted=False), T0 + 200)
    assert m.handle(Tick(), T0 + 210 - 0.001) == []
    assert m.snapshot().screen is Screen.IN_VISIT
    assert m.handle(Tick(), T0 + 210) == [StopCall(), ReportEnd(READY_ID, EndReason.HUNG_UP)]
    s = m.snapshot()
    assert s.screen is Screen.ENDED
    assert s.ended is not None
    assert s.ended.reason is EndReason.HUNG_UP
    assert s.ended.duration_s == 210


def test_with_no_grace_hanging_up_ends_the_visit_at_once():
    m = machine(hangup_grace_s=0)
    to_in_visit(m, T0, seconds_left=400, warnings_s=())
    assert m.handle(HookChanged(lifted=False), T0 + 50) == [
        StopCall(),
        ReportEnd(READY_ID, EndReason.HUNG_UP),
    ]
    s = m.snapshot()
    assert s.screen is Screen.ENDED
    assert s.ended is not None and s.ended.reason is EndReason.HUNG_UP
    assert s.ended.duration_s == 50


def test_the_resident_ends_the_visit():
    m = machine()
    to_in_visit(m, T0)
    assert m.handle(EndTapped(), T0 + 120) == [StopCall(), ReportEnd(READY_ID, EndReason.ENDED_BY_RESIDENT)]
    s = m.snapshot()
    assert s.screen is Screen.ENDED
    assert s.ended is not None
    assert s.ended.reason is EndReason.ENDED_BY_RESIDENT
    assert s.ended.duration_s == 120


def test_staff_end_the_visit_with_a_reason_and_nothing_is_reported_back():
    m = machine()
    to_in_visit(m, T0)
    commands = m.handle(VisitEndedByCentral(READY_ID, EndReason.ENDED_BY_STAFF, "Count time"), T0 + 30)
    assert commands == [StopCall()]
    s = m.snapshot()
    assert s.screen is Screen.ENDED
    assert s.ended is not None
    assert s.ended.reason is EndReason.ENDED_BY_STAFF
    assert s.ended.message == "Count time"
    assert s.ended.duration_s == 30


def test_an_end_for_another_visit_is_ignored():
    m = machine()
    to_in_visit(m, T0)
    before = m.snapshot()
    assert m.handle(VisitEndedByCentral(OTHER_ID, EndReason.ENDED_BY_STAFF, "Count time"), T0 + 30) == []
    assert m.snapshot() == before


def test_the_room_closing_mid_visit_ends_it_as_ended_by_staff_without_a_report():
    m = machine()
    to_in_visit(m, T0, seconds_left=400)
    assert m.handle(RoomClosed(), T0 + 100) == [StopCall()]
    s = m.snapshot()
    assert s.screen is Screen.ENDED
    assert s.ended is not None
    assert s.ended.reason is EndReason.ENDED_BY_STAFF
    assert s.ended.duration_s == 100


def test_the_room_closing_in_the_last_seconds_counts_as_time_up():
    m = machine()
    to_in_visit(m, T0, seconds_left=400)
    assert m.handle(RoomClosed(), T0 + 399) == [StopCall()]
    s = m.snapshot()
    assert s.ended is not None and s.ended.reason is EndReason.TIME_UP


def test_central_reason_arriving_after_the_room_closed_is_shown():
    m = machine()
    to_in_visit(m, T0)
    m.handle(RoomClosed(), T0 + 100)
    assert m.handle(VisitEndedByCentral(READY_ID, EndReason.ENDED_BY_STAFF, "Lockdown"), T0 + 101) == []
    s = m.snapshot()
    assert s.screen is Screen.ENDED
    assert s.ended is not None
    assert s.ended.reason is EndReason.ENDED_BY_STAFF
    assert s.ended.message == "Lockdown"
    assert s.ended.duration_s == 100


def test_on_the_ended_screen_an_end_without_a_message_or_for_another_visit_changes_nothing():
    m = machine()
    to_in_visit(m, T0)
    m.handle(EndTapped(), T0 + 100)
    before = m.snapshot()
    assert m.handle(VisitEndedByCentral(READY_ID, EndReason.ENDED_BY_STAFF, ""), T0 + 101) == []
    assert m.handle(VisitEndedByCentral(OTHER_ID, EndReason.ENDED_BY_STAFF, "Other"), T0 + 102) == []
    assert m.snapshot() == before


@pytest.mark.parametrize("status", list(CallStatus))
def test_call_status_changes_are_shown(status):
    m = machine()
    to_in_visit(m, T0)
    assert m.handle(CallStatusChanged(status), T0 + 1) == []
    assert m.snapshot().call is status
    assert m.snapshot().screen is Screen.IN_VISIT


# -- the ended screen -------------------------------------------------------------------------------------


def test_the_ended_screen_returns_to_idle_after_its_time_and_logs_out():
    m = machine(ended_screen_s=10)
    ended_at = to_ended(m, T0)
    assert m.next_deadline() == ended_at + 10
    assert m.handle(Touched(), ended_at + 5) == []  # touches do not hold the ended screen
    assert m.next_deadline() == ended_at + 10
    assert m.handle(Tick(), ended_at + 10 - 0.001) == []
    assert m.snapshot().screen is Screen.ENDED
    assert m.handle(Tick(), ended_at + 10) == [Logout(TOKEN)]
    assert_wiped(m)


def test_done_on_the_ended_screen_returns_to_idle_at_once():
    m = machine(ended_screen_s=10)
    ended_at = to_ended(m, T0)
    assert m.handle(DoneTapped(), ended_at + 1) == [Logout(TOKEN)]
    assert_wiped(m)
    # Nothing lingers: a tick at the old deadline does nothing, and the next person starts fresh.
    assert m.handle(Tick(), ended_at + 10) == []
    m.handle(StartTapped(), ended_at + 20)
    s = m.snapshot()
    assert (s.screen, s.resident_name, s.ended, s.problem) == (Screen.IDENTIFY, "", None, None)


def test_after_a_visit_the_next_person_must_identify_again():
    m = machine()
    ended_at = to_ended(m, T0)
    m.handle(DoneTapped(), ended_at + 1)
    to_identify(m, ended_at + 2)
    # Without new credentials, nothing opens: the old session is gone.
    assert m.handle(VisitChosen(READY_ID), ended_at + 3) == []
    assert m.handle(NoticeAccepted(), ended_at + 3) == []
    assert m.snapshot().screen is Screen.IDENTIFY


# -- devices ------------------------------------------------------------------------------------------


def test_a_missing_device_takes_an_idle_terminal_out_of_service_and_its_return_brings_it_back():
    m = machine()
    assert m.handle(DevicesChanged(("handset",)), T0) == []
    assert m.snapshot().screen is Screen.OUT_OF_SERVICE
    assert m.snapshot().out_of_service == ("handset",)
    assert m.handle(StartTapped(), T0) == []  # nobody can start a visit here now
    assert m.snapshot().screen is Screen.OUT_OF_SERVICE
    m.handle(DevicesChanged(("handset", "camera")), T0)
    assert m.snapshot().out_of_service == ("handset", "camera")
    assert m.handle(DevicesChanged(()), T0) == []
    assert_wiped(m)


@pytest.mark.parametrize("to_screen", [to_identify, to_visit_list, to_pre_visit])
def test_whoever_is_signing_in_is_signed_out_and_told_why(to_screen):
    m = machine()
    to_screen(m)
    commands = m.handle(DevicesChanged(("camera",)), T0 + 1)
    assert commands == ([] if to_screen is to_identify else [Logout(TOKEN)])
    s = m.snapshot()
    assert (s.screen, s.resident_name, s.visits, s.selected) == (Screen.OUT_OF_SERVICE, "", (), None)
    assert m.next_deadline() is None


def test_a_visit_under_way_goes_on_and_the_terminal_is_out_of_service_after_it():
    m = machine(ended_screen_s=10)
    to_in_visit(m)
    assert m.handle(DevicesChanged(("camera",)), T0 + 5) == []
    assert m.snapshot().screen is Screen.IN_VISIT
    assert m.snapshot().out_of_service == ("camera",)
    m.handle(EndTapped(), T0 + 100)
    assert m.snapshot().screen is Screen.ENDED
    m.handle(Tick(), T0 + 110)
    assert m.snapshot().screen is Screen.OUT_OF_SERVICE


def test_a_device_back_during_the_visit_leaves_the_terminal_in_service_after_it():
    m = machine(ended_screen_s=10)
    to_in_visit(m)
    m.handle(DevicesChanged(("camera",)), T0 + 5)
    m.handle(DevicesChanged(()), T0 + 8)
    m.handle(EndTapped(), T0 + 100)
    m.handle(Tick(), T0 + 110)
    assert_wiped(m)


# -- language -----------------------------------------------------------------------------------------


def test_a_language_is_chosen_before_sign_in_and_the_next_person_starts_in_the_terminals_own():
    m = VisitMachine(TimeoutsSection(), "en", ("en", "es"))
    assert m.snapshot().language == "en"
    m.handle(LanguageChosen("es"), T0)
    assert m.snapshot().language == "es"
    to_identify(m)
    m.handle(LanguageChosen("fr"), T0)  # no translation: nothing changes
    assert m.snapshot().language == "es"
    m.handle(BackTapped(), T0)
    assert m.snapshot() == TerminalState(language="en")


def test_the_residents_preferred_language_follows_sign_in_and_cannot_be_changed_after():
    m = VisitMachine(TimeoutsSection(), "en", ("en", "es"))
    to_identify(m)
    m.handle(CredentialsEntered(RESIDENT_ID, PIN), T0)
    m.handle(Identified(session().model_copy(update={"language": "es"})), T0)
    assert m.snapshot().language == "es"
    m.handle(LanguageChosen("en"), T0)  # the list, the visit and the end stay in one language
    assert m.snapshot().language == "es"


@pytest.mark.parametrize(("chosen", "preferred", "shown"), [("es", "zh", "es"), ("en", "es", "en"), (None, "zh", "en")])
def test_the_language_a_person_chose_here_wins_and_one_without_a_translation_is_ignored(chosen, preferred, shown):
    m = VisitMachine(TimeoutsSection(), "en", ("en", "es"))
    if chosen:
        m.handle(LanguageChosen(chosen), T0)
    to_identify(m)
    m.handle(CredentialsEntered(RESIDENT_ID, PIN), T0)
    m.handle(Identified(session().model_copy(update={"language": preferred})), T0)
    assert m.snapshot().language == shown


def test_the_idle_screens_notices_stay_when_a_person_leaves_and_are_replaced_when_central_sends_new_ones():
    m = machine()
    first = IdleInfo(
        notices=[Notice(title="Hotline", body="Dial 7233.")], callout_privacy=CalloutPrivacy.NONE, callouts=[]
    )
    m.handle(IdleInfoArrived(first), T0)
    to_visit_list(m)
    assert m.snapshot().idle_info == first
    m.handle(BackTapped(), T0)
    assert m.snapshot().idle_info == first  # the facility's, not the person's: nothing to wipe
    second = first.model_copy(update={"notices": []})
    m.handle(IdleInfoArrived(second), T0)
    assert m.snapshot().idle_info == second


# -- technician mode ----------------------------------------------------------------------------------


def technician_machine() -> VisitMachine:
    return VisitMachine(TimeoutsSection(identify_s=60), technician=True)


def test_the_hidden_gesture_and_the_right_pin_open_technician_mode_and_it_closes_by_itself():
    m = technician_machine()
    m.handle(TechnicianGesture(), T0)
    assert m.snapshot().screen is Screen.TECHNICIAN_PIN
    assert m.handle(TechnicianPinEntered("9137"), T0) == [CheckTechnicianPin("9137")]
    assert m.snapshot().busy
    m.handle(TechnicianPinChecked(ok=True), T0)
    assert m.snapshot().screen is Screen.TECHNICIAN
    assert m.next_deadline() == T0 + TECHNICIAN_IDLE_S
    m.handle(Tick(), T0 + TECHNICIAN_IDLE_S)
    assert_wiped(m)


def test_leaving_technician_mode_returns_to_idle_or_to_out_of_service():
    m = technician_machine()
    m.handle(DevicesChanged(("camera",)), T0)
    m.handle(TechnicianGesture(), T0)  # the technician comes because the camera is out
    m.handle(TechnicianPinEntered("9137"), T0)
    m.handle(TechnicianPinChecked(ok=True), T0)
    m.handle(DevicesChanged(()), T0)
    assert m.snapshot().screen is Screen.TECHNICIAN  # fixing it does not throw the technician out
    m.handle(TechnicianLeft(), T0)
    assert m.snapshot().screen is Screen.IDLE


def test_wrong_technician_pins_are_refused_and_three_make_the_gesture_do_nothing_for_a_while():
    m = technician_machine()
    m.handle(TechnicianGesture(), T0)
    for attempt in range(TECHNICIAN_TRIES - 1):
        m.handle(TechnicianPinEntered("0000"), T0)
        m.handle(TechnicianPinChecked(ok=False), T0)
        assert m.snapshot().problem is Problem.TECHNICIAN_PIN, attempt
    m.handle(TechnicianPinEntered("0000"), T0)
    m.handle(TechnicianPinChecked(ok=False), T0)
    assert_wiped(m)
    m.handle(TechnicianGesture(), T0 + TECHNICIAN_LOCKOUT_S - 1)
    assert m.snapshot().screen is Screen.IDLE
    m.handle(TechnicianGesture(), T0 + TECHNICIAN_LOCKOUT_S)
    assert m.snapshot().screen is Screen.TECHNICIAN_PIN


def test_without_a_technician_pin_the_gesture_does_nothing():
    m = machine()
    m.handle(TechnicianGesture(), T0)
    assert m.snapshot().screen is Screen.IDLE


def test_the_technician_pin_never_shows_in_a_repr():
    assert "9137" not in repr(TechnicianPinEntered("9137")) + repr(CheckTechnicianPin("9137"))


def test_the_earpiece_volume_steps_within_its_range_and_the_next_person_starts_in_the_middle():
    m = machine()
    to_in_visit(m)
    for _ in range(10):
        m.handle(VolumeChanged(+1), T0)
    assert VOLUME_GAINS[m.snapshot().volume] == max(VOLUME_GAINS)
    for _ in range(10):
        m.handle(VolumeChanged(-1), T0)
    assert VOLUME_GAINS[m.snapshot().volume] == min(VOLUME_GAINS)
    m.handle(EndTapped(), T0 + 1)
    m.handle(DoneTapped(), T0 + 2)
    assert VOLUME_GAINS[m.snapshot().volume] == 1.0


# -- a visit taken up again after a restart -----------------------------------------------------------


def test_a_visit_in_progress_at_a_restart_is_taken_up_again_with_its_clock_from_central():
    m = machine()
    m.handle(HookChanged(lifted=True), T0)
    assert m.handle(ResumeVisit(READY_ID), T0) == [ResumeCall(READY_ID)]
    assert m.snapshot().busy and m.handle(StartTapped(), T0) == [], "nobody starts anything meanwhile"
    assert m.snapshot().screen is Screen.IDLE
    resumed = grant(seconds_left=250.0)
    assert m.handle(VisitOpened(resumed), T0 + 1) == [StartCall(resumed)]
    state = m.snapshot()
    assert state.screen is Screen.IN_VISIT and state.live.ends_at == T0 + 1 + 250.0
    # Its end is reported as any visit's, though no resident session came back with it; nobody to log out.
    assert m.handle(EndTapped(), T0 + 60) == [StopCall(), ReportEnd(READY_ID, EndReason.ENDED_BY_RESIDENT)]
    assert m.handle(DoneTapped(), T0 + 61) == []
    assert m.snapshot().screen is Screen.IDLE


def test_a_visit_central_will_not_give_back_is_reported_as_failed_and_the_terminal_is_idle():
    m = machine()
    m.handle(HookChanged(lifted=True), T0)
    m.handle(ResumeVisit(READY_ID), T0)
    assert m.handle(RequestFailed(ErrorCode.VISIT_OVER), T0 + 1) == [ReportEnd(READY_ID, EndReason.CONNECTION_FAILED)]
    state = m.snapshot()
    assert state.screen is Screen.IDLE and not state.busy and state.live is None

"""The visit state machine: idle → identify → visit list → before the visit → in the visit → ended.

Plain Python and free of I/O: `handle(event, now)` updates the state and returns commands for the
terminal to carry out; `next_deadline()` says when the machine next needs a Tick. Times are monotonic
seconds. The UI renders `snapshot()`; every rule of the flow lives here.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field, replace
from datetime import datetime

from kiosk.call_quality import Quality
from kiosk.call_status import CallStatus
from kiosk.config import TimeoutsSection
from kiosk.protocol import EndReason, ErrorCode, IdleInfo, ResidentSession, RoomGrant, VisitStatus, VisitSummary

VOLUME_GAINS = (0.5, 0.7, 1.0, 1.4, 2.0)  # the earpiece's steps, quietest first
DEFAULT_VOLUME = 2


class Screen(enum.Enum):
    IDLE = "idle"
    IDENTIFY = "identify"
    VISIT_LIST = "visit_list"
    PRE_VISIT = "pre_visit"
    IN_VISIT = "in_visit"
    ENDED = "ended"
    OUT_OF_SERVICE = "out_of_service"
    TECHNICIAN_PIN = "technician_pin"
    TECHNICIAN = "technician"


class Problem(enum.Enum):
    """Something the person must be told; the UI owns the words for each."""

    ID_FORMAT = "id_format"
    PIN_FORMAT = "pin_format"
    BAD_CREDENTIALS = "bad_credentials"
    CENTRAL_UNREACHABLE = "central_unreachable"
    TERMINAL_NOT_AUTHORISED = "terminal_not_authorised"
    SESSION_EXPIRED = "session_expired"
    NOT_READY = "not_ready"
    VISIT_OVER = "visit_over"
    MEDIA_UNAVAILABLE = "media_unavailable"
    LOCKED = "locked"
    WRONG_PLACE = "wrong_place"
    TECHNICIAN_PIN = "technician_pin"


_PROBLEM_FOR_CODE = {
    ErrorCode.BAD_CREDENTIALS: Problem.BAD_CREDENTIALS,
    ErrorCode.TERMINAL_NOT_AUTHORISED: Problem.TERMINAL_NOT_AUTHORISED,
    ErrorCode.SESSION_EXPIRED: Problem.SESSION_EXPIRED,
    ErrorCode.UNKNOWN_VISIT: Problem.VISIT_OVER,
    ErrorCode.NOT_READY: Problem.NOT_READY,
    ErrorCode.VISIT_OVER: Problem.VISIT_OVER,
    ErrorCode.MEDIA_UNAVAILABLE: Problem.MEDIA_UNAVAILABLE,
    ErrorCode.INVALID_REQUEST: Problem.CENTRAL_UNREACHABLE,
    ErrorCode.LOCKED: Problem.LOCKED,
    ErrorCode.NOT_ALLOWED: Problem.WRONG_PLACE,
}


def problem_for(code: ErrorCode | None) -> Problem:
    return _PROBLEM_FOR_CODE.get(code, Problem.CENTRAL_UNREACHABLE) if code else Problem.CENTRAL_UNREACHABLE


# -- events -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Touched:
    """Any touch on the screen: the person is still here."""


@dataclass(frozen=True)
class StartTapped:
    pass


@dataclass(frozen=True)
class CredentialsEntered:
    resident_id: str
    pin: str = field(repr=False)


@dataclass(frozen=True)
class Identified:
    session: ResidentSession = field(repr=False)


@dataclass(frozen=True)
class RequestFailed:
    """A request to central failed; `code` is None when central was not reached."""

    code: ErrorCode | None
    locked_until: datetime | None = None  # with LOCKED: when sign-in opens again (wall clock, for the screen)


@dataclass(frozen=True)
class VisitChosen:
    visit_id: int


@dataclass(frozen=True)
class BackTapped:
    pass


@dataclass(frozen=True)
class NoticeAccepted:
    pass


@dataclass(frozen=True)
class HookChanged:
    lifted: bool


@dataclass(frozen=True)
class VisitOpened:
    grant: RoomGrant = field(repr=False)


@dataclass(frozen=True)
class CallStatusChanged:
    status: CallStatus


@dataclass(frozen=True)
class CallQualityChanged:
    """How the call went over the last seconds (the chip's word)."""

    quality: Quality


@dataclass(frozen=True)
class EndTapped:
    """The resident confirmed that they want to end the visit."""


@dataclass(frozen=True)
class VisitEndedByCentral:
    visit_id: int
    reason: EndReason
    message: str = ""


@dataclass(frozen=True)
class StaffMessage:
    """Staff's words for the person in the visit."""

    visit_id: int
    text: str


@dataclass(frozen=True)
class MessageDismissed:
    pass


@dataclass(frozen=True)
class RoomClosed:
    """The media room disappeared under the call (central closed it)."""


@dataclass(frozen=True)
class DoneTapped:
    pass


@dataclass(frozen=True)
class LanguageChosen:
    """The person picked a language (on the screens before sign-in)."""

    language: str


@dataclass(frozen=True)
class TechnicianGesture:
    """The hidden gesture for technician mode (on the idle and out-of-service screens)."""


@dataclass(frozen=True)
class TechnicianPinEntered:
    pin: str = field(repr=False)


@dataclass(frozen=True)
class TechnicianPinChecked:
    ok: bool


@dataclass(frozen=True)
class TechnicianLeft:
    pass


@dataclass(frozen=True)
class IdleInfoArrived:
    """What central says the idle screen shows now."""

    info: IdleInfo


@dataclass(frozen=True)
class VolumeChanged:
    """The earpiece one step louder (+1) or quieter (-1)."""

    step: int


@dataclass(frozen=True)
class LargeTextToggled:
    """The person asked for larger (or normal) text."""


@dataclass(frozen=True)
class DevicesChanged:
    """The devices a visit needs that are not working now ("camera", "handset", "touchscreen"); empty when
    all work. The terminal takes no new visit while any is missing; a visit under way goes on."""

    missing: tuple[str, ...]


@dataclass(frozen=True)
class ResumeVisit:
    """The terminal restarted (it crashed) in the middle of this visit, moments ago, with the handset still lifted:
    the visit is taken up again where it stands."""

    visit_id: int


@dataclass(frozen=True)
class Tick:
    pass


Event = (
    Touched
    | StartTapped
    | CredentialsEntered
    | Identified
    | RequestFailed
    | VisitChosen
    | BackTapped
    | NoticeAccepted
    | HookChanged
    | VisitOpened
    | CallStatusChanged
    | CallQualityChanged
    | EndTapped
    | VisitEndedByCentral
    | RoomClosed
    | DoneTapped
    | Tick
    | StaffMessage
    | MessageDismissed
    | DevicesChanged
    | LanguageChosen
    | LargeTextToggled
    | IdleInfoArrived
    | TechnicianGesture
    | TechnicianPinEntered
    | TechnicianPinChecked
    | TechnicianLeft
    | VolumeChanged
    | ResumeVisit
)

# -- commands ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Identify:
    resident_id: str
    pin: str = field(repr=False)


@dataclass(frozen=True)
class OpenVisit:
    session: str = field(repr=False)
    visit_id: int


@dataclass(frozen=True)
class StartCall:
    grant: RoomGrant = field(repr=False)


@dataclass(frozen=True)
class StopCall:
    pass


@dataclass(frozen=True)
class ReportEnd:
    visit_id: int
    reason: EndReason


@dataclass(frozen=True)
class Logout:
    session: str = field(repr=False)


@dataclass(frozen=True)
class ResumeCall:
    """Ask central for the room of the visit live on this terminal again (after a restart)."""

    visit_id: int


@dataclass(frozen=True)
class CheckTechnicianPin:
    pin: str = field(repr=False)


Command = Identify | OpenVisit | StartCall | StopCall | ReportEnd | Logout | CheckTechnicianPin | ResumeCall

# -- state ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LiveVisit:
    visit_id: int
    visitors: tuple[str, ...]
    recorded: bool
    started_at: float
    ends_at: float
    warnings_s: tuple[int, ...]


@dataclass(frozen=True)
class EndedVisit:
    visit_id: int
    reason: EndReason
    message: str
    duration_s: float


@dataclass(frozen=True)
class TerminalState:
    """What the screen shows. It holds no token and no PIN."""

    screen: Screen = Screen.IDLE
    busy: bool = False
    problem: Problem | None = None
    resident_name: str = ""
    visits: tuple[VisitSummary, ...] = ()
    selected: VisitSummary | None = None
    notice_accepted: bool = False
    handset_lifted: bool = False
    live: LiveVisit | None = None
    call: CallStatus | None = None
    quality: Quality | None = None  # how the call went over the last seconds, once it is measured
    warning_s: int | None = None
    hangup_deadline: float | None = None
    ended: EndedVisit | None = None
    locked_until: datetime | None = None  # wall-clock time, to show the person when to try again
    staff_message: str = ""
    out_of_service: tuple[str, ...] = ()  # the devices that are not working, while any is missing
    language: str = "en"
    large_text: bool = False
    volume: int = DEFAULT_VOLUME  # an index into VOLUME_GAINS; each person starts at the middle
    idle_info: IdleInfo | None = None  # the facility's notices and ready call-outs: not about the person here


_JOINABLE = (VisitStatus.READY, VisitStatus.LIVE)
TECHNICIAN_IDLE_S = 300.0  # technician mode closes after five untouched minutes
TECHNICIAN_TRIES = 3
TECHNICIAN_LOCKOUT_S = 300.0
_LANGUAGE_SCREENS = (Screen.IDLE, Screen.IDENTIFY, Screen.OUT_OF_SERVICE)
_TEXT_SIZE_SCREENS = (*_LANGUAGE_SCREENS, Screen.VISIT_LIST, Screen.PRE_VISIT)  # not mid-visit: no relayout
_RESIDENT_ID = re.compile(r"[0-9]{1,12}")
_PIN = re.compile(r"[0-9]{4,8}")


class VisitMachine:
    def __init__(
        self,
        timeouts: TimeoutsSection,
        language: str = "en",
        languages: tuple[str, ...] = ("en",),
        technician: bool = False,
    ) -> None:
        """`language`: each new person's; `languages`: those the screens can show; `technician`: whether a
        technician PIN is configured (without one the gesture does nothing)."""
        self._technician = technician
        self._technician_failures = 0
        self._technician_locked_until = 0.0
        self._timeouts = timeouts
        self._language = language
        self._languages = languages
        self._language_chosen = False  # by this person, on this terminal: it wins over central's preference
        self._state = TerminalState(language=language)
        self._session: str | None = None
        self._last_touch = 0.0
        self._ended_until: float | None = None
        self._resuming: int | None = None  # the visit being taken up again after a restart

    def snapshot(self) -> TerminalState:
        return self._state

    # -- time -------------------------------------------------------------------------------------

    def _inactivity_limit(self) -> float | None:
        limits = {
            Screen.IDENTIFY: self._timeouts.identify_s,
            Screen.VISIT_LIST: self._timeouts.visit_list_s,
            Screen.PRE_VISIT: self._timeouts.pre_visit_s,
            Screen.TECHNICIAN_PIN: self._timeouts.identify_s,
            Screen.TECHNICIAN: TECHNICIAN_IDLE_S,
        }
        return limits.get(self._state.screen)

    def next_deadline(self) -> float | None:
        """The monotonic time of the next Tick the machine needs, if any."""
        s = self._state
        candidates: list[float] = []
        limit = self._inactivity_limit()
        if limit is not None and not s.busy:
            candidates.append(self._last_touch + limit)
        if s.screen is Screen.IN_VISIT and s.live is not None:
            candidates.append(s.live.ends_at)
            candidates += [s.live.ends_at - w for w in s.live.warnings_s if s.warning_s is None or w < s.warning_s]
            if s.hangup_deadline is not None:
                candidates.append(s.hangup_deadline)
        if s.screen is Screen.ENDED and self._ended_until is not None:
            candidates.append(self._ended_until)
        return min(candidates) if candidates else None

    # -- events -----------------------------------------------------------------------------------

    def handle(self, event: Event, now: float) -> list[Command]:
        if isinstance(event, Identified | VisitOpened | RequestFailed):
            # The person waited for central; their time on the screen starts again from the answer.
            self._last_touch = now
        if isinstance(
            event,
            Touched
            | StartTapped
            | CredentialsEntered
            | VisitChosen
            | BackTapped
            | NoticeAccepted
            | EndTapped
            | DoneTapped
            | MessageDismissed
            | HookChanged
            | LanguageChosen
            | LargeTextToggled
            | TechnicianGesture
            | TechnicianPinEntered
            | TechnicianLeft
            | VolumeChanged,
        ):
            self._last_touch = now
        if isinstance(event, HookChanged):
            self._state = replace(self._state, handset_lifted=event.lifted)
        if isinstance(event, DevicesChanged):
            return self._devices_changed(event.missing)
        if isinstance(event, IdleInfoArrived):
            self._state = replace(self._state, idle_info=event.info)
            return []
        if isinstance(event, VolumeChanged):
            volume = min(max(self._state.volume + event.step, 0), len(VOLUME_GAINS) - 1)
            self._state = replace(self._state, volume=volume)
            return []
        if isinstance(event, LargeTextToggled):
            if self._state.screen in _TEXT_SIZE_SCREENS:
                self._state = replace(self._state, large_text=not self._state.large_text)
            return []
        if isinstance(event, LanguageChosen):
            if event.language in self._languages and self._state.screen in _LANGUAGE_SCREENS:
                self._state = replace(self._state, language=event.language)
                self._language_chosen = True
            return []
        handler = getattr(self, f"_on_{self._state.screen.value}")
        commands: list[Command] = handler(event, now)
        return commands

    def _go_idle(self) -> list[Command]:
        """Back to the start, wiping everything about the person who was here."""
        commands: list[Command] = [Logout(self._session)] if self._session else []
        self._session = None
        self._ended_until = None
        self._language_chosen = False
        missing = self._state.out_of_service
        self._state = TerminalState(
            screen=Screen.OUT_OF_SERVICE if missing else Screen.IDLE,
            handset_lifted=self._state.handset_lifted,
            out_of_service=missing,
            language=self._language,  # the next person starts in the terminal's language
            idle_info=self._state.idle_info,
        )
        return commands

    def _devices_changed(self, missing: tuple[str, ...]) -> list[Command]:
        self._state = replace(self._state, out_of_service=missing)
        screen = self._state.screen
        if missing and screen in (Screen.IDLE, Screen.IDENTIFY, Screen.VISIT_LIST, Screen.PRE_VISIT):
            # Nobody can start a visit here now: whoever was signing in is signed out, and told why.
            return self._go_idle()
        if not missing and screen is Screen.OUT_OF_SERVICE:
            self._state = replace(self._state, screen=Screen.IDLE)
        return []

    def _on_out_of_service(self, event: Event, now: float) -> list[Command]:
        self._maybe_technician(event, now)  # the technician is most needed here
        return []  # only DevicesChanged brings the terminal back

    def _timed_out(self, now: float) -> bool:
        limit = self._inactivity_limit()
        return limit is not None and not self._state.busy and now >= self._last_touch + limit

    def _on_idle(self, event: Event, now: float) -> list[Command]:
        s = self._state
        if isinstance(event, ResumeVisit) and not s.busy:
            # Nobody can start anything while the visit is being taken up again: it takes a moment.
            self._state = replace(s, busy=True, problem=None)
            self._resuming = event.visit_id
            return [ResumeCall(event.visit_id)]
        if isinstance(event, VisitOpened) and s.busy and self._resuming is not None:
            self._state = replace(s, busy=False)
            self._resuming = None
            return self._go_live(event.grant, now)
        if isinstance(event, RequestFailed) and s.busy and self._resuming is not None:
            # Central refused (the visit is over) or cannot be reached: the visit is not taken up, and central
            # hears how it ended (a refusal of that report changes nothing).
            self._state = replace(s, busy=False)
            visit_id, self._resuming = self._resuming, None
            return [ReportEnd(visit_id, EndReason.CONNECTION_FAILED)]
        if isinstance(event, StartTapped) and not s.busy:
            self._state = replace(s, screen=Screen.IDENTIFY, problem=None)
        self._maybe_technician(event, now)
        return []

    # -- technician mode --------------------------------------------------------------------------

    def _maybe_technician(self, event: Event, now: float) -> None:
        if isinstance(event, TechnicianGesture) and self._technician and now >= self._technician_locked_until:
            self._state = replace(self._state, screen=Screen.TECHNICIAN_PIN, problem=None)

    def _on_technician_pin(self, event: Event, now: float) -> list[Command]:
        s = self._state
        if (isinstance(event, BackTapped) and not s.busy) or (isinstance(event, Tick) and self._timed_out(now)):
            return self._go_idle()
        if isinstance(event, TechnicianPinEntered) and not s.busy:
            self._state = replace(s, busy=True, problem=None)
            return [CheckTechnicianPin(event.pin)]
        if isinstance(event, TechnicianPinChecked) and s.busy:
            if event.ok:
                self._technician_failures = 0
                self._state = replace(s, screen=Screen.TECHNICIAN, busy=False)
                return []
            self._technician_failures += 1
            if self._technician_failures >= TECHNICIAN_TRIES:
                # Guessing a technician PIN must be slow: the gesture does nothing for a while.
                self._technician_failures = 0
                self._technician_locked_until = now + TECHNICIAN_LOCKOUT_S
                return self._go_idle()
            self._state = replace(s, busy=False, problem=Problem.TECHNICIAN_PIN)
        return []

    def _on_technician(self, event: Event, now: float) -> list[Command]:
        if isinstance(event, TechnicianLeft) or (isinstance(event, Tick) and self._timed_out(now)):
            return self._go_idle()
        return []

    def _on_identify(self, event: Event, now: float) -> list[Command]:
        s = self._state
        # While central checks the credentials the person cannot leave: the answer must reach them,
        # never the next person at the terminal.
        if (isinstance(event, BackTapped) and not s.busy) or (isinstance(event, Tick) and self._timed_out(now)):
            return self._go_idle()
        if isinstance(event, CredentialsEntered) and not s.busy:
            if not _RESIDENT_ID.fullmatch(event.resident_id):
                self._state = replace(s, problem=Problem.ID_FORMAT)
                return []
            if not _PIN.fullmatch(event.pin):
                self._state = replace(s, problem=Problem.PIN_FORMAT)
                return []
            self._state = replace(s, busy=True, problem=None)
            return [Identify(event.resident_id, event.pin)]
        if isinstance(event, Identified) and s.busy:
            self._session = event.session.session_token
            preferred = event.session.language
            self._state = replace(
                s,
                screen=Screen.VISIT_LIST,
                busy=False,
                resident_name=event.session.display_name,
                visits=tuple(event.session.visits),
                language=preferred if preferred in self._languages and not self._language_chosen else s.language,
            )
        elif isinstance(event, RequestFailed) and s.busy:
            self._state = replace(s, busy=False, problem=problem_for(event.code), locked_until=event.locked_until)
        return []

    def _on_visit_list(self, event: Event, now: float) -> list[Command]:
        s = self._state
        if isinstance(event, BackTapped) or (isinstance(event, Tick) and self._timed_out(now)):
            return self._go_idle()
        if isinstance(event, VisitChosen):
            visit = next((v for v in s.visits if v.visit_id == event.visit_id), None)
            if visit is None:
                return []
            if visit.status not in _JOINABLE:
                self._state = replace(
                    s,
                    problem=Problem.NOT_READY if visit.status is VisitStatus.SCHEDULED else Problem.VISIT_OVER,
                    selected=visit,
                )
                return []
            self._state = replace(s, screen=Screen.PRE_VISIT, selected=visit, problem=None, notice_accepted=False)
        return []

    def _on_pre_visit(self, event: Event, now: float) -> list[Command]:
        s = self._state
        assert s.selected is not None and self._session is not None
        if isinstance(event, Tick) and self._timed_out(now):
            return self._go_idle()
        if isinstance(event, BackTapped) and not s.busy:
            self._state = replace(s, screen=Screen.VISIT_LIST, selected=None, problem=None, notice_accepted=False)
        elif isinstance(event, NoticeAccepted) and not s.notice_accepted and not s.busy:
            self._state = replace(s, notice_accepted=True)
            if s.handset_lifted:
                return self._open(now)
        elif isinstance(event, HookChanged) and event.lifted and s.notice_accepted and not s.busy:
            return self._open(now)
        elif isinstance(event, VisitOpened) and s.busy:
            self._state = replace(s, busy=False)
            return self._go_live(event.grant, now)
        elif isinstance(event, RequestFailed) and s.busy:
            problem = problem_for(event.code)
            if problem is Problem.SESSION_EXPIRED:
                commands = self._go_idle()
                self._state = replace(self._state, problem=problem)
                return commands
            if problem in (Problem.NOT_READY, Problem.VISIT_OVER, Problem.WRONG_PLACE):
                self._state = replace(s, screen=Screen.VISIT_LIST, busy=False, problem=problem, notice_accepted=False)
            else:
                self._state = replace(s, busy=False, problem=problem)
        return []

    def _go_live(self, grant: RoomGrant, now: float) -> list[Command]:
        """Into the visit, its clock set by central's grant."""
        live = LiveVisit(
            visit_id=grant.visit_id,
            visitors=tuple(grant.visitors),
            recorded=grant.recorded,
            started_at=now,
            ends_at=now + grant.seconds_left,
            warnings_s=tuple(sorted(grant.warnings_s, reverse=True)),
        )
        self._state = replace(self._state, screen=Screen.IN_VISIT, live=live, call=CallStatus.CONNECTING)
        self._update_warning(now)
        commands: list[Command] = [StartCall(grant)]
        if not self._state.handset_lifted:
            # Hung up while the visit was opening: the same grace as hanging up during it.
            commands += self._on_in_visit(HookChanged(lifted=False), now)
        return commands

    def _open(self, now: float) -> list[Command]:
        assert self._state.selected is not None and self._session is not None
        self._state = replace(self._state, busy=True, problem=None)
        return [OpenVisit(self._session, self._state.selected.visit_id)]

    def _update_warning(self, now: float) -> None:
        live = self._state.live
        assert live is not None
        left = live.ends_at - now
        crossed = [w for w in live.warnings_s if left <= w]
        warning = min(crossed) if crossed else None
        if warning != self._state.warning_s:
            self._state = replace(self._state, warning_s=warning)

    def _on_in_visit(self, event: Event, now: float) -> list[Command]:
        s = self._state
        assert s.live is not None
        if isinstance(event, Tick):
            if now >= s.live.ends_at:
                return self._end(EndReason.TIME_UP, now)
            if s.hangup_deadline is not None and now >= s.hangup_deadline:
                return self._end(EndReason.HUNG_UP, now)
            self._update_warning(now)
        elif isinstance(event, HookChanged):
            if event.lifted:
                self._state = replace(s, hangup_deadline=None)
            elif self._timeouts.hangup_grace_s == 0:
                return self._end(EndReason.HUNG_UP, now)
            else:
                self._state = replace(s, hangup_deadline=now + self._timeouts.hangup_grace_s)
        elif isinstance(event, EndTapped):
            return self._end(EndReason.ENDED_BY_RESIDENT, now)
        elif isinstance(event, VisitEndedByCentral) and event.visit_id == s.live.visit_id:
            return self._end(event.reason, now, event.message, report=False)
        elif isinstance(event, RoomClosed):
            reason = EndReason.TIME_UP if now >= s.live.ends_at - 2 else EndReason.ENDED_BY_STAFF
            return self._end(reason, now, report=False)
        elif isinstance(event, CallStatusChanged):
            self._state = replace(s, call=event.status)
        elif isinstance(event, CallQualityChanged):
            self._state = replace(s, quality=event.quality)
        elif isinstance(event, StaffMessage) and event.visit_id == s.live.visit_id:
            self._state = replace(s, staff_message=event.text)
        elif isinstance(event, MessageDismissed):
            self._state = replace(s, staff_message="")
        return []

    def _end(self, reason: EndReason, now: float, message: str = "", report: bool = True) -> list[Command]:
        live = self._state.live
        assert live is not None  # a resumed visit has no resident session: its end report needs none
        ended = EndedVisit(
            live.visit_id, reason, message, duration_s=max(0.0, min(now, live.ends_at) - live.started_at)
        )
        self._state = replace(
            self._state,
            screen=Screen.ENDED,
            live=None,
            call=None,
            quality=None,
            warning_s=None,
            hangup_deadline=None,
            ended=ended,
            staff_message="",
        )
        self._ended_until = now + self._timeouts.ended_screen_s
        commands: list[Command] = [StopCall()]
        if report:
            commands.append(ReportEnd(live.visit_id, reason))
        return commands

    def _on_ended(self, event: Event, now: float) -> list[Command]:
        s = self._state
        assert s.ended is not None
        if isinstance(event, DoneTapped) or (
            isinstance(event, Tick) and self._ended_until is not None and now >= self._ended_until
        ):
            return self._go_idle()
        if isinstance(event, VisitEndedByCentral) and event.visit_id == s.ended.visit_id and event.message:
            # Central's reason arrives after the room closed: show the reason staff gave.
            self._state = replace(s, ended=replace(s.ended, reason=event.reason, message=event.message))
        return []

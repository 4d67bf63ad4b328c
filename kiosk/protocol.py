"""The terminal protocol: every message the terminal and central exchange, as validated models.

Central serves these (and publishes them as OpenAPI); the terminal parses every answer through them,
so a malformed message from the network is an error the terminal handles, never a crash.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from kiosk.request_proof import PUBLIC_KEY_PATTERN

API_PREFIX = "/api/v1"

# Ids are 32-bit in every database central supports; anything larger is refused as invalid input.
MAX_ID = 2**31 - 1
RecordId = Annotated[int, Field(ge=1, le=MAX_ID)]


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# What central receives is checked strictly: FastAPI validates a body in pydantic's Python mode, where the
# lax default takes "5" for 5 and a number for a date. A request that breaks the published schema is
# refused, never read generously and stored. (Enums and dates, which JSON can only carry as text, are
# marked lax per field.)
RECEIVED = ConfigDict(strict=True)


def _date_as_text(value: object) -> object:
    """A date on the wire is ISO 8601 text, as the schema says, never a number of seconds."""
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return value
    raise ValueError("a date is ISO 8601 text")


SentDate = Annotated[datetime, Field(strict=False), BeforeValidator(_date_as_text)]


class WireMessage(BaseModel):
    """A message between terminals and central, which are updated at different times: a field the reader
    does not know (sent by a newer version) is skipped, never a reason to refuse the whole message."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class VisitStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    READY = "ready"
    LIVE = "live"
    ENDED = "ended"
    ENDED_BY_STAFF = "ended_by_staff"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


class EndReason(enum.StrEnum):
    TIME_UP = "time_up"
    ENDED_BY_RESIDENT = "ended_by_resident"
    HUNG_UP = "hung_up"
    ENDED_BY_STAFF = "ended_by_staff"
    CONNECTION_FAILED = "connection_failed"


class ErrorCode(enum.StrEnum):
    BAD_CREDENTIALS = "bad_credentials"
    TERMINAL_NOT_AUTHORISED = "terminal_not_authorised"
    SESSION_EXPIRED = "session_expired"
    UNKNOWN_VISIT = "unknown_visit"
    NOT_READY = "not_ready"
    VISIT_OVER = "visit_over"
    MEDIA_UNAVAILABLE = "media_unavailable"
    INVALID_REQUEST = "invalid_request"
    LOCKED = "locked"
    NOT_ALLOWED = "not_allowed"
    ENROLLMENT_CODE_UNKNOWN = "enrollment_code_unknown"
    ENROLLMENT_CODE_USED = "enrollment_code_used"
    ENROLLMENT_CODE_EXPIRED = "enrollment_code_expired"


class ErrorBody(WireMessage):
    code: ErrorCode
    message: str = Field(description="A sentence for logs; the terminal shows its own text per code.")
    retry_after_s: int | None = Field(default=None, description="With `locked`: seconds until sign-in opens again.")


class IdentifyRequest(WireMessage):
    model_config = RECEIVED

    resident_id: str = Field(pattern=r"^[0-9]{1,12}$")
    pin: str = Field(pattern=r"^[0-9]{4,8}$")


class VisitSummary(WireMessage):
    visit_id: RecordId
    visitors: list[str] = Field(description="First names the facility allows the terminal to show.")
    starts_at: datetime
    ends_at: datetime
    status: VisitStatus
    status_reason: str = Field(default="", description="Why a visit was cancelled or ended by staff.")
    joinable_from: datetime
    recorded: bool
    privileged: bool = Field(default=False, description="Attorney or clergy: not recorded, not monitored.")
    place: str = Field(default="", description="Where the visit takes place: a housing unit or a terminal.")


class ResidentSession(WireMessage):
    session_token: str
    display_name: str
    language: str = Field(default="en", description="The resident's preferred language (IETF tag).")
    visits: list[VisitSummary]


class VisitList(WireMessage):
    visits: list[VisitSummary]


class RoomGrant(WireMessage):
    """Everything a participant needs to join the visit's media room; never the room's secret."""

    visit_id: RecordId
    janus_url: str
    room: int
    pin: str
    display: str
    ends_at: datetime
    seconds_left: float = Field(ge=0)
    warnings_s: list[int] = Field(description="Seconds before the end at which to warn, largest first.")
    recorded: bool
    visitors: list[str]


class DirectionQuality(WireMessage):
    """One direction of a visit's call, over the whole visit: the worst visitor's, where there are several."""

    model_config = RECEIVED

    fps: float | None = Field(default=None, ge=0, le=240, description="Pictures per second.")
    freezes: int = Field(default=0, ge=0, description="Times no new picture came for longer than 0.2 s.")
    frozen_s: float = Field(default=0.0, ge=0, description="Seconds spent in those freezes.")
    packet_loss_pct: float = Field(default=0.0, ge=0, le=100, description="Packets lost on the way, before repair.")
    rtt_ms: float | None = Field(default=None, ge=0, description="Round-trip time to the media server.")
    jitter_ms: float | None = Field(default=None, ge=0)


class VisitQuality(WireMessage):
    """How the visit's call went, as the terminal measured it."""

    model_config = RECEIVED

    received: DirectionQuality = Field(description="The visitors' media at the terminal.")
    sent: DirectionQuality = Field(description="The terminal's media, as it sent it and Janus reported it.")
    reconnects: int = Field(default=0, ge=0, description="Times the connections were rebuilt.")
    outages: int = Field(default=0, ge=0, description="Times the link went silent and the screen said so.")


class EndVisitRequest(WireMessage):
    model_config = RECEIVED

    reason: EndReason = Field(strict=False)
    media_lost_s: float = Field(default=0.0, ge=0, description="Seconds of lost media, for credit.")
    quality: VisitQuality | None = None


class StaffEndRequest(Message):
    model_config = RECEIVED

    reason: str = Field(min_length=3, max_length=200)


class VisitorJoinRequest(Message):
    model_config = RECEIVED

    code: str = Field(pattern=r"^[A-Za-z0-9]{6,32}$")


class VisitorMediaLost(Message):
    """A visitor's page: how long its own link to the visit was down so far (the total, not the last outage)."""

    model_config = RECEIVED

    code: str = Field(pattern=r"^[A-Za-z0-9]{6,32}$")
    media_lost_s: float = Field(ge=0, le=86_400)


class Reception(WireMessage):
    """What one participant received of the others' video over the last second or two: the media server forwards
    each sender's video as it came, so only a receiver knows what its own link can carry, and the senders learn it
    through central (`VideoCap`)."""

    model_config = RECEIVED

    video_kbps: float = Field(ge=0, le=100_000, description="Video received, all feeds together.")
    feeds: int = Field(ge=0, le=8, description="Video feeds received.")
    lost: float = Field(ge=0, le=1, description="Share of the video's packets lost on the way (not those reordered).")
    queue_ms: int | None = Field(
        None, ge=0, le=60_000, description="How long the video queues on the way now: a link filling up. None: unknown."
    )


class VisitorReception(Reception):
    code: str = Field(pattern=r"^[A-Za-z0-9]{6,32}$")


class VideoCap(WireMessage):
    """Central's answer to a `Reception`: the most each participant's video should send now, so that the
    participant with the thinnest link still receives every feed."""

    video_kbps: int | None = Field(ge=1, description="None: no participant's link needs a cap.")


class VisitorStatus(Message):
    """What a visitor's page polls: where the visit stands, and why it ended once it has."""

    visit: VisitSummary
    display: str
    seconds_left: float = Field(ge=0)
    end_reason: EndReason | None = None
    message: str = Field(default="", description="The reason staff gave, when staff ended the visit.")


SOFTWARE_PART = "software"  # beside the devices in a heartbeat's health: the terminal's own program
STORAGE_PART = "storage"  # and its disk: degraded while the audit journal's writes are refused


class Heartbeat(WireMessage):
    model_config = RECEIVED

    version: str = Field(max_length=50)
    health: dict[str, str] = Field(
        default_factory=dict,
        max_length=20,
        description="Part (a device, or `software`) to state: ok, degraded, lost (stopped) or missing.",
    )


class AuditEvent(WireMessage):
    model_config = RECEIVED

    event_id: str = Field(pattern=r"^[A-Za-z0-9-]{8,64}$", description="Unique per event; a retried upload reuses it.")
    kind: str = Field(pattern=r"^[a-z_]{3,50}$")
    at: SentDate
    visit_id: RecordId | None = None
    detail: dict[str, str | int | float | bool] = Field(default_factory=dict, max_length=20)


class AuditBatch(WireMessage):
    model_config = RECEIVED

    events: list[AuditEvent] = Field(min_length=1, max_length=100)


class AuditReceipt(WireMessage):
    stored: int
    duplicates: int


class OfficerLogin(Message):
    model_config = RECEIVED

    username: str = Field(pattern=r"^[a-z0-9._-]{2,40}$")
    password: str = Field(min_length=8, max_length=200)


class OfficerSession(Message):
    display_name: str
    session_token: str = Field(description="Also set as an HttpOnly cookie for the officer pages.")


class StaffMessageRequest(Message):
    model_config = RECEIVED

    text: str = Field(min_length=1, max_length=300)


class WatchGrant(Message):
    """A silent, receive-only place in a visit's room: the officer sees and hears, and is never seen."""

    visit_id: RecordId
    janus_url: str
    room: int
    pin: str
    privileged: bool = False


class StaffVisit(Message):
    """A visit as officers see it on today's list."""

    visit_id: RecordId
    resident_id: str
    resident_name: str
    visitors: list[str]
    starts_at: datetime
    ends_at: datetime
    status: VisitStatus
    status_reason: str
    privileged: bool
    terminal: str
    quality: VisitQuality | None = Field(default=None, description="How the call went, from the terminal's report.")
    media_lost_s: float = Field(default=0.0, description="Media lost, the most of the terminal's and each visitor's.")
    credit_minutes: int = Field(default=0, description="Minutes to credit for the media lost (whole minutes, up).")


class CancelRequest(Message):
    model_config = RECEIVED

    reason: str = Field(min_length=3, max_length=200)


class TerminalEventType(enum.StrEnum):
    VISIT_ENDED = "visit_ended"
    STAFF_MESSAGE = "staff_message"


class TerminalEvent(WireMessage):
    seq: int
    type: TerminalEventType
    visit_id: RecordId
    reason: EndReason | None = Field(default=None, description="With visit_ended.")
    message: str = Field(default="", description="Staff's words: the reason for an end, or a message to show.")


class EventBatch(WireMessage):
    events: list[TerminalEvent]
    next_after: int = Field(description="Pass as `after` on the next poll.")


# -- the idle screen ----------------------------------------------------------------------------------

# One line of text: no control characters, no whitespace at either end. A body may also hold line breaks.
_LINE = r"^[^\s\x00-\x1f\x7f](?:[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f])?$"
_TEXT = r"^[^\s\x00-\x1f\x7f](?:[^\x00-\x09\x0b-\x1f\x7f]*[^\s\x00-\x1f\x7f])?$"
MAX_NOTICES = 5


class CalloutPrivacy(enum.StrEnum):
    """How much of the resident a "visit is ready" call-out on the idle screen may show."""

    NONE = "none"  # no call-outs at all
    INITIALS = "initials"  # "A visit is ready for J. R."
    BOOKING_NUMBER_TAIL = "booking_number_tail"  # the last 3 digits of the resident ID


class Notice(Message):
    """A notice the facility shows on every idle screen, e.g. how to report abuse (PREA) and the hotline."""

    model_config = RECEIVED

    title: str = Field(max_length=80, pattern=_LINE)
    body: str = Field(max_length=500, pattern=_TEXT, description="Plain text; may hold line breaks.")


class FacilitySettings(Message):
    """What the facility configures for its terminals' idle screens; staff edit it as a whole."""

    model_config = RECEIVED

    notices: list[Notice] = Field(default_factory=list, max_length=MAX_NOTICES, description="Shown in this order.")
    callout_privacy: CalloutPrivacy = Field(default=CalloutPrivacy.INITIALS, strict=False)


class VisitCallout(WireMessage):
    """A visit that is ready (or live) at this terminal's place, with no more about the resident than allowed."""

    starts_at: datetime
    initials: str = Field(
        default="", pattern=r"^(?:\w\.(?: \w\.)?)?$", description='With `initials`: e.g. "J. R.", else empty.'
    )
    booking_number_tail: str = Field(
        default="",
        pattern=r"^[0-9]{0,3}$",
        description="With `booking_number_tail`: the last 3 digits of the resident ID (fewer for a short ID).",
    )


class IdleInfo(WireMessage):
    """What a terminal's idle screen shows: the facility's notices and the visits ready at this terminal."""

    notices: list[Notice] = Field(max_length=MAX_NOTICES)
    callout_privacy: CalloutPrivacy
    callouts: list[VisitCallout] = Field(description="Earliest start first; empty when the privacy level is `none`.")


# -- enrollment -------------------------------------------------------------------------------------

ENROLLMENT_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"  # no 0/O, 1/I/L or U/V pairs to misread
ENROLLMENT_CODE_LENGTH = 12  # 59 bits: shown as three groups of four


def normalise_enrollment_code(typed: str) -> str:
    """The code as stored: capitals, without the dashes and spaces people type between its groups."""
    return typed.replace("-", "").replace(" ", "").upper()


class EnrollmentCodeRequest(Message):
    """An admin asks for a one-time code to enroll one terminal."""

    model_config = RECEIVED

    valid_minutes: int = Field(default=60, ge=5, le=7 * 24 * 60)
    housing_unit: str = Field(default="", max_length=100, description="The unit the terminal will serve, if any.")


class EnrollmentCode(Message):
    code: str = Field(description="Shown once, in groups of four; central keeps only its hash.")
    expires_at: datetime


class EnrollmentRequest(Message):
    model_config = RECEIVED

    code: str = Field(pattern=r"^[A-Za-z0-9 -]{12,20}$", description="Case, spaces and dashes do not matter.")
    name: str = Field(min_length=1, max_length=200, pattern=_LINE)
    location: str = Field(min_length=1, max_length=200, pattern=_LINE)
    public_key: str = Field(pattern=PUBLIC_KEY_PATTERN, description="The terminal's Ed25519 key, base64.")


class EnrollmentGrant(Message):
    """What an enrolled terminal uses from then on: its token, valid only with requests its key signs."""

    terminal_id: RecordId
    token: str
    facility: str = Field(min_length=1, max_length=200)
    housing_unit: str
    janus_url: str = Field(description="The media server's HTTP API as terminals reach it, for the set-up to check.")
    facility_ca_pem: str | None = Field(
        description="The CA that signs central's and Janus's TLS certificates, for the terminal to pin; none when "
        "central serves plain HTTP (only to its own machine)."
    )

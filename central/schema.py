"""Central's tables, described once for SQLAlchemy so the same code runs on SQLite and PostgreSQL.

Times are UNIX seconds (floats); ids of people are the facility's own numbers, kept as text.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

terminals = Table(
    "terminals",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("location", String(200), nullable=False),
    Column("housing_unit", String(100), nullable=False, default=""),
    Column("token_hash", String(64), nullable=False, unique=True),
    # An enrolled terminal's Ed25519 public key (base64): its token is then valid only on requests it signs.
    Column("public_key", String(44)),
    Column("retired_at", Float),  # it left (a factory reset): its token is no longer accepted
    Column("last_seen", Float),
    Column("health", JSON, nullable=False, default=dict),
    Column("version", String(50), nullable=False, default=""),
)

# One-time codes an admin hands a technician to enroll one terminal; only their hashes are kept.
enrollment_codes = Table(
    "enrollment_codes",
    metadata,
    Column("code_hash", String(64), primary_key=True),
    Column("housing_unit", String(100), nullable=False, default=""),
    Column("created_by", String(60), nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("used_at", Float),
    Column("terminal_id", Integer, ForeignKey("terminals.id")),
)

residents = Table(
    "residents",
    metadata,
    Column("number", String(12), primary_key=True),
    Column("display_name", String(100), nullable=False),
    Column("pin_hash", String(200), nullable=False),
    Column("housing_unit", String(100), nullable=False),
    Column("language", String(8), nullable=False, default="en"),
)

visitors = Table(
    "visitors",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("display_name", String(100), nullable=False),
)

visits = Table(
    "visits",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("resident", String(12), ForeignKey("residents.number"), nullable=False),
    Column("terminal_id", Integer, ForeignKey("terminals.id")),
    Column("starts_at", Float, nullable=False),
    Column("ends_at", Float, nullable=False),
    Column("status", String(20), nullable=False),
    Column("end_reason", String(30)),
    Column("end_message", Text, nullable=False, default=""),
    Column("privileged", Boolean, nullable=False, default=False),
    # Where the visit takes place: any terminal of a housing unit, or one terminal (or anywhere).
    Column("place_unit", String(100)),
    Column("place_terminal_id", Integer, ForeignKey("terminals.id")),
    Column("room", Integer),
    Column("room_pin", String(64)),
    Column("room_secret", String(64)),
    Column("media_lost_s", Float, nullable=False, default=0.0),
    Column("terminal_reported", Boolean, nullable=False, default=False),
)

visit_visitors = Table(
    "visit_visitors",
    metadata,
    Column("visit_id", Integer, ForeignKey("visits.id"), nullable=False),
    Column("visitor_id", Integer, ForeignKey("visitors.id"), nullable=False),
    Column("code_hash", String(64), nullable=False, unique=True),
    UniqueConstraint("visit_id", "visitor_id"),
)

# How long each visitor's own link was down in a visit, as their page last reported it (the total so far).
visitor_media_lost = Table(
    "visitor_media_lost",
    metadata,
    Column("code_hash", String(64), primary_key=True),
    Column("visit_id", Integer, ForeignKey("visits.id"), nullable=False, index=True),
    Column("media_lost_s", Float, nullable=False),
)

# How the visit's call went, as the terminal measured it (`VisitQuality`), from its end report; the first counts.
visit_quality = Table(
    "visit_quality",
    metadata,
    Column("visit_id", Integer, ForeignKey("visits.id"), primary_key=True),
    Column("quality", JSON, nullable=False),
)

resident_sessions = Table(
    "resident_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("resident", String(12), nullable=False),
    Column("terminal_id", Integer, nullable=False),
    Column("expires_at", Float, nullable=False),
)

sign_in_failures = Table(
    "sign_in_failures",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("subject", String(60), nullable=False, index=True),  # "resident:<id>" or "officer:<username>"
    Column("terminal_id", Integer, index=True),  # where a resident tried; none for officers
    Column("at", Float, nullable=False),
)

terminal_events = Table(
    "terminal_events",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("terminal_id", Integer, nullable=False, index=True),
    Column("body", JSON, nullable=False),
)

officers = Table(
    "officers",
    metadata,
    Column("username", String(40), primary_key=True),
    Column("display_name", String(100), nullable=False),
    Column("password_hash", String(200), nullable=False),
)

officer_sessions = Table(
    "officer_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("username", String(40), ForeignKey("officers.username"), nullable=False),
    Column("expires_at", Float, nullable=False),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("event_id", String(64), primary_key=True),
    Column("actor", String(60), nullable=False),  # "terminal:<id>" or "officer:<username>"
    Column("terminal_id", Integer, index=True),
    Column("visit_id", Integer, index=True),
    Column("kind", String(50), nullable=False),
    Column("at", Float, nullable=False),
    Column("received_at", Float, nullable=False),
    Column("detail", JSON, nullable=False),
)

# One row (id 1) once staff or the demo set it; until then the defaults of `FacilitySettings` apply.
facility_settings = Table(
    "facility_settings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("notices", JSON, nullable=False),
    Column("callout_privacy", String(30), nullable=False),
)

"""`kiosk-central`: runs the reference central server (optionally with the demo data set).

Secrets (Janus admin key, staff token) come from files, never from the command line.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import uvicorn

from central.app import create_app
from central.demo_data import FACILITY, seed
from central.rooms import RoomAdmin
from central.store import Store
from central.visits import RoomKeeper, VisitClock, VisitRules, Visits
from kiosk.logs import configure_logging


def _read_secret(path: Path) -> str:
    return path.read_text().strip()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="kiosk-central", description="The reference central server.")
    parser.add_argument("--state", type=Path, required=True, help="folder for the database, recordings, secrets")
    parser.add_argument(
        "--database", help="SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db (default: SQLite in --state)"
    )
    parser.add_argument("--janus-url", required=True, help="Janus HTTP API as central reaches it")
    parser.add_argument("--janus-public-url", help="Janus HTTP API as participants reach it (default: --janus-url)")
    parser.add_argument("--janus-admin-key-file", type=Path, help="file holding Janus VideoRoom's admin_key")
    parser.add_argument("--tls-cert", type=Path, help="serve HTTPS with this certificate chain (PEM)")
    parser.add_argument("--tls-key", type=Path, help="the private key of --tls-cert (PEM, readable by its owner only)")
    parser.add_argument(
        "--facility-ca",
        type=Path,
        help="the CA (PEM) that signs central's and Janus's certificates, handed to each terminal that enrolls",
    )
    parser.add_argument("--facility-name", help="shown on its terminals (required, except with --demo)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--join-early-minutes", type=float, default=5.0, help="how early a visit can be joined")
    parser.add_argument("--warning-minutes", type=float, nargs="+", default=[5.0, 1.0], help="warnings before the end")
    parser.add_argument("--lockout-failures", type=int, default=5, help="wrong PINs before sign-in pauses")
    parser.add_argument("--lockout-minutes", type=float, default=15.0, help="how long sign-in pauses")
    parser.add_argument(
        "--session-minutes", type=float, default=15.0, help="how long a resident session lasts after sign-in"
    )
    parser.add_argument(
        "--video-cap-kbps", type=int, default=0, help="the most each participant's video may send (0: no cap)"
    )
    parser.add_argument("--demo", action="store_true", help="seed the demo data set into a new database")
    parser.add_argument("--demo-visit-seconds", type=float, default=1800.0)
    args = parser.parse_args(argv)
    if (args.tls_cert is None) != (args.tls_key is None):
        parser.error("--tls-cert and --tls-key go together")
    facility_ca = args.facility_ca.read_text() if args.facility_ca else None
    facility = args.facility_name or (FACILITY if args.demo else None)
    if not facility:
        parser.error("--facility-name is required")

    configure_logging()
    args.state.mkdir(parents=True, exist_ok=True)
    sqlite_file = args.state / "central.sqlite3"
    store = Store(args.database or sqlite_file)
    if args.demo and not store.terminals():
        seed(store, args.state, args.demo_visit_seconds)
    staff_token_file = args.state / "staff-token"
    staff_token = _read_secret(staff_token_file) if staff_token_file.exists() else ""
    admin_key = _read_secret(args.janus_admin_key_file) if args.janus_admin_key_file else ""
    if args.video_cap_kbps < 0:
        parser.error("--video-cap-kbps must be 0 (no cap) or more")
    rooms = RoomAdmin(
        args.janus_url,
        admin_key,
        args.state / "recordings",
        verify=str(args.facility_ca) if args.facility_ca else True,
        video_cap_kbps=args.video_cap_kbps,
    )
    rules = VisitRules(
        join_early_s=args.join_early_minutes * 60,
        warnings_s=tuple(round(m * 60) for m in args.warning_minutes),
        lockout_failures=args.lockout_failures,
        lockout_s=args.lockout_minutes * 60,
        session_ttl_s=args.session_minutes * 60,
    )
    visits = Visits(store, rooms, args.janus_public_url or args.janus_url, rules)
    clock = VisitClock(visits, store)
    clock.start()
    keeper = RoomKeeper(visits)
    keeper.start()
    try:
        uvicorn.run(
            create_app(store, visits, staff_token, facility, facility_ca),
            host=args.host,
            port=args.port,
            ssl_certfile=args.tls_cert,
            ssl_keyfile=args.tls_key,
            log_level="warning",
            timeout_graceful_shutdown=2,
        )
    finally:
        keeper.stop()
        clock.stop()


if __name__ == "__main__":
    main()

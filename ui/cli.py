"""`kiosk`: the terminal's command. It reads its arguments and the configuration, then hands over to the program
asked for, loading Qt and the media stack only for those that show a screen: a configuration the kiosk cannot use
is refused before any of that loads (systemd's restarts then reach the out-of-service screen sooner), and
`report-out-of-service`, run by its own unit, never loads them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kiosk import __version__
from kiosk.config import ConfigError, load_config, read_private_key, read_technician_pin, read_token
from kiosk.logs import configure_logging

DEFAULT_CONFIG = Path("/etc/kiosk/kiosk.toml")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kiosk", description="The video-visitation terminal.")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--version", action="version", version=f"kiosk {__version__}")
    parser.add_argument("--simulator-panel", action="store_true", help="show buttons for the simulated handset")
    parser.add_argument(
        "command",
        nargs="?",
        choices=["run", "devices", "out-of-service", "report-out-of-service"],
        default="run",
        help="run the terminal (default), list the devices it finds and their health, show only the "
        "out-of-service screen (what systemd falls back to when the terminal keeps failing), or tell central "
        "the terminal is out of service",
    )
    args = parser.parse_args(argv)
    configure_logging()
    if args.command == "report-out-of-service":
        from kiosk.out_of_service_report import report_out_of_service

        return report_out_of_service(args.config)
    if args.command == "out-of-service":
        from ui.out_of_service_app import run_out_of_service

        return run_out_of_service(args.config)
    try:
        config = load_config(args.config)
        if args.command == "devices":
            from kiosk.device_list import list_devices

            return list_devices(config)
        token, key = read_token(config), read_private_key(config)
        technician_pin = read_technician_pin(config)
    except ConfigError as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return 2
    from ui.app import run_kiosk

    return run_kiosk(config, token, key, technician_pin, simulator_panel=args.simulator_panel)


if __name__ == "__main__":
    sys.exit(main())

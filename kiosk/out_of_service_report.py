"""`kiosk report-out-of-service`: tells central that this terminal's software keeps failing, so that the officers'
page says so and the out-of-service screen's "Staff have been told" is true.

It runs in a unit of its own (systemd/kiosk-report-out-of-service.service), started with the out-of-service
screen, as a user systemd makes up for the run: the terminal's token and key reach it as systemd credentials
(`$CREDENTIALS_DIRECTORY`, named as the files they came from), readable by that user alone. It opens no device and
needs no screen. The kiosk's own next heartbeat, once it runs again, clears the report.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

from kiosk import __version__
from kiosk.central_client import CentralClient, CentralError
from kiosk.config import ConfigError, KioskConfig, load_config, read_private_key, read_token
from kiosk.protocol import SOFTWARE_PART, Heartbeat

log = logging.getLogger(__name__)

CREDENTIALS = "CREDENTIALS_DIRECTORY"
STOPPED = "lost"  # the heartbeat's word for a part that stopped (kiosk.protocol.Heartbeat)


def with_credentials(config: KioskConfig, folder: Path) -> KioskConfig:
    """The configuration, its token and key taken from systemd's credentials folder instead of their files."""
    central = config.central
    key_file = folder / central.key_file.name if central.key_file else None
    moved = central.model_copy(update={"token_file": folder / central.token_file.name, "key_file": key_file})
    return config.model_copy(update={"central": moved})


def report_out_of_service(config_path: Path, environ: Mapping[str, str] = os.environ) -> int:
    """0 once central has the report; 1 when central could not be told (systemd tries again); 2 for a
    configuration or credential this cannot use."""
    try:
        config = load_config(config_path)
        if folder := environ.get(CREDENTIALS):
            config = with_credentials(config, Path(folder))
        token, key = read_token(config), read_private_key(config)
    except ConfigError as exc:
        log.error("cannot tell central the terminal is out of service: %s", exc)
        return 2
    try:
        report = Heartbeat(version=__version__, health={SOFTWARE_PART: STOPPED})
        CentralClient.for_terminal(config.central, token, key).heartbeat(report)
    except CentralError as exc:
        log.warning("central could not be told the terminal is out of service: %s", exc)
        return 1
    log.info("central was told the terminal is out of service")
    return 0

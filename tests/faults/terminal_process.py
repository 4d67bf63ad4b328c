"""The terminal core with simulated devices in a process of its own, for the faults that end a process (kill -9):
it prints what the terminal shows as one JSON line every 0.1 s on standard output.

    python -m tests.faults.terminal_process --central URL --token-file F --ca-file F [--enter] [--lifted]

`--enter` walks the demo resident into the ready visit; `--lifted` starts with the handset off its hook, as it
still is when a terminal restarts in the middle of a visit.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from kiosk.logs import configure_logging
from tests.conftest import kiosk_config
from tests.terminal_harness import HarnessTerminal
from tests.test_e2e_visit import enter_visit


def _shown(kiosk: HarnessTerminal) -> dict[str, object]:
    state = kiosk.state
    return {
        "screen": state.screen.value,
        "busy": state.busy,
        "call": state.call.value if state.call else None,
        "visit_id": state.live.visit_id if state.live else None,
        "seconds_left": state.live.ends_at - time.monotonic() if state.live else None,
        "frames": len(kiosk.received.counters),
        "ended": state.ended.reason.value if state.ended else None,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--central", required=True)
    parser.add_argument("--token-file", type=Path, required=True)
    parser.add_argument("--ca-file", type=Path, required=True)
    parser.add_argument("--enter", action="store_true")
    parser.add_argument("--lifted", action="store_true")
    args = parser.parse_args(argv)
    configure_logging()  # to standard error
    config = kiosk_config(args.central, args.token_file)
    config = config.model_copy(update={"central": config.central.model_copy(update={"ca_file": args.ca_file})})
    kiosk = HarnessTerminal(config, args.token_file.read_text().strip(), lifted=args.lifted)
    if args.enter:
        enter_visit(kiosk)
    while True:  # until killed
        print(json.dumps(_shown(kiosk)), flush=True)
        time.sleep(0.1)


if __name__ == "__main__":
    sys.exit(main())

"""The screens' translations: builds each ui/translations/*.ts into the .qm file the terminal loads, or
(with --update) brings the .ts files up to date with the sentences in the code, for a translator to finish.

`python -m ui.build_translations [--update]`; the set-up (`./dev.sh`) and the image build run it.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from ui.i18n import TRANSLATIONS

UI = Path(__file__).parent


def _tool(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def sources() -> list[str]:
    return [str(path) for path in sorted(UI.rglob("*.py"))]


def update_command(ts_file: Path) -> list[str]:
    """pyside6-lupdate, keeping the translations there are; English keeps only its plural forms."""
    plural_only = ["-pluralonly"] if ts_file.stem.endswith("_en") else []
    return [
        _tool("pyside6-lupdate"),
        *sources(),
        "-no-obsolete",
        "-locations",
        "none",
        *plural_only,
        "-ts",
        str(ts_file),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update", action="store_true", help="refresh the .ts files from the code first")
    args = parser.parse_args(argv)
    for ts_file in sorted(TRANSLATIONS.glob("*.ts")):
        if args.update:
            subprocess.run(update_command(ts_file), check=True)
        qm_file = ts_file.with_suffix(".qm")
        subprocess.run([_tool("pyside6-lrelease"), "-silent", str(ts_file), "-qm", str(qm_file)], check=True)
        print(f"built {qm_file.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

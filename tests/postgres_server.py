"""A real PostgreSQL server from Debian's packages, started for the test session in a temporary folder.

It runs as the unprivileged `postgres` user (PostgreSQL refuses root), listens on 127.0.0.1 only,
and dies with the test process.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

from central.child_process import start_tied, stop
from central.server_process import free_port


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError("PostgreSQL is not installed: run 'apt-get install postgresql'")
    return found[-1]


class PostgresServer:
    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="kiosk-pg-"))
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self._process: subprocess.Popen[bytes] | None = None

    def _as_postgres(self, *args: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else list(args)

    def start(self, timeout: float = 30.0) -> None:
        data = self.folder / "data"
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        subprocess.run(
            self._as_postgres(_bin("initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"),
            check=True,
            capture_output=True,
        )
        self._process = start_tied(
            self._as_postgres(
                _bin("postgres"),
                "-D",
                str(data),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-k",
                str(self.folder),
                "-c",
                "fsync=off",
            ),
            Path(tempfile.gettempdir()) / f"kiosk-pg-{self.port}.log",
        )
        deadline = time.monotonic() + timeout
        while True:
            try:
                psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres").close()
                return
            except psycopg.OperationalError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("PostgreSQL did not start") from None
                time.sleep(0.1)

    def create_database(self, name: str) -> str:
        """A fresh, empty database; returns its SQLAlchemy URL."""
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True) as db:
            db.execute(f'CREATE DATABASE "{name}"')
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def stop(self) -> None:
        """PostgreSQL's immediate shutdown (SIGQUIT to the postmaster: no waiting for clients, no final checkpoint;
        the data folder goes next anyway). A SIGTERM to our child would reach runuser, which passes it on as a
        smart shutdown (waiting for every client) and kills the server only 2 s later."""
        if self._process is not None and self._process.poll() is None:
            try:
                postmaster = int((self.folder / "data" / "postmaster.pid").read_text().split()[0])
                os.kill(postmaster, signal.SIGQUIT)
                self._process.wait(timeout=10)
            except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
                pass  # not started that far, or stuck: stop() below terminates it, then kills it
        stop(self._process)
        shutil.rmtree(self.folder, ignore_errors=True)

"""DeviceReader: a thread that reads a device node until the device goes away, handing each chunk to a handler.

What every raw device driver shares: poll, read, notice an unplug, report it, and close without a race.
"""

from __future__ import annotations

import errno
import logging
import os
import select
import threading
from collections.abc import Callable
from typing import ClassVar

log = logging.getLogger(__name__)


class DeviceReader:
    """Reads a device's file descriptor (or, in tests, a pipe's) on its own thread and hands each chunk read,
    at most `read_size` bytes, to `_handle_chunk`, in order, on that thread. A driver subclasses it and
    implements `_handle_chunk`.

    When the device goes away (end of file, or a read error such as ENODEV) the thread ends, `lost` is set
    and `on_lost` is called on the reader thread; a close does neither. A chunk `_handle_chunk` raises on is
    skipped and reading goes on: `_skipped` is called with it inside the exception handler, so it may log it.
    """

    read_size: ClassVar[int] = 4096

    def __init__(self, fd: int, *, label: str, thread_name: str, on_lost: Callable[[], None] | None = None) -> None:
        """Takes ownership of `fd` and starts reading at once; a subclass calls this last, once the state its
        `_handle_chunk` uses is set. `label` names the device in log lines."""
        self.label = label
        self.lost = threading.Event()
        self._on_lost = on_lost
        self._closing = False
        self._fd = fd
        self._wake_read, self._wake_write = os.pipe2(os.O_CLOEXEC)
        self._thread = threading.Thread(target=self._run, name=thread_name, daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stops reading and closes the file descriptor; `on_lost` is not called for a close. A second call
        does nothing."""
        if self._closing:
            return
        self._closing = True
        os.write(self._wake_write, b"x")
        if threading.current_thread() is not self._thread:
            self._thread.join()
        os.close(self._wake_read)
        os.close(self._wake_write)

    def _handle_chunk(self, data: bytes) -> None:
        raise NotImplementedError

    def _skipped(self, data: bytes) -> None:
        log.exception("%s: %d bytes skipped", self.label, len(data))

    def _run(self) -> None:
        poller = select.poll()
        poller.register(self._fd, select.POLLIN)  # POLLHUP and POLLERR are always reported
        poller.register(self._wake_read, select.POLLIN)
        reason = ""
        try:
            while not reason:
                ready = dict(poller.poll())
                if self._wake_read in ready:
                    return
                try:
                    data = os.read(self._fd, self.read_size)
                except BlockingIOError:
                    continue
                except OSError as error:  # ENODEV or EIO once the device is unplugged
                    reason = errno.errorcode.get(error.errno or 0, str(error))
                    continue
                if not data:
                    reason = "end of file"
                    continue
                try:
                    self._handle_chunk(data)
                except Exception:  # a reading we cannot use must not stop the ones after it
                    self._skipped(data)
        finally:
            os.close(self._fd)
        log.warning("%s lost (%s)", self.label, reason)
        self.lost.set()
        if self._on_lost is not None:
            try:
                self._on_lost()
            except Exception:
                log.exception("%s: the lost-device handler failed", self.label)

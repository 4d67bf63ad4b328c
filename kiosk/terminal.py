"""The terminal: runs the visit state machine on the core loop and carries out its commands
(central requests in order, the call engine, central's pushed events), publishing each new state.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import logging
import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import numpy as np

from drivers.camera import Camera
from kiosk.audit_journal import AuditJournal
from kiosk.audit_trail import audit_entries
from kiosk.call_engine import CallEngine, RemoteFeed, RoomAccess
from kiosk.call_quality import Quality
from kiosk.call_status import CallStatus
from kiosk.central_client import CentralClient, CentralError
from kiosk.chimes import ChimePlayer, chimes_for
from kiosk.config import LANGUAGES, KioskConfig
from kiosk.core_loop import CoreLoop
from kiosk.device_watch import DeviceWatch
from kiosk.devices import TerminalHandset, device_reports
from kiosk.end_reports import EndReports
from kiosk.liveness import CENTRAL_EVENTS, UPKEEP
from kiosk.process_settings import release_freed_memory
from kiosk.protocol import EndReason, EndVisitRequest, RoomGrant, TerminalEventType, VisitQuality
from kiosk.upkeep import Upkeep
from kiosk.visit_machine import (
    VOLUME_GAINS,
    CallQualityChanged,
    CallStatusChanged,
    CheckTechnicianPin,
    Command,
    DevicesChanged,
    Event,
    HookChanged,
    Identified,
    Identify,
    IdleInfoArrived,
    Logout,
    OpenVisit,
    ReportEnd,
    RequestFailed,
    ResumeCall,
    ResumeVisit,
    RoomClosed,
    StaffMessage,
    StartCall,
    StopCall,
    TechnicianPinChecked,
    TerminalState,
    Tick,
    VisitEndedByCentral,
    VisitMachine,
    VisitOpened,
)
from kiosk.visit_record import ALIVE_EVERY_S, VisitRecord

log = logging.getLogger(__name__)


class TerminalListener(Protocol):
    """Called on the core thread; a UI hands these to its own thread."""

    def on_state(self, state: TerminalState) -> None: ...

    def on_remote_video(self, feed: RemoteFeed, i420: np.ndarray) -> None: ...

    def on_remote_left(self, feed: RemoteFeed) -> None: ...


def watchdog_allowances(config: KioskConfig) -> dict[str, float]:
    """How long the terminal's network threads may rightly go without a beat: the upkeep's round can wait out a few
    requests' time-outs, the events poll its long wait and one time-out."""
    timeout = config.central.timeout_s
    return {UPKEEP: 4 * timeout + Upkeep.ROUND_S, CENTRAL_EVENTS: config.central.poll_wait_s + timeout + 5.0}


class Terminal:
    def __init__(
        self,
        config: KioskConfig,
        central: CentralClient,
        camera: Camera,
        handset: TerminalHandset,
        core: CoreLoop,
        listener: TerminalListener,
        watch: DeviceWatch | None = None,
        technician_pin: str | None = None,
        beat: Callable[[str], None] = lambda part: None,
    ) -> None:
        """`beat`: the watchdog's (`kiosk.liveness`), for the upkeep thread and central's events poll."""
        self._config = config
        self._central = central
        self._camera = camera
        self._handset = handset
        self.chimes = ChimePlayer(handset.earpiece)
        self._watch = watch
        self._core = core
        self._listener = listener
        self._technician_pin = technician_pin
        self.machine = VisitMachine(config.timeouts, config.screen.language, LANGUAGES, technician_pin is not None)
        self._tick: asyncio.TimerHandle | None = None
        self._requests: asyncio.Queue[Callable[[], Any]] | None = None
        self.call: CallEngine | None = None
        self.calls_finished = 0  # calls stopped and their memory handed back
        self.janus_url: str | None = None
        self._media_lost_s = 0.0
        self._quality_report: VisitQuality | None = None
        self._stop_polling = threading.Event()
        self.journal = AuditJournal(config.terminal.state_dir / "audit")
        self.end_reports = EndReports(config.terminal.state_dir / "end-reports")
        self.visit_record = VisitRecord(config.terminal.state_dir)
        self._beat = beat
        self.upkeep = Upkeep(
            central,
            self.journal,
            self.end_reports,
            self.health,
            lambda info: self.post(IdleInfoArrived(info)),
            beat=lambda: beat(UPKEEP),
        )
        handset.hook.add_listener(lambda lifted: self.post(HookChanged(lifted)))

    # -- lifecycle --------------------------------------------------------------------------------

    def start(self) -> None:
        self.journal.record("terminal_started")
        self.upkeep.start()
        self._camera.start()
        self._core.call_soon(self._start_on_loop)
        if self._watch is not None:
            self._watch.start(self._devices_changed)
        threading.Thread(target=self._poll_central_events, name="central-events", daemon=True).start()

    def _start_on_loop(self) -> None:
        self._requests = asyncio.Queue()
        asyncio.get_running_loop().create_task(self._run_requests())
        self._handle(HookChanged(self._handset.hook.lifted))
        self._take_up_interrupted_visit()

    def _take_up_interrupted_visit(self) -> None:
        """A visit was in progress when the terminal stopped (a crash, power lost): take it up again if the person
        can still be in it, else tell central how it ended."""
        record = self.visit_record.read()
        if record is None:
            return
        now, lifted = time.time(), self._handset.hook.lifted
        if record.resumable(now, lifted):
            log.info("visit %d was in progress at a restart: taking it up again", record.visit_id)
            self._handle(ResumeVisit(record.visit_id))
            return
        if now >= record.ends_at:
            reason = EndReason.TIME_UP
        else:
            reason = EndReason.CONNECTION_FAILED if lifted else EndReason.HUNG_UP
        lost = max(0.0, min(now, record.ends_at) - record.alive_at)
        log.info("visit %d was in progress at a restart and is over: %s", record.visit_id, reason.value)
        self.end_reports.add(record.visit_id, EndVisitRequest(reason=reason, media_lost_s=round(lost, 3)))
        self.journal.record("visit_ended", record.visit_id, reason=reason.value, after_restart=True)
        self.visit_record.clear()
        self.upkeep.upload_soon()

    def _devices_changed(self, missing: tuple[str, ...]) -> None:
        self.post(DevicesChanged(missing))
        self.upkeep.heartbeat_soon()

    def health(self) -> dict[str, str]:
        """Each device's state for the heartbeat: the drivers' own view, and the watch's where it has one."""
        states = {report.name: report.state for report in device_reports(self._camera, self._handset)}
        if self._watch is not None:
            states.update({s.kind.value: s.state.value for s in self._watch.statuses() if s.required})
        return states

    def stop(self) -> None:
        self.chimes.stop()
        self.upkeep.stop()
        if self._watch is not None:
            self._watch.stop()
        self._stop_polling.set()
        call, self.call = self.call, None
        if call is not None:
            self._core.submit(call.stop()).result(timeout=10)
        self._camera.stop()

    def post(self, event: Event) -> None:
        """Thread-safe: queue an event for the machine."""
        self._core.call_soon(self._handle, event)

    # -- the machine ------------------------------------------------------------------------------

    def _handle(self, event: Event) -> None:
        try:
            before = self.machine.snapshot()
            for command in self.machine.handle(event, time.monotonic()):
                self._carry_out(command)
            after = self.machine.snapshot()
            if after.volume != before.volume:
                self._handset.earpiece.set_volume(VOLUME_GAINS[after.volume])
            self._audit(before, event, after)
            self.chimes.play(chimes_for(before, event, after))  # what the screen says, the handset also says
        except Exception:
            # A fault in one event must not take the terminal down; the repr of events and
            # commands hides PINs and tokens, so the log carries no personal data.
            log.exception("handling %r failed", event)
        self._listener.on_state(self.machine.snapshot())
        self._schedule_tick()

    def _audit(self, before: TerminalState, event: Event, after: TerminalState) -> None:
        entries = audit_entries(before, event, after)
        for entry in entries:
            detail = dict(entry.detail)
            if entry.kind == "visit_ended":
                detail["media_lost_s"] = round(self._media_lost_s, 3)
            self.journal.record(entry.kind, entry.visit_id, **detail)
        if entries:
            self.upkeep.upload_soon()

    def _schedule_tick(self) -> None:
        if self._tick is not None:
            self._tick.cancel()
            self._tick = None
        deadline = self.machine.next_deadline()
        if deadline is not None:
            self._tick = asyncio.get_running_loop().call_at(deadline, self._handle, Tick())

    def _carry_out(self, command: Command) -> None:
        if isinstance(command, Identify):
            self._request(lambda: Identified(self._central.identify(command.resident_id, command.pin)))
        elif isinstance(command, OpenVisit):
            self._request(lambda: VisitOpened(self._central.open_visit(command.session, command.visit_id)))
        elif isinstance(command, StartCall):
            self._start_call(command)
        elif isinstance(command, StopCall):
            self._stop_call()
        elif isinstance(command, ReportEnd):
            report = EndVisitRequest(
                reason=command.reason, media_lost_s=round(self._media_lost_s, 3), quality=self._quality_report
            )
            self.end_reports.add(command.visit_id, report)
            self.upkeep.upload_soon()
        elif isinstance(command, Logout):
            self._request(lambda: self._central.logout(command.session))
        elif isinstance(command, ResumeCall):
            self._request(lambda: VisitOpened(self._central.resume_visit(command.visit_id)))
        elif isinstance(command, CheckTechnicianPin):
            expected = (self._technician_pin or "").encode()
            self.post(TechnicianPinChecked(bool(expected) and hmac.compare_digest(command.pin.encode(), expected)))

    # -- central requests, one at a time and in order ---------------------------------------------

    def _request(self, call: Callable[[], Any]) -> None:
        assert self._requests is not None
        self._requests.put_nowait(call)

    async def _run_requests(self) -> None:
        assert self._requests is not None
        while True:
            call = await self._requests.get()
            try:
                result = await asyncio.to_thread(call)
            except CentralError as exc:
                log.warning("central request failed: %s", exc)
                until = (
                    datetime.now(UTC) + timedelta(seconds=exc.retry_after_s) if exc.retry_after_s is not None else None
                )
                result = RequestFailed(exc.code, until)
            except Exception:
                # Whatever went wrong, the queue must keep serving the next person.
                log.exception("central request raised")
                result = RequestFailed(None)
            if isinstance(result, Identified | VisitOpened | RequestFailed):
                self._handle(result)

    def _poll_central_events(self) -> None:
        after, away = -1, False
        while not self._stop_polling.is_set():
            self._beat(CENTRAL_EVENTS)
            try:
                batch = self._central.events(after, self._config.central.poll_wait_s)
            except CentralError as exc:
                if self._stop_polling.is_set():
                    return
                if not away:  # once per outage: the log must not fill while central is away
                    log.warning("central events: %s", exc)
                away = True
                # Staff's words and ends must reach the person within two seconds of central's return, so the
                # pause stays short; its spread keeps a facility's terminals from asking all at one instant.
                self._stop_polling.wait(random.uniform(0.5, 1.0))
                continue
            if away:
                log.info("central events: central answers again")
                away = False
            if batch.next_after < after:
                # Central's sequence went back (its database was restored or replaced): follow it from where it is.
                log.warning("central's event sequence went back from %d to %d: resynchronised", after, batch.next_after)
            after = batch.next_after
            for event in batch.events:
                if event.type is TerminalEventType.STAFF_MESSAGE:
                    self.post(StaffMessage(event.visit_id, event.message))
                elif event.reason is not None:
                    self.post(VisitEndedByCentral(event.visit_id, event.reason, event.message))

    # -- the call ---------------------------------------------------------------------------------

    def _start_call(self, command: StartCall) -> None:
        grant = command.grant
        self.janus_url = grant.janus_url  # the technician's network check tries the last one used
        self._media_lost_s = 0.0
        self._quality_report = None
        self.visit_record.write(grant.visit_id, grant.ends_at.timestamp())
        self.call = CallEngine(
            RoomAccess(grant.janus_url, grant.room, grant.pin, grant.display),
            self._camera,
            self._handset.microphone,
            self._handset.earpiece,
            self,
            ice_servers=self._config.media.ice_servers,
            # The facility's CA signs Janus's certificate as it signs central's.
            janus_verify=str(self._config.central.ca_file) if self._config.central.ca_file else True,
            tell_reception=functools.partial(self._central.reception, grant.visit_id),
        )
        self.call.start()
        asyncio.get_running_loop().create_task(self._keep_record_alive(self.call, grant))

    async def _keep_record_alive(self, call: CallEngine, grant: RoomGrant) -> None:
        """Says in the visit's record, every few seconds, that the terminal is alive in the visit."""
        while True:
            await asyncio.sleep(ALIVE_EVERY_S)
            if self.call is not call:
                return
            await asyncio.to_thread(self.visit_record.write, grant.visit_id, grant.ends_at.timestamp())

    def _stop_call(self) -> None:
        call, self.call = self.call, None
        self.visit_record.clear()
        if call is not None:
            self._media_lost_s = call.media_lost_seconds
            self._quality_report = call.quality.report(call.reconnects, call.outages)
            asyncio.get_running_loop().create_task(self._finish_call(call))

    async def _finish_call(self, call: CallEngine) -> None:
        await call.stop()
        release_freed_memory()
        self.calls_finished += 1

    # -- the call engine's listener (called on the core loop) -------------------------------------

    def on_call_status(self, status: CallStatus) -> None:
        if status is not CallStatus.CLOSED:
            self._handle(CallStatusChanged(status))

    def on_remote_video(self, feed: RemoteFeed, i420: np.ndarray) -> None:
        self._listener.on_remote_video(feed, i420)

    def on_remote_left(self, feed: RemoteFeed) -> None:
        self._listener.on_remote_left(feed)

    def on_room_closed(self) -> None:
        self._handle(RoomClosed())

    def on_call_quality(self, quality: Quality) -> None:
        self._handle(CallQualityChanged(quality))

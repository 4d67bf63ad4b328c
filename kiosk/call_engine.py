"""The call engine: publishes the camera and microphone to a visit's Janus room and subscribes to
every other participant, rebuilding its peer connections with backoff whenever media is lost.

It runs on the core asyncio loop. The visit (its clock, its screen) lives elsewhere and outlives the
peer connections built here; the engine only reports its status and how long media was lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from aiortc import RTCConfiguration, RTCDtlsTransport, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import VIDEO_CLOCK_RATE as VIDEO_CLOCK
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.stats import (
    RTCInboundRtpStreamStats,
    RTCOutboundRtpStreamStats,
    RTCRemoteInboundRtpStreamStats,
    RTCStatsReport,
)

from drivers.camera import Camera
from drivers.handset import BufferingEarpiece, Earpiece, Microphone
from kiosk.audio_level import use_numpy_audio_level
from kiosk.bitrate_control import BitrateControl
from kiosk.call_codecs import encoders_of, start_video_at, use_call_codecs
from kiosk.call_quality import CallQuality, Quality
from kiosk.call_status import CallStatus
from kiosk.janus_client import NO_SUCH_SESSION, JanusError, JanusEvent, JanusSession, janus_answers
from kiosk.jitter_buffers import use_for
from kiosk.media_tracks import CameraTrack, MicrophoneTrack
from kiosk.opus_voice import VoiceEncoder
from kiosk.picture_playout import PicturePlayout
from kiosk.pictures import i420_of
from kiosk.reception_share import Tell, share_reception
from kiosk.send_queue import SendQueue
from kiosk.transport_cc import Delivery, listen_for_feedback, offer_transport_numbers
from kiosk.video_encoder import LEAST_BPS, START_BPS, SteppedVp8Encoder
from kiosk.video_pacer import VideoPacer, pace_video

log = logging.getLogger(__name__)

NO_SUCH_FEED = 428
ROOM_GONE_CODES = {426, 427}  # no such room / room destroyed
# The link to Janus is probed twice a second over a fresh connection, unless a visitor's media has just come
# through it (a probe's TCP and TLS handshakes took about a tenth of a 250 kbps link); silence for longer than
# LINK_SILENT_AFTER_S (no answer to a probe and no visitor's media: a lossy link loses probes, not all of both) is an
# outage, shown at once (ICE consent would take 30 s to notice). After the link returns, the old connections
# are kept when the visitors' media comes back on them within MEDIA_RESUME_WAIT_S, and rebuilt once otherwise.
LINK_PROBE_EVERY_S = 0.5
LINK_PROBE_TIMEOUT_S = 1.0
LINK_SILENT_AFTER_S = 1.25
MEDIA_RESUME_WAIT_S = 1.0
OWN_CONNECTION_FIRST_S = 5.0  # the most the visitors' video waits for our own connection's handshake
_FORCE_KEYFRAME = "_RTCRtpSender__force_keyframe"


@dataclass(frozen=True)
class RoomAccess:
    """What a participant needs to join a visit's room; central hands it out, never the room secret."""

    janus_url: str
    room: int
    pin: str
    display: str


@dataclass(frozen=True)
class RemoteFeed:
    feed_id: int
    display: str


class CallListener(Protocol):
    """Callbacks run on the core loop; implementations hand work to their own thread if needed."""

    def on_call_status(self, status: CallStatus) -> None: ...

    def on_remote_video(self, feed: RemoteFeed, i420: np.ndarray) -> None:
        """A visitor's decoded picture, in the decoder's layout (`kiosk.pictures`)."""

    def on_remote_left(self, feed: RemoteFeed) -> None: ...

    def on_room_closed(self) -> None: ...

    def on_call_quality(self, quality: Quality) -> None:
        """The call's quality over the last seconds changed (good, weak, poor)."""


class _MediaLost(Exception):
    """The connection to the media server broke; the engine will rebuild it."""


class _RoomClosed(Exception):
    """Central closed the room: the visit is over for every participant."""


@dataclass
class _Subscription:
    feed: RemoteFeed
    handle: int
    pc: RTCPeerConnection
    tasks: list[asyncio.Task[None]]


class CallEngine:
    def __init__(
        self,
        access: RoomAccess,
        camera: Camera,
        microphone: Microphone,
        earpiece: Earpiece,
        listener: CallListener,
        ice_servers: tuple[str, ...] = (),
        janus_verify: bool | str = True,
        max_backoff_s: float = 2.0,
        visit_over: Callable[[], bool] | None = None,
        tell_reception: Tell | None = None,
    ) -> None:
        """`visit_over`: asks central (blocking) whether the visit ended, when the room is found gone; without it,
        the engine rejoins until it is stopped or sees the room destroyed. `tell_reception`: sends central what this
        participant received (blocking) and returns the cap on its own video (`kiosk.reception_share`)."""
        self._access = access
        self._camera = camera
        self._microphone = microphone
        self._earpiece = earpiece
        # How long the visitors' sound waits in the earpiece before it is heard: their pictures wait as long.
        self._sound_delay_s = earpiece.delay_s if isinstance(earpiece, BufferingEarpiece) else lambda: 0.0
        self._listener = listener
        self._rtc_config = RTCConfiguration(iceServers=[RTCIceServer(urls=url) for url in ice_servers])
        self._janus_verify = janus_verify
        self._max_backoff_s = max_backoff_s
        self._visit_over = visit_over
        self._tell_reception = tell_reception
        self._janus: JanusSession | None = None
        self._publisher_pc: RTCPeerConnection | None = None
        self._tracks: list[MediaStreamTrack] = []
        self._subscriptions: dict[int, _Subscription] = {}
        # Visitors who joined after us but before our own connection was up: subscribed to once it is.
        self._early_publishers: dict[str, dict[str, Any]] | None = {}  # by id, as text: Janus's ids are not checked
        self._events: dict[int, asyncio.Queue[JanusEvent]] = {}
        self._failure: asyncio.Future[Exception] | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._status = CallStatus.CONNECTING
        self._lost_since: float | None = None
        self._lost_total = 0.0
        self._last_heard = 0.0  # monotonic: Janus last answered a probe, or a visitor's media last arrived
        self._last_media = 0.0  # monotonic: a visitor's audio or video last arrived
        self._call_codecs = False  # the call's own codecs (kiosk.call_codecs) are in use
        self._pacer: VideoPacer | None = None
        self._bitrate = BitrateControl()
        self._video_sent: tuple[float, int] | None = None  # (when, bytes): the video sent, at the last report
        self._last_video = 0.0  # monotonic: a visitor's picture last arrived
        self._poller = 0  # the current Janus poll loop's number; an older one stops after its request
        self._link_tasks: list[asyncio.Task[None]] = []
        self._probes = ThreadPoolExecutor(1, thread_name_prefix="janus-probe")  # never queued behind signalling
        self.reconnects = 0
        self.outages = 0  # times the link went silent and the call showed it
        self.quality = CallQuality()
        self._rated: Quality | None = None

    # -- public -----------------------------------------------------------------------------------

    @property
    def status(self) -> CallStatus:
        return self._status

    @property
    def media_lost_seconds(self) -> float:
        ongoing = time.monotonic() - self._lost_since if self._lost_since is not None else 0.0
        return self._lost_total + ongoing

    def start(self) -> None:
        use_numpy_audio_level()
        self._call_codecs = use_call_codecs()
        offer_transport_numbers()
        self._supervisor = asyncio.get_running_loop().create_task(self._supervise())

    async def stop(self) -> None:
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
            self._supervisor = None
        await self._teardown(leave_now=True)
        self._probes.shutdown(wait=False)
        self._set_status(CallStatus.CLOSED)

    def drop_media(self) -> None:
        """Forces a rebuild of every connection, as a network fault would (used by fault drills)."""
        self._fail(_MediaLost("dropped on request"))

    # -- supervision ------------------------------------------------------------------------------

    async def _supervise(self) -> None:
        attempt = 0
        while True:
            self._failure = asyncio.get_running_loop().create_future()
            try:
                await self._connect()
                attempt = 0
                raise await self._failure
            except _RoomClosed:
                await self._teardown(leave_now=True)
                self._set_status(CallStatus.CLOSED)
                self._listener.on_room_closed()
                return
            except Exception as exc:
                # Whatever broke (network, Janus, a malformed answer, aiortc), the visit goes on:
                # rebuild every connection with backoff.
                log.warning("call media lost (%s): %s", type(exc).__name__, exc)
                if await self._room_gone_for_good(exc):
                    await self._teardown(leave_now=True)
                    self._set_status(CallStatus.CLOSED)
                    self._listener.on_room_closed()
                    return
            await self._teardown()
            self.reconnects += 1
            self._set_status(CallStatus.RECONNECTING)
            await self._until_janus_answers()
            if attempt:
                # Janus answers, yet the last rebuild failed: do not hammer it.
                await asyncio.sleep(min(self._max_backoff_s, 0.25 * 2 ** (attempt - 1)))
            attempt += 1

    async def _room_gone_for_good(self, exc: Exception) -> bool:
        """A room Janus does not have is made anew by central after a Janus restart: it is gone for good only when
        central says the visit is over (asked through `visit_over`, where the participant has a way to ask)."""
        if not isinstance(exc, JanusError) or exc.code not in ROOM_GONE_CODES or self._visit_over is None:
            return False
        try:
            return await asyncio.to_thread(self._visit_over)
        except Exception as error:  # central away: keep trying to rejoin, the visit may well go on
            log.warning("could not ask whether the visit is over: %s", error)
            return False

    async def _until_janus_answers(self) -> None:
        """Rebuilding while the network is cut only piles up timeouts; rebuild the moment Janus answers again."""
        loop = asyncio.get_running_loop()
        url, verify = self._access.janus_url, self._janus_verify
        while not await loop.run_in_executor(self._probes, janus_answers, url, LINK_PROBE_TIMEOUT_S, verify):
            await asyncio.sleep(LINK_PROBE_EVERY_S)

    def _fail(self, exc: Exception) -> None:
        if self._failure is not None and not self._failure.done():
            self._failure.set_result(exc)

    def _set_status(self, status: CallStatus, since: float | None = None) -> None:
        """`since`: when the media really stopped, if before now (the last time Janus was heard)."""
        now = time.monotonic()
        if status is CallStatus.RECONNECTING and self._lost_since is None:
            self._lost_since = now if since is None else since
        if status is CallStatus.CONNECTED and self._lost_since is not None:
            self._lost_total += now - self._lost_since
            self._lost_since = None
        if status is not self._status:
            self._status = status
            self._listener.on_call_status(status)

    # -- Janus signalling -------------------------------------------------------------------------

    async def _janus_call(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.to_thread(fn, *args)

    async def _connect(self) -> None:
        janus = JanusSession(self._access.janus_url, verify=self._janus_verify)
        self._janus = janus
        self._early_publishers = {}
        await self._janus_call(janus.create)
        self._start_poller(janus)
        handle = await self._attach()
        await self._janus_call(
            janus.send,
            handle,
            {
                "request": "join",
                "ptype": "publisher",
                "room": self._access.room,
                "pin": self._access.pin,
                "display": self._access.display,
            },
        )
        joined = await self._next_event(handle, "joined")
        await self._publish(handle)
        # The visitors' video fills a thin downlink at once, and our own connection's handshake, still on its way,
        # is lost in it: on a 250 kbps link it took 3 s, and now and then past the 10 s a visit's start may take
        # (a visitor who joined a moment after us, subscribed to at once, kept it from connecting for 9 s). On a
        # good link the handshake takes 30 ms.
        assert self._publisher_pc is not None
        await _until_connected(self._publisher_pc, OWN_CONNECTION_FIRST_S)
        early, self._early_publishers = self._early_publishers or {}, None
        for publisher in [*joined.data.get("publishers", []), *early.values()]:
            await self._subscribe(publisher)
        self._last_heard = time.monotonic()
        loop = asyncio.get_running_loop()
        self._link_tasks = [
            loop.create_task(self._probe_link(janus)),
            loop.create_task(self._watch_link(janus)),
            loop.create_task(self._measure(janus)),
        ]
        if self._tell_reception is not None:
            shared = share_reception(
                lambda: (self.quality.video_arrivals(), len(self._subscriptions), self.quality.video_queue_s()),
                self._tell_reception,
                self._cap_for_receivers,
                lambda: self._janus is janus,
            )
            self._link_tasks.append(loop.create_task(shared))

    async def _attach(self) -> int:
        assert self._janus is not None
        handle: int = await self._janus_call(self._janus.attach)
        self._events[handle] = asyncio.Queue()
        return handle

    async def _next_event(self, handle: int, videoroom: str, timeout: float = 10.0) -> JanusEvent:
        queue = self._events[handle]
        async with asyncio.timeout(timeout):
            while True:
                event = await queue.get()
                if "error_code" in event.data:
                    # A room Janus does not have (it restarted) is made anew by central: rejoining is right. Only
                    # central ends a visit, through its events or by destroying the room.
                    raise JanusError(event.data.get("error", ""), event.data["error_code"])
                if event.data.get("videoroom") == videoroom:
                    return event

    def _start_poller(self, janus: JanusSession) -> None:
        self._poller += 1
        asyncio.get_running_loop().create_task(self._poll(janus, self._poller))

    async def _poll(self, janus: JanusSession, number: int) -> None:
        while self._janus is janus:
            try:
                events = await self._janus_call(janus.poll)
            except Exception as exc:
                if self._janus is janus and number == self._poller:
                    self._fail(_MediaLost(f"Janus poll: {type(exc).__name__}: {exc}"))
                return
            if self._janus is not janus:
                # A torn-down session's last answer (the hangups of the connections we just closed) is not news
                # about the connections rebuilt since: dispatched, it failed the new ones too.
                return
            for event in events:  # an older loop's last answer on this session still counts: events are not lost
                self._dispatch(event)
            if number != self._poller:
                return

    # -- the link ---------------------------------------------------------------------------------

    async def _probe_link(self, janus: JanusSession) -> None:
        loop = asyncio.get_running_loop()
        while self._janus is janus:
            started = time.monotonic()
            if self._status is CallStatus.CONNECTED and started - self._last_media < LINK_PROBE_EVERY_S:
                await asyncio.sleep(LINK_PROBE_EVERY_S)
                continue
            try:
                await loop.run_in_executor(self._probes, janus.keepalive, LINK_PROBE_TIMEOUT_S)
            except JanusError as exc:
                if exc.code == NO_SUCH_SESSION:  # Janus restarted, or forgot us during a long cut
                    self._fail(_MediaLost("Janus no longer knows the session"))
                    return
            else:
                self._last_heard = time.monotonic()
                if self._status is CallStatus.RECONNECTING:
                    await self._resume(janus)
            await asyncio.sleep(max(0.0, LINK_PROBE_EVERY_S - (time.monotonic() - started)))

    async def _watch_link(self, janus: JanusSession) -> None:
        while self._janus is janus:
            await asyncio.sleep(LINK_PROBE_EVERY_S / 2)
            if self._status is CallStatus.CONNECTED and time.monotonic() - self._last_heard > LINK_SILENT_AFTER_S:
                log.warning("call: Janus silent for %.1f s: reconnecting", time.monotonic() - self._last_heard)
                self.outages += 1
                self._set_status(CallStatus.RECONNECTING, since=self._last_heard)

    async def _measure(self, janus: JanusSession) -> None:
        """Once a second: what Janus reports of our streams, the visitors' jitter, and the chip's word."""
        while self._janus is janus:
            await asyncio.sleep(1.0)
            publisher = self._publisher_pc
            if publisher is not None:
                self._read_janus_reports(publisher, await publisher.getStats())
            for sub in list(self._subscriptions.values()):
                for stats in (await sub.pc.getStats()).values():
                    if isinstance(stats, RTCInboundRtpStreamStats) and stats.kind == "video":
                        self.quality.jitter(stats.jitter / VIDEO_CLOCK)
            rated = self.quality.now() if self._status is CallStatus.CONNECTED else None
            if rated is not None and rated is not self._rated:
                self._rated = rated
                self._listener.on_call_quality(rated)

    def _read_janus_reports(self, publisher: RTCPeerConnection, report: RTCStatsReport) -> None:
        outbound = {s.kind: s for s in report.values() if isinstance(s, RTCOutboundRtpStreamStats)}
        for stats in report.values():
            if isinstance(stats, RTCRemoteInboundRtpStreamStats) and stats.kind == "video":
                video = outbound.get("video")
                lost = stats.fractionLost / 256  # RTCP gives the share lost in 256ths
                self.quality.janus_report(
                    publisher, stats.roundTripTime, stats.packetsLost, video.packetsSent if video else 0, lost
                )
                if video is not None:
                    self._follow_the_link(publisher, lost, stats.roundTripTime, video.bytesSent)
            elif isinstance(stats, RTCRemoteInboundRtpStreamStats) and stats.kind == "audio":
                for encoder in encoders_of(publisher.getSenders(), VoiceEncoder):
                    encoder.set_expected_loss(stats.fractionLost / 256)

    def _follow_the_link(self, publisher: RTCPeerConnection, lost: float, rtt_s: float | None, sent: int) -> None:
        """The video's bitrate (and pace) from Janus's latest report of it (`kiosk.bitrate_control`)."""
        now = time.monotonic()
        before, self._video_sent = self._video_sent, (now, sent)
        if before is None or now <= before[0]:
            return
        self._aim_video(publisher, self._bitrate.report(lost, rtt_s, 8 * (sent - before[1]) / (now - before[0])))

    def _follow_the_queue(self, publisher: RTCPeerConnection) -> None:
        """The video's bitrate also follows Janus's transport-wide feedback, every 200 ms, where it comes: how long
        our packets queue on the way (`kiosk.send_queue`)."""
        videos = [s for s in publisher.getSenders() if s.track is not None and s.track.kind == "video"]
        if self._pacer is None or self._pacer.numbers is None or not videos:
            return
        send_queue = SendQueue()

        def delivered(deliveries: list[Delivery]) -> None:
            reading = send_queue.take(deliveries)
            if reading is not None and self._publisher_pc is publisher:
                self._aim_video(publisher, self._bitrate.queue(reading))

        listen_for_feedback(videos[0].transport, self._pacer.numbers, delivered)

    def _aim_video(self, publisher: RTCPeerConnection, target: float) -> None:
        for encoder in encoders_of(publisher.getSenders(), SteppedVp8Encoder):
            encoder.set_target(target)
            if self._pacer is not None:
                self._pacer.rate_bps = encoder.target_bitrate
                self._pacer.link_bps = self._bitrate.link_bps()
                encoder.congested = self._pacer.congested

    def _cap_for_receivers(self, kbps: int | None) -> None:
        """Central's cap for the participant with the thinnest link (`kiosk.reception_share`)."""
        publisher = self._publisher_pc
        if publisher is None:
            return
        for encoder in encoders_of(publisher.getSenders(), SteppedVp8Encoder):
            encoder.set_receivers_cap(None if kbps is None else 1000 * kbps)
            if self._pacer is not None:
                self._pacer.rate_bps = encoder.target_bitrate

    async def _resume(self, janus: JanusSession) -> None:
        """The link is back after an outage: keep the connections if the visitors' media comes back on them,
        else rebuild them once."""
        back_at = time.monotonic()
        self._start_poller(janus)  # the old poll's connection may sit in TCP's retransmission back-off
        publisher = self._publisher_pc
        if publisher is not None:
            send_keyframe(publisher)  # the visitors' decoders lost their reference with the outage
        while time.monotonic() - back_at < MEDIA_RESUME_WAIT_S:
            # Audio comes back first; a visitor whose picture we had is back when the picture is.
            latest = self._last_video if self._last_video else self._last_media
            media_back = latest > back_at or not self._subscriptions
            if media_back and publisher is not None and publisher.connectionState == "connected":
                log.info("call: media resumed on the same connections")
                self._set_status(CallStatus.CONNECTED)
                return
            await asyncio.sleep(0.05)
        self._fail(_MediaLost("media did not resume after the link came back"))

    def _dispatch(self, event: JanusEvent) -> None:
        data = event.data
        kind = data.get("videoroom")
        if kind == "destroyed":
            self._fail(_RoomClosed())
            return
        if event.kind == "hangup" and event.handle_id in self._events:
            # Janus closed one of our peer connections (ICE or DTLS broke on its side); a handle we no longer hold
            # is one we closed ourselves.
            self._fail(_MediaLost("Janus hung up a peer connection"))
            return
        if kind == "event" and event.handle_id not in self._subscriptions_by_handle():
            for publisher in data.get("publishers", []):
                if self._early_publishers is not None and isinstance(publisher, dict):
                    self._early_publishers[str(publisher.get("id"))] = publisher
                else:
                    asyncio.get_running_loop().create_task(self._subscribe_safely(publisher))
            gone = data.get("unpublished") or data.get("leaving")
            if isinstance(gone, int) and self._early_publishers is not None:
                self._early_publishers.pop(str(gone), None)
            if isinstance(gone, int) and gone in self._subscriptions:
                asyncio.get_running_loop().create_task(self._unsubscribe(gone))
        if event.handle_id in self._events:
            self._events[event.handle_id].put_nowait(event)

    def _subscriptions_by_handle(self) -> set[int]:
        return {sub.handle for sub in self._subscriptions.values()}

    # -- publishing -------------------------------------------------------------------------------

    async def _publish(self, handle: int) -> None:
        assert self._janus is not None
        # A rebuilt connection follows one the link did not carry: it starts at half what that one aimed for, as
        # TCP does after a timeout. On a 250 kbps link each new start at 300 kbps starved the signalling, and the
        # call was rebuilt again and again, for 30 s without a picture.
        start = START_BPS if self.reconnects == 0 else max(LEAST_BPS, min(START_BPS, self._bitrate.target_bps / 2))
        start_video_at(start)
        pc = RTCPeerConnection(self._rtc_config)
        self._publisher_pc = pc
        self._watch(pc, publisher=True)
        self._tracks = [CameraTrack(self._camera, self.quality.sent), MicrophoneTrack(self._microphone)]
        for track in self._tracks:
            pc.addTransceiver(track, direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        offer = {"type": pc.localDescription.type, "sdp": pc.localDescription.sdp}
        await self._janus_call(self._janus.send, handle, {"request": "publish", "audio": True, "video": True}, offer)
        answer = await self._next_event(handle, "event")
        while answer.jsep is None:
            answer = await self._next_event(handle, "event")
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer.jsep["sdp"], type=answer.jsep["type"]))
        self._bitrate, self._video_sent = BitrateControl(start), None
        self._pacer = pace_video(pc, self._bitrate.target_bps)
        self._follow_the_queue(pc)

    def _watch(self, pc: RTCPeerConnection, publisher: bool) -> None:
        @pc.on("connectionstatechange")
        def _changed() -> None:
            state = pc.connectionState
            if state == "connected" and publisher:
                self._set_status(CallStatus.CONNECTED)
            elif state == "failed":
                self._fail(_MediaLost("peer connection failed"))

    # -- subscribing ------------------------------------------------------------------------------

    async def _subscribe_safely(self, publisher: dict[str, Any]) -> None:
        try:
            await self._subscribe(publisher)
        except JanusError as exc:
            self._fail(exc)
        except Exception as exc:
            self._fail(_MediaLost(f"subscribe: {type(exc).__name__}: {exc}"))

    async def _subscribe(self, publisher: dict[str, Any]) -> None:
        assert self._janus is not None
        feed = RemoteFeed(int(publisher["id"]), str(publisher.get("display", "")))
        if feed.feed_id in self._subscriptions:
            return
        handle = await self._attach()
        pc = RTCPeerConnection(self._rtc_config)
        sub = self._subscriptions[feed.feed_id] = _Subscription(feed, handle, pc, [])
        self._watch(pc, publisher=False)
        for attempt in range(20):
            await self._janus_call(
                self._janus.send,
                handle,
                {
                    "request": "join",
                    "ptype": "subscriber",
                    "room": self._access.room,
                    "pin": self._access.pin,
                    "streams": [{"feed": feed.feed_id}],
                },
            )
            try:
                offer = await self._next_event(handle, "attached")
                break
            except JanusError as exc:
                # The publisher's media is not up yet; Janus knows it a moment later.
                if exc.code != NO_SUCH_FEED or attempt == 19:
                    raise
                await asyncio.sleep(0.1)
        assert offer.jsep is not None

        @pc.on("track")
        def _on_track(track: MediaStreamTrack) -> None:
            for receiver in pc.getReceivers():  # before media flows: to the decoder the moment it can be decoded
                if receiver.track is track and self._call_codecs:
                    use_for(receiver, track.kind, self.quality.new_arrivals() if track.kind == "video" else None)
            if self._subscriptions.get(feed.feed_id) is not sub:
                return  # closed while it was being set up: nothing left to consume it for
            consume = self._consume_video if track.kind == "video" else self._consume_audio
            sub.tasks.append(asyncio.ensure_future(consume(feed, track)))

        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer.jsep["sdp"], type=offer.jsep["type"]))
        for transceiver in pc.getTransceivers():
            answer_as_dtls_server(transceiver.receiver.transport)
        await pc.setLocalDescription(await pc.createAnswer())
        answer = {"type": pc.localDescription.type, "sdp": pc.localDescription.sdp}
        await self._janus_call(self._janus.send, handle, {"request": "start"}, answer)

    async def _unsubscribe(self, feed_id: int) -> None:
        sub = self._subscriptions.pop(feed_id, None)
        if sub is None:
            return
        await self._close_subscription(sub)
        self._listener.on_remote_left(sub.feed)

    async def _close_subscription(self, sub: _Subscription) -> None:
        for task in sub.tasks:
            task.cancel()
        await pc_close(sub.pc)
        self._events.pop(sub.handle, None)

    async def _consume_video(self, feed: RemoteFeed, track: MediaStreamTrack) -> None:
        """Takes each picture as it is decoded, and shows it when its sound is heard (`kiosk.picture_playout`)."""
        playout = PicturePlayout()
        waiting: asyncio.Queue[tuple[float, np.ndarray]] = asyncio.Queue()
        showing = asyncio.ensure_future(self._show_pictures(feed, waiting))
        try:
            with contextlib.suppress(MediaStreamError):
                while True:
                    frame = await track.recv()
                    now = self._last_media = self._last_video = self._last_heard = time.monotonic()
                    self.quality.pictures_of(feed.display).frame()
                    taken_s = float(frame.pts * frame.time_base) if frame.pts is not None else now
                    waiting.put_nowait((playout.due(taken_s, now, self._sound_delay_s()), i420_of(frame)))
        finally:
            showing.cancel()

    async def _show_pictures(self, feed: RemoteFeed, waiting: asyncio.Queue[tuple[float, np.ndarray]]) -> None:
        while True:
            due, i420 = await waiting.get()
            if (wait := due - time.monotonic()) > 0:
                await asyncio.sleep(wait)
            self._listener.on_remote_video(feed, i420)

    async def _consume_audio(self, feed: RemoteFeed, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                self._last_media = self._last_heard = time.monotonic()
                channels = len(frame.layout.channels)
                samples = frame.to_ndarray().reshape(-1, channels).mean(axis=1).astype(np.int16)
                self._earpiece.play(feed.feed_id, samples)

    # -- teardown ---------------------------------------------------------------------------------

    async def _teardown(self, leave_now: bool = False) -> None:
        """`leave_now`: wait until Janus has dropped the session (the visit is over: the others see us leave)."""
        janus, self._janus = self._janus, None
        for task in self._link_tasks:
            task.cancel()
        self._link_tasks = []
        for sub in list(self._subscriptions.values()):
            await self._close_subscription(sub)
            self._listener.on_remote_left(sub.feed)
        self._subscriptions.clear()
        for track in self._tracks:
            track.stop()
        self._tracks = []
        if self._publisher_pc is not None:
            await pc_close(self._publisher_pc)
            self._publisher_pc = None
        self._events.clear()
        if janus is not None and leave_now:
            await self._destroy_quietly(janus)
        elif janus is not None:
            # Not awaited: after a cut the old session may take Janus's timeout to answer, and the rebuild must not
            # wait for it (Janus drops a session it no longer hears from anyway).
            asyncio.get_running_loop().create_task(self._destroy_quietly(janus))

    async def _destroy_quietly(self, janus: JanusSession) -> None:
        with contextlib.suppress(JanusError):
            await self._janus_call(janus.destroy)


def send_keyframe(pc: RTCPeerConnection) -> None:
    """Makes the next picture sent a keyframe, as a receiver's request for one (PLI) would, without waiting for each
    receiver to notice its loss and ask. aiortc keeps this flag private; without it, the receivers still ask."""
    for sender in pc.getSenders():
        if sender.track is not None and sender.track.kind == "video" and hasattr(sender, _FORCE_KEYFRAME):
            setattr(sender, _FORCE_KEYFRAME, True)


def answer_as_dtls_server(transport: RTCDtlsTransport) -> None:
    """Makes our answer to Janus's offer say `setup:passive`, so that Janus opens the DTLS handshake.

    aiortc answers as the DTLS client by default and says hello the moment its side of ICE completes, which can
    be before Janus's side is ready: Janus drops that hello, and OpenSSL resends it only after a second. That
    second was measured as 1.0 s between ICE completed and connected, in about a third of subscriptions. As the
    server we wait for Janus's hello instead, and one that arrives early waits in ICE's queue, not lost.
    """
    transport._set_role("server")


async def pc_close(pc: RTCPeerConnection) -> None:
    try:
        await asyncio.wait_for(pc.close(), timeout=5)
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise  # this task is being cancelled: pass it on
        # aiortc's close can let out a CancelledError of its own inner tasks; the connection is closed anyway,
        # and it must not abort the caller's teardown (a visitor's stop once failed on it).
    except Exception:  # a failed close of a connection we are dropping changes nothing
        pass


async def _until_connected(pc: RTCPeerConnection, timeout_s: float) -> None:
    """Until `pc` is connected (or has failed, or closed), at most `timeout_s`."""
    settled = asyncio.Event()

    def changed() -> None:
        if pc.connectionState in ("connected", "failed", "closed"):
            settled.set()

    pc.on("connectionstatechange", changed)
    try:
        changed()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                await settled.wait()
    finally:
        pc.remove_listener("connectionstatechange", changed)

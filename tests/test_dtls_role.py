"""Our answer to a subscription offer makes us the DTLS server, so the side that offered (Janus) opens the
handshake when it is ready; the connection still comes up and carries video."""

from __future__ import annotations

import asyncio

from aiortc import RTCPeerConnection

from drivers.simulated_camera import SimulatedCamera
from kiosk.call_engine import answer_as_dtls_server
from kiosk.media_tracks import CameraTrack


async def _subscribe_to(offerer: RTCPeerConnection, answerer: RTCPeerConnection) -> str:
    await offerer.setLocalDescription(await offerer.createOffer())
    await answerer.setRemoteDescription(offerer.localDescription)
    for transceiver in answerer.getTransceivers():
        answer_as_dtls_server(transceiver.receiver.transport)
    await answerer.setLocalDescription(await answerer.createAnswer())
    await offerer.setRemoteDescription(answerer.localDescription)
    return answerer.localDescription.sdp


def test_the_answer_says_passive_and_the_offerer_opens_a_working_connection():
    async def scenario() -> None:
        camera = SimulatedCamera()
        camera.start()
        publisher, subscriber = RTCPeerConnection(), RTCPeerConnection()  # the publisher stands for Janus
        tracks: asyncio.Queue = asyncio.Queue()
        subscriber.on("track", tracks.put_nowait)
        try:
            publisher.addTransceiver(CameraTrack(camera), direction="sendonly")
            answer = await _subscribe_to(publisher, subscriber)
            assert "a=setup:passive" in answer and "a=setup:active" not in answer
            track = await asyncio.wait_for(tracks.get(), 10)
            frame = await asyncio.wait_for(track.recv(), 10)
            assert frame.width == 640, "video flows over the connection the offerer opened"
            assert publisher.getTransceivers()[0].sender.transport._role == "client"
        finally:
            await publisher.close()
            await subscriber.close()
            camera.stop()

    asyncio.run(scenario())

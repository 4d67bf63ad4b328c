"""While the terminal's camera is lost, the call sends a calm "Video paused" card instead of a frozen
face, and the sound goes on; when the camera returns, so does the picture."""

from __future__ import annotations

import asyncio
import time

import numpy as np

from drivers.frame_stamp import read_stamp
from drivers.simulated_camera import SimulatedCamera
from kiosk.media_tracks import CAMERA_LOST_AFTER_S, CameraTrack
from kiosk.paused_card import paused_card


def test_the_track_sends_the_card_while_the_camera_is_lost_and_the_picture_when_it_returns():
    async def scenario() -> None:
        camera = SimulatedCamera()
        camera.start()
        track = CameraTrack(camera)
        live = [await track.recv() for _ in range(5)]
        assert all(read_stamp(f.to_ndarray(format="rgb24")) is not None for f in live)
        camera.stop()
        asked = time.monotonic()
        card = await track.recv()
        while read_stamp(card.to_ndarray(format="rgb24")) is not None:  # a frame already on its way
            card = await track.recv()
        waited = time.monotonic() - asked
        assert CAMERA_LOST_AFTER_S - 0.1 < waited < CAMERA_LOST_AFTER_S + 0.5
        # The card, in the encoder's format: every pixel within rounding, text edges within chroma subsampling.
        difference = np.abs(card.to_ndarray(format="rgb24").astype(int) - paused_card(640, 480))
        assert difference.mean() < 2 and difference.max() < 32
        assert card.pts > live[-1].pts
        camera.start()
        back = await track.recv()
        assert read_stamp(back.to_ndarray(format="rgb24")) is not None and back.pts > card.pts
        track.stop()
        camera.stop()

    asyncio.run(scenario())


def test_the_card_says_what_is_happening_in_words():
    card = paused_card(640, 480)
    assert card.shape == (480, 640, 3)
    # Mostly the calm navy, with light text in the middle band: not black, not a frozen picture.
    assert tuple(card[10, 10]) == (13, 26, 43)
    middle = card[200:300]
    assert (middle.mean(axis=2) > 200).sum() > 500

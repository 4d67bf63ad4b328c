"""The frame stamps the benches and tests measure latency with still read after the sender scaled its picture down
for a thin link (to 480x360 or 320x240), as they do at full size."""

from __future__ import annotations

import cv2
import pytest

from drivers.frame_stamp import FrameStamp, read_stamp, write_stamp
from drivers.simulated_camera import SimulatedCamera


@pytest.mark.parametrize("scale", [1.0, 0.75, 0.5])
def test_a_stamp_reads_back_from_a_picture_scaled_down(scale):
    image = SimulatedCamera().render(0)
    write_stamp(image, FrameStamp(123456, 987654321))
    height, width = image.shape[:2]
    scaled = cv2.resize(image, (int(width * scale), int(height * scale)), interpolation=cv2.INTER_AREA)
    assert read_stamp(scaled) == FrameStamp(123456, 987654321)

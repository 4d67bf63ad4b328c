"""A decoded frame taken as I420 arrays: any size and format the decoder gives, and its brightness plane still
carries the frame stamp that the latency figures are read from."""

from __future__ import annotations

import numpy as np
from av import VideoFrame

from drivers.frame_stamp import FrameStamp, read_stamp, write_stamp
from kiosk.pictures import chroma_of, i420_of, luma_of


def test_a_frame_with_odd_sides_in_another_format_comes_as_even_sided_i420():
    frame = VideoFrame.from_ndarray(np.full((481, 641, 3), 128, np.uint8), format="rgb24")
    i420 = i420_of(frame)
    assert i420.shape == (480 * 3 // 2, 640)
    assert luma_of(i420).shape == (480, 640)
    assert chroma_of(i420).shape == (2, 240, 320)


def test_the_stamp_is_read_from_the_brightness_plane():
    image = np.full((480, 640, 3), 90, np.uint8)
    write_stamp(image, FrameStamp(counter=1234, sent_ms=56789))
    frame = VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")  # as decoded
    assert read_stamp(luma_of(i420_of(frame))) == FrameStamp(1234, 56789)

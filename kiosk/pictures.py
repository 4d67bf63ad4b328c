"""A decoded video frame as arrays, in the decoder's own layout.

The decoder gives I420: a full-size luma (brightness) plane, then quarter-size U and V planes. Taking it as it is
costs a copy (0.02 ms for 640x480); converting it to RGB first cost 0.2-0.3 ms a frame on the core thread, with
Python's lock held, before the screen converted it again at its own size.
"""

from __future__ import annotations

import numpy as np
from av import VideoFrame


def i420_of(frame: VideoFrame) -> np.ndarray:
    """The frame's planes stacked as one (height * 3/2) x width array: luma rows, then U, then V. A frame with
    an odd side (I420 halves both) loses its last row or column."""
    width, height = frame.width & ~1, frame.height & ~1
    if frame.format.name != "yuv420p" or (width, height) != (frame.width, frame.height):
        frame = frame.reformat(width=width, height=height, format="yuv420p")
    return frame.to_ndarray()


def luma_of(i420: np.ndarray) -> np.ndarray:
    """The brightness plane of an I420 array: a grey picture at full size."""
    return i420[: i420.shape[0] * 2 // 3]


def chroma_of(i420: np.ndarray) -> np.ndarray:
    """The U and V planes of an I420 array, as a 2 x (height/2) x (width/2) array."""
    height, width = i420.shape[0] * 2 // 3, i420.shape[1]
    return i420[height:].reshape(2, height // 2, width // 2)

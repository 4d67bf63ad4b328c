"""Writes a simulated camera's stamped frames to a YUV4MPEG2 (.y4m) file, the format a browser's fake
camera plays in a loop (Chromium's `--use-file-for-fake-video-capture`), so a browser sends frames the
terminal can read with `read_stamp`.

A looping file cannot carry the wall clock, so only the stamp's counter means something: it is the
frame's index in the file, and it goes up by one per frame and starts again at 0 when the file loops.
The stamp's time field holds the frame's offset from the start of the file in milliseconds, not a
send time: latency cannot be measured from these frames.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from drivers.frame_stamp import FrameStamp, write_stamp
from drivers.simulated_camera import SimulatedCamera

# 4:2:0 with chroma sited as in JPEG; Chromium's file capture reads it as I420.
COLOUR_SPACE = "C420jpeg"


def y4m_header(width: int, height: int, fps: int) -> bytes:
    return f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 {COLOUR_SPACE}\n".encode("ascii")


def to_i420(image: np.ndarray) -> bytes:
    """An RGB image (height x width x 3, uint8, even sides) as planar Y, U, V bytes."""
    return cv2.cvtColor(image, cv2.COLOR_RGB2YUV_I420).tobytes()


def stamped_frame(camera: SimulatedCamera, index: int) -> np.ndarray:
    """The camera's picture `index`, stamped with `index` and its offset in the file (ms)."""
    image = camera.render(index)
    write_stamp(image, FrameStamp(index, round(index * 1000 / camera.fps)))
    return image


def write_y4m(path: Path, camera: SimulatedCamera, frames: int = 90) -> Path:
    """Writes `frames` stamped frames of `camera` (640x480 at 30 fps by default: 460,800 bytes a frame)."""
    if camera.width % 2 or camera.height % 2:
        raise ValueError("4:2:0 video needs an even width and height")
    if frames < 1:
        raise ValueError("a video needs at least one frame")
    fps = round(camera.fps)
    with path.open("wb") as out:
        out.write(y4m_header(camera.width, camera.height, fps))
        for index in range(frames):
            out.write(b"FRAME\n")
            out.write(to_i420(stamped_frame(camera, index)))
    return path


def read_y4m(path: Path) -> list[np.ndarray]:
    """Reads a file written by `write_y4m` back to RGB images (to check it, and in tests)."""
    data = path.read_bytes()
    header, _, body = data.partition(b"\n")
    fields = header.decode("ascii").split()
    if fields[0] != "YUV4MPEG2":
        raise ValueError(f"{path} is not a YUV4MPEG2 file")
    width = int(next(f[1:] for f in fields if f.startswith("W")))
    height = int(next(f[1:] for f in fields if f.startswith("H")))
    size = width * height * 3 // 2
    images = []
    while body:
        marker, _, body = body.partition(b"\n")
        if not marker.startswith(b"FRAME"):
            raise ValueError(f"{path}: expected a FRAME marker")
        plane = np.frombuffer(body[:size], dtype=np.uint8).reshape(height * 3 // 2, width)
        images.append(cv2.cvtColor(plane, cv2.COLOR_YUV2RGB_I420))
        body = body[size:]
    return images

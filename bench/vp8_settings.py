"""What the VP8 encoder's adaptive denoiser costs, on the simulated camera's clean picture and on the same
picture with sensor-like noise, beside aiortc's own settings (the reference, ratio 1.0) in the same run.

    .venv/bin/python -m bench.vp8_settings [--frames 300] [--kbps 500]

For each picture and setting it prints the encoder's thread time a frame, the bitrate it reached and the
decoded picture's PSNR against what went in (brightness plane). The settings are those aiortc 1.16's
`aiortc.codecs.vpx.Vp8Encoder` gives its codec (restated here: PyAV does not read them back once the codec
is open), with one option changed at a time.
"""

from __future__ import annotations

import argparse
import fractions
import time

import av
import cv2
import numpy as np

from drivers.simulated_camera import SimulatedCamera

FPS = 30
NOISE_SIGMA = 4.0  # grey levels: a small camera sensor in dim indoor light
VARIANTS = {"aiortc's settings": {}, "denoiser off": {"noise-sensitivity": "0"}}


def camera_frames(count: int, noisy: bool) -> list[np.ndarray]:
    """The simulated camera's frames as I420, optionally with fixed-seed Gaussian noise."""
    camera, rng = SimulatedCamera(), np.random.default_rng(1)
    frames = []
    for index in range(count):
        image = camera.render(index)
        if noisy:
            image = np.clip(image + rng.normal(0, NOISE_SIGMA, image.shape), 0, 255).astype(np.uint8)
        frames.append(cv2.cvtColor(image, cv2.COLOR_RGB2YUV_I420))
    return frames


def encoder(width: int, height: int, bitrate: int, changed: dict[str, str]) -> av.VideoCodecContext:
    """An encoder set up as aiortc sets up its own, with `changed` options over its options."""
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height, codec.pix_fmt = width, height, "yuv420p"
    codec.bit_rate, codec.gop_size, codec.qmin, codec.qmax = bitrate, 3000, 2, 56
    codec.options = {
        "bufsize": str(bitrate),
        "cpu-used": "-6",
        "deadline": "realtime",
        "lag-in-frames": "0",
        "minrate": str(bitrate),
        "maxrate": str(bitrate),
        "noise-sensitivity": "4",
        "overshoot-pct": "15",
        "partitions": "0",
        "static-thresh": "1",
        "undershoot-pct": "100",
        **changed,
    }
    codec.thread_count = 1
    return codec


def measure(frames: list[np.ndarray], bitrate: int, changed: dict[str, str]) -> tuple[float, float, float]:
    """Encoder thread time a frame (ms), bitrate reached (kbps) and mean PSNR of the brightness plane (dB)."""
    height, width = frames[0].shape[0] * 2 // 3, frames[0].shape[1]
    codec, decoder = encoder(width, height, bitrate, changed), av.CodecContext.create("vp8", "r")
    spent, sent, psnrs = 0.0, 0, []
    for index, i420 in enumerate(frames):
        frame = av.VideoFrame.from_ndarray(i420, format="yuv420p")
        frame.pts, frame.time_base = index, fractions.Fraction(1, FPS)
        started = time.thread_time()
        packets = codec.encode(frame)
        spent += time.thread_time() - started
        for packet in packets:
            sent += packet.size
            for decoded in decoder.decode(packet):
                if index >= FPS:  # after the rate control has settled
                    psnrs.append(cv2.PSNR(decoded.to_ndarray()[:height], i420[:height]))
    return 1000 * spent / len(frames), sent * 8 * FPS / len(frames) / 1000, float(np.mean(psnrs))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--kbps", type=int, default=500, help="aiortc's encoder starts at 500")
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)
    print(f"VP8 at 640x480, {args.kbps} kbps, {args.frames} frames; ratio: against aiortc's settings")
    for picture, noisy in (("clean picture", False), (f"noise sigma {NOISE_SIGMA:g}", True)):
        frames = camera_frames(args.frames, noisy)
        reference = None
        for name, changed in VARIANTS.items():
            ms, kbps, psnr = measure(frames, args.kbps * 1000, changed)
            reference = reference or ms
            print(
                f"{picture:16s} {name:18s} {ms:5.2f} ms a frame (ratio {ms / reference:.2f}), "
                f"{kbps:4.0f} kbps, PSNR {psnr:5.2f} dB"
            )


if __name__ == "__main__":
    main()

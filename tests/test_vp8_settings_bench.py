"""A short run of the encoder-settings bench, so that it cannot rot: it prints each picture and setting with
its figures, aiortc's own settings as the reference."""

from __future__ import annotations

import re

import pytest

from bench.vp8_settings import main


@pytest.mark.slow  # real VP8 encodes and decodes of 4 x 45 frames: 1.4 s here, longer on a busy machine
def test_the_bench_prints_each_setting_beside_aiortcs(capsys):
    main(["--frames", "45"])
    lines = capsys.readouterr().out.splitlines()[1:]
    assert len(lines) == 4, lines
    figures = [
        re.search(r"([\d.]+) ms a frame \(ratio ([\d.]+)\), +(\d+) kbps, PSNR ([\d.]+) dB", line) for line in lines
    ]
    assert all(figures), lines
    assert [line.split("  ")[0].strip() for line in lines] == ["clean picture"] * 2 + ["noise sigma 4"] * 2
    assert [float(f.group(2)) for f in figures][::2] == [1.0, 1.0], "aiortc's settings are each picture's reference"
    assert all(float(f.group(1)) > 0 and int(f.group(3)) > 0 and float(f.group(4)) > 20 for f in figures)

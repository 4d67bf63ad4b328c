"""The codecs the call uses in place of aiortc's own: the voice codec of `kiosk.opus_voice` for Opus, the
stepped encoder of `kiosk.video_encoder` for VP8, and aiortc's video decoders reading every frame the call's
jitter buffer hands on at once, put into aiortc's codec factories rather than forking aiortc.
The factories are the process's (a terminal makes one call at a time): `prefer` sets what the video keeps, and
`start_video_at` the bitrate it starts at, for the next connections made.
"""

from __future__ import annotations

import logging
from typing import Any

import aiortc.rtcrtpreceiver
import aiortc.rtcrtpsender
from aiortc.jitterbuffer import JitterFrame
from av.frame import Frame

from kiosk.jitter_buffers import HandedOn
from kiosk.opus_voice import HAVE_LIBOPUS, VoiceDecoder, VoiceEncoder
from kiosk.video_encoder import START_BPS, Keep, SteppedVp8Encoder

log = logging.getLogger(__name__)

_keep = [Keep.BALANCE]
_start_bps = [float(START_BPS)]


def _mime(codec: Any) -> str:
    return str(getattr(codec, "mimeType", "")).lower()


def prefer(keep: Keep) -> None:
    """What the video keeps when the link thins, for the encoders made from now on."""
    _keep[0] = keep


def start_video_at(bitrate: float) -> None:
    """The bitrate the video encoders made from now on start at, before the link's first report."""
    _start_bps[0] = bitrate


def use_call_codecs() -> bool:
    """Puts the call's codecs into aiortc's factories; False (and a log line) when libopus or the factories are not
    where expected, and aiortc's own codecs are used (the audio jitter buffer must then stay aiortc's too)."""
    receiving = getattr(aiortc.rtcrtpreceiver, "get_decoder", None)
    sending = getattr(aiortc.rtcrtpsender, "get_encoder", None)
    if not HAVE_LIBOPUS or receiving is None or sending is None:
        log.warning("libopus or aiortc's codec factories are missing: the call uses aiortc's own codecs")
        return False
    if getattr(receiving, "call_codecs", False):
        return True

    def get_decoder(codec: Any) -> Any:
        if _mime(codec) == "audio/opus":
            return VoiceDecoder()
        return FramesDecoder(receiving(codec))

    def get_encoder(codec: Any) -> Any:
        if _mime(codec) == "audio/opus":
            return VoiceEncoder()
        if _mime(codec) == "video/vp8":
            return SteppedVp8Encoder(_keep[0], _start_bps[0])
        return sending(codec)

    get_decoder.call_codecs = True  # type: ignore[attr-defined]
    aiortc.rtcrtpreceiver.get_decoder = get_decoder
    aiortc.rtcrtpsender.get_encoder = get_encoder
    return True


class FramesDecoder:
    """aiortc's decoder interface around one of aiortc's video decoders, for the `VideoFrames` the call's jitter
    buffer hands on: each frame decoded in turn. A frame the decoder refuses ends the batch (the frames after it
    refer to it) with the decoder's error, which makes aiortc ask for a keyframe."""

    def __init__(self, decoder: Any) -> None:
        self._decoder = decoder

    def decode(self, encoded_frame: JitterFrame) -> list[Frame]:
        if not isinstance(encoded_frame, HandedOn):
            return self._decoder.decode(encoded_frame)
        frames: list[Frame] = []
        for data, timestamp in encoded_frame.each():
            frames.extend(self._decoder.decode(JitterFrame(data, timestamp)))
        return frames


def encoders_of(senders: list[Any], kind: type) -> list[Any]:
    """The encoders of this kind that these aiortc senders have made (aiortc keeps them private)."""
    found = [getattr(sender, "_RTCRtpSender__encoder", None) for sender in senders]
    return [encoder for encoder in found if isinstance(encoder, kind)]

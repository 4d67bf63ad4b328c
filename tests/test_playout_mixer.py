"""The earpiece's jitter buffer and mixer: steady delay, no clicks when packets are late, voices mixed."""

from __future__ import annotations

import numpy as np
import pytest

from drivers.audio_analysis import dominant_frequency, level_dbfs
from drivers.handset import BLOCK_SAMPLES, SAMPLE_RATE
from drivers.playout_mixer import FORGET_AFTER_S, PlayoutMixer
from tests.manual_clock import ManualClock
from tests.pulse_server import tone

# A -12 dBFS 440 Hz sine moves at most 2*pi*440/48000 * 8231 = 474 per sample; a click is a jump of
# thousands. Twice the sine's steepest step still hears any cut or gap as the click it would be.
SMOOTH_STEP = 2 * 2 * np.pi * 440 / SAMPLE_RATE * 32767 * 10 ** (-12 / 20)


def blocks(samples: np.ndarray) -> list[np.ndarray]:
    return [samples[i : i + BLOCK_SAMPLES] for i in range(0, samples.size, BLOCK_SAMPLES)]


def largest_step(samples: np.ndarray) -> float:
    return float(np.max(np.abs(np.diff(samples.astype(np.float64)))))


def test_a_voice_plays_once_the_buffer_has_filled_and_unchanged():
    mixer = PlayoutMixer(target_ms=40, limit_ms=120)
    voice = tone(440, 1.0)
    out = []
    for block in blocks(voice):
        mixer.push("maria", block)
        out.append(mixer.pull())
    played = np.concatenate(out)
    # Until more than 40 ms have arrived the earpiece is silent; then the voice plays, faded in over 2 ms.
    delay = 2 * BLOCK_SAMPLES
    assert level_dbfs(played[:delay]) == -np.inf
    assert np.array_equal(played[delay + 96 :], voice[96 : voice.size - delay])
    assert mixer.stats().underruns == 0


def test_a_burst_of_audio_never_makes_the_delay_grow():
    mixer = PlayoutMixer(target_ms=40, limit_ms=120)
    voice = tone(440, 2.0)
    # The network stalls, then delivers half a second at once, again and again.
    for burst in range(4):
        for block in blocks(voice[burst * 24_000 : (burst + 1) * 24_000]):
            mixer.push("maria", block)
        assert mixer.stats().buffered_ms <= 120
        for _ in range(25):
            mixer.pull()
    assert mixer.stats().cuts >= 3


def test_late_packets_make_no_clicks():
    mixer = PlayoutMixer(target_ms=40, limit_ms=120)
    voice = blocks(tone(440, 6.0))
    rng = np.random.default_rng(7)
    out, pending = [], []
    for block in voice:
        pending.append(block)
        # Packets come late and in clumps: often one per pull, sometimes none for a while, then all
        # of them at once (sometimes more than the buffer may hold, so it must cut).
        if rng.random() < (0.2 if len(pending) < 8 else 0.05):
            for held in pending:
                mixer.push("maria", held)
            pending.clear()
        out.append(mixer.pull())
    played = np.concatenate(out)
    stats = mixer.stats()
    assert stats.underruns > 5 and stats.cuts > 5, "the test must make both gaps and cuts"
    assert largest_step(played) < SMOOTH_STEP


def test_an_unfaded_gap_would_count_as_a_click():
    """Checks the measure itself: a tone that stops dead is caught."""
    abrupt = np.concatenate((tone(440, 0.1), np.zeros(960, np.int16)))
    start = int(np.argmax(np.abs(abrupt[4000:4800]))) + 4000  # cut at a crest
    assert largest_step(np.concatenate((abrupt[:start], np.zeros(100, np.int16)))) > SMOOTH_STEP


def test_two_visitors_are_heard_together():
    mixer = PlayoutMixer()
    a, b = blocks(tone(440, 1.0, -18)), blocks(tone(660, 1.0, -18))
    out = []
    for block_a, block_b in zip(a, b, strict=True):
        mixer.push("maria", block_a)
        mixer.push("luis", block_b)
        out.append(mixer.pull())
    played = np.concatenate(out[5:])
    spectrum = np.abs(np.fft.rfft(played * np.hanning(played.size)))
    hz = np.fft.rfftfreq(played.size, 1 / SAMPLE_RATE)
    peaks = {round(hz[i]) for i in np.argsort(spectrum)[-2:]}
    assert peaks == {440, 660}
    assert mixer.stats().sources == 2


def test_loud_voices_are_clipped_not_wrapped_around():
    mixer = PlayoutMixer()
    loud = np.full(BLOCK_SAMPLES * 3, 30_000, np.int16)
    mixer.push("maria", loud)
    mixer.push("luis", loud)
    mixer.pull()
    assert mixer.pull().min() == 32767


def test_a_visitor_who_left_is_forgotten_and_the_one_who_stayed_is_still_heard():
    clock = ManualClock()
    mixer = PlayoutMixer(clock=clock)
    mixer.push("maria", tone(440, 0.1))
    for _ in range(10):
        mixer.pull()
    underruns = mixer.stats().underruns
    clock.now = FORGET_AFTER_S + 0.1
    luis = blocks(tone(660, 1.0))
    mixer.push("luis", np.concatenate(luis[:3]))
    mixer.pull()
    assert mixer.stats().sources == 1, "Maria's source is gone"
    assert mixer.stats().underruns == underruns, "what happened to her sound still counts"
    for block in luis[3:10]:
        mixer.push("luis", block)
        played = mixer.pull()
    assert dominant_frequency(played, SAMPLE_RATE) == pytest.approx(660, abs=50)


@pytest.mark.parametrize(("target", "limit"), [(0, 100), (100, 100), (120, 40)])
def test_a_buffer_that_cannot_work_is_refused(target, limit):
    with pytest.raises(ValueError, match="target"):
        PlayoutMixer(target_ms=target, limit_ms=limit)


def test_a_voice_that_runs_dry_gets_more_slack_and_gives_it_back_when_the_network_calms():
    clock = ManualClock()
    mixer = PlayoutMixer(target_ms=40, limit_ms=120, clock=clock)
    voice = blocks(tone(440, 30.0))
    played = 0

    def speak(n: int, every: int = 1) -> None:
        """`n` pulls (20 ms each); a block arrives every `every` pulls (late ones come in pairs)."""
        nonlocal played
        for i in range(n):
            clock.now += 0.02
            if i % every == every - 1:
                for _ in range(every):
                    mixer.push("maria", voice[played % len(voice)])
                    played += 1
            mixer.pull()

    speak(50)
    assert mixer.stats().target_ms == 40
    speak(32, every=4)  # packets held back and delivered four at a time: 40 ms of slack runs dry
    assert mixer.stats().underruns > 0
    assert mixer.stats().target_ms == 60  # one block more; never more than half the limit
    underruns = mixer.stats().underruns
    speak(152, every=4)
    assert mixer.stats().underruns == underruns, "with the larger target the same clumps no longer run it dry"
    speak(600)  # 12 s of calm
    assert mixer.stats().target_ms < 60


def _steady(
    mixer: PlayoutMixer, clock: ManualClock, voice: list[np.ndarray], seconds: float, start: int = 0
) -> np.ndarray:
    """A block arrives every 20 ms; the card pulls 10 ms at a time, as the handset's does."""
    out = []
    for n in range(start, start + round(seconds / 0.02)):
        mixer.push("maria", voice[n % len(voice)])
        for _ in range(2):
            clock.now += 0.01
            out.append(mixer.pull(BLOCK_SAMPLES // 2))
    return np.concatenate(out)


def test_delay_that_no_packet_needed_is_trimmed_back_to_the_target_without_a_click():
    clock = ManualClock()
    mixer = PlayoutMixer(target_ms=40, limit_ms=120, clock=clock)
    voice = blocks(tone(440, 10.0))
    for block in voice[:5]:  # the call's first 100 ms arrive at once, then the voice comes steadily
        mixer.push("maria", block)
    _steady(mixer, clock, voice, 2.0, start=5)
    assert mixer.stats().buffered_ms >= 100, "the early clump is still held: 60 ms more than the target"
    played = _steady(mixer, clock, voice, 5.0, start=105)
    assert mixer.stats().buffered_ms <= 40
    assert mixer.stats().underruns == 0
    assert largest_step(played) < SMOOTH_STEP


def test_a_steady_voice_at_its_target_and_a_clumpy_one_are_never_trimmed():
    clock = ManualClock()
    mixer = PlayoutMixer(target_ms=40, limit_ms=120, clock=clock)
    voice = tone(440, 10.0)
    played = _steady(mixer, clock, blocks(voice), 10.0)
    assert mixer.stats().cuts == 0
    delay = 2 * BLOCK_SAMPLES
    assert np.array_equal(played[delay + 96 :], voice[96 : voice.size - delay]), "every sample, in order"

    clumpy = PlayoutMixer(target_ms=40, limit_ms=120, clock=clock)
    for pair in range(250):  # two blocks every 40 ms: all of the 40 ms target is needed
        for block in blocks(voice)[2 * pair : 2 * pair + 2]:
            clumpy.push("maria", block)
        for _ in range(4):
            clock.now += 0.01
            clumpy.pull(BLOCK_SAMPLES // 2)
    assert clumpy.stats().cuts == 0 and clumpy.stats().underruns == 0


def test_a_voice_whose_packets_are_late_is_carried_on_in_its_own_pitch_not_cut_to_silence():
    mixer = PlayoutMixer(target_ms=40, limit_ms=120)
    voice = blocks(tone(440, 2.0))
    out = []
    for n, block in enumerate(voice):
        if n == 44:  # four packets come late, with the fifth: 40 ms of slack runs dry
            for late in voice[40:44]:
                mixer.push("maria", late)
        if n not in (40, 41, 42, 43):
            mixer.push("maria", block)
        out.append(mixer.pull())
    played = np.concatenate(out)
    stats = mixer.stats()
    assert stats.underruns >= 1 and stats.concealed_ms >= 20
    assert largest_step(played) < SMOOTH_STEP, "no click going into the carrying on, nor out of it"
    steady = level_dbfs(played[20 * BLOCK_SAMPLES : 30 * BLOCK_SAMPLES])
    for start in range(30 * BLOCK_SAMPLES, played.size - BLOCK_SAMPLES, BLOCK_SAMPLES // 2):
        piece = played[start : start + BLOCK_SAMPLES]
        assert level_dbfs(piece) > steady - 3, f"the tone went quiet at {start / SAMPLE_RATE:.2f} s"
    around = played[30 * BLOCK_SAMPLES : 60 * BLOCK_SAMPLES]
    assert dominant_frequency(around, SAMPLE_RATE) == pytest.approx(440, abs=5), "in its own pitch"


def test_a_voice_that_stops_coming_fades_out_after_a_tenth_of_a_second_without_a_click():
    mixer = PlayoutMixer(target_ms=40, limit_ms=120)
    for block in blocks(tone(440, 0.5)):
        mixer.push("maria", block)
        mixer.pull()
    for _ in range(3):
        mixer.pull()  # what was buffered
    tail = np.concatenate([mixer.pull() for _ in range(20)])
    assert largest_step(tail) < SMOOTH_STEP
    assert level_dbfs(tail[: BLOCK_SAMPLES // 2]) > -20, "carried on at first"
    assert level_dbfs(tail[8 * BLOCK_SAMPLES :]) == -np.inf, "silent once 120 ms have been carried on"


def test_delay_no_packet_needed_is_taken_out_a_period_at_a_time_without_a_cut():
    clock = ManualClock()
    mixer = PlayoutMixer(target_ms=40, limit_ms=120, clock=clock)
    voice = blocks(tone(440, 12.0))
    mixer.push("maria", np.concatenate(voice[:5]))  # 100 ms at once, then one a pull: 60 ms more than needed
    out = []
    for block in voice[5:]:
        clock.now += 0.02
        mixer.push("maria", block)
        out.append(mixer.pull())
    stats = mixer.stats()
    assert stats.cuts == 0 and stats.shortened_ms >= 40
    assert stats.buffered_ms <= 60, "back near its target"
    played = np.concatenate(out)
    assert largest_step(played) < SMOOTH_STEP
    assert dominant_frequency(played[-SAMPLE_RATE:], SAMPLE_RATE) == pytest.approx(440, abs=5)


def test_a_link_that_drops_out_every_few_seconds_does_not_make_the_delay_grow():
    clock = ManualClock()
    mixer = PlayoutMixer(target_ms=40, limit_ms=160, clock=clock)
    voice = blocks(tone(440, 30.0))
    for n, block in enumerate(voice):
        clock.now = n * 0.02
        if n % 250 >= 240:  # 200 ms lost every 5 s: nothing comes, then the voice goes on
            mixer.pull()
            continue
        mixer.push("maria", block)
        mixer.pull()
    stats = mixer.stats()
    assert stats.underruns >= 5, "each drop-out ran it dry"
    assert stats.target_ms == 40 and stats.buffered_ms <= 60, "a drop-out is not jitter: more delay would not help"

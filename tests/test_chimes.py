"""Chimes: which steps of a visit make which chime (hand-made states and the real visit machine), what each
chime sounds like as measured, and the player: real time, queued, and mixed with a visitor's voice."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Hashable
from dataclasses import replace

import numpy as np
import pytest

from drivers.audio_analysis import dominant_frequency, level_dbfs
from drivers.earpiece_player import EarpiecePlayer
from drivers.handset import BLOCK_SAMPLES, SAMPLE_RATE
from drivers.playout_mixer import PlayoutMixer
from drivers.simulated_handset import SimulatedEarpiece
from kiosk.call_status import CallStatus
from kiosk.chimes import GAP_S, NOTE_S, PAUSE_S, Chime, ChimePlayer, chime_samples, chimes_for
from kiosk.protocol import EndReason
from kiosk.visit_machine import (
    CallStatusChanged,
    EndedVisit,
    EndTapped,
    Event,
    HookChanged,
    LiveVisit,
    MessageDismissed,
    Screen,
    StaffMessage,
    TerminalState,
    Tick,
    VisitMachine,
)
from tests.pulse_server import tone
from tests.test_visit_machine import READY_ID, T0, machine, to_in_visit
from tests.waiting import wait_for

LIVE = LiveVisit(visit_id=7, visitors=("Maria",), recorded=True, started_at=0.0, ends_at=600.0, warnings_s=(300, 60))
IN_VISIT = TerminalState(
    screen=Screen.IN_VISIT, handset_lifted=True, live=LIVE, call=CallStatus.CONNECTED, warning_s=None
)
ENDED = replace(IN_VISIT, screen=Screen.ENDED, live=None, call=None, ended=EndedVisit(7, EndReason.TIME_UP, "", 600.0))
HALF_BIN_HZ = SAMPLE_RATE / round(NOTE_S * SAMPLE_RATE) / 2 + 0.5  # how near a measured note's frequency can be


def heard_notes(samples: np.ndarray) -> list[float]:
    """The notes in a recording of chimes alone: each run of sound between silences, by its dominant frequency."""
    frame = SAMPLE_RATE // 100  # 10 ms
    loud = [np.abs(samples[i : i + frame]).max() > 200 for i in range(0, samples.size, frame)]
    notes: list[float] = []
    index = 0
    for is_loud, run in itertools.groupby(loud):
        count = len(list(run))
        if is_loud:
            notes.append(dominant_frequency(samples[index * frame : (index + count) * frame], SAMPLE_RATE))
        index += count
    return notes


def matches(measured: list[float], notes: tuple[float, ...], within_hz: float = 6.0) -> bool:
    return len(measured) == len(notes) and all(abs(m - n) < within_hz for m, n in zip(measured, notes, strict=True))


def spectrum_peaks(samples: np.ndarray, count: int, apart_hz: float = 30.0) -> list[float]:
    """The `count` strongest peaks of the spectrum, at least `apart_hz` apart, lowest first."""
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64) * np.hanning(samples.size)))
    hz = np.fft.rfftfreq(samples.size, 1 / SAMPLE_RATE)
    peaks: list[float] = []
    for index in np.argsort(spectrum)[::-1]:
        if all(abs(hz[index] - p) >= apart_hz for p in peaks):
            peaks.append(float(hz[index]))
        if len(peaks) == count:
            break
    return sorted(peaks)


# -- which steps make which chime -----------------------------------------------------------------------


def test_the_call_connecting_and_reconnecting_chime_each_time_they_begin() -> None:
    connecting = replace(IN_VISIT, call=CallStatus.CONNECTING)
    reconnecting = replace(IN_VISIT, call=CallStatus.RECONNECTING)
    assert chimes_for(connecting, CallStatusChanged(CallStatus.CONNECTED), IN_VISIT) == [Chime.CONNECTED]
    assert chimes_for(IN_VISIT, CallStatusChanged(CallStatus.RECONNECTING), reconnecting) == [Chime.RECONNECTING]
    assert chimes_for(reconnecting, CallStatusChanged(CallStatus.CONNECTED), IN_VISIT) == [Chime.CONNECTED]
    # The same status told again is no news.
    assert chimes_for(IN_VISIT, CallStatusChanged(CallStatus.CONNECTED), IN_VISIT) == []
    assert chimes_for(reconnecting, CallStatusChanged(CallStatus.RECONNECTING), reconnecting) == []


def test_each_warning_chimes_once() -> None:
    five, one = replace(IN_VISIT, warning_s=300), replace(IN_VISIT, warning_s=60)
    assert chimes_for(IN_VISIT, Tick(), five) == [Chime.WARNING]
    assert chimes_for(five, Tick(), five) == []  # the same warning on every tick after it
    assert chimes_for(five, Tick(), one) == [Chime.WARNING]
    assert chimes_for(one, Tick(), one) == []
    assert chimes_for(one, Tick(), five) == []  # not a new threshold crossed (cannot happen, but no chime)


def test_hanging_up_during_the_visit_chimes_the_countdown_once() -> None:
    hung_up = replace(IN_VISIT, handset_lifted=False, hangup_deadline=10.0)
    assert chimes_for(IN_VISIT, HookChanged(lifted=False), hung_up) == [Chime.HANG_UP_COUNTDOWN]
    assert chimes_for(hung_up, Tick(), hung_up) == []
    assert chimes_for(hung_up, HookChanged(lifted=True), IN_VISIT) == []


def test_a_staff_message_chimes_when_it_arrives_and_when_another_replaces_it() -> None:
    message = replace(IN_VISIT, staff_message="Please lower your voice.")
    other = replace(IN_VISIT, staff_message="Five minutes left.")
    assert chimes_for(IN_VISIT, StaffMessage(7, message.staff_message), message) == [Chime.STAFF_MESSAGE]
    assert chimes_for(message, Tick(), message) == []
    assert chimes_for(message, StaffMessage(7, other.staff_message), other) == [Chime.STAFF_MESSAGE]
    assert chimes_for(other, MessageDismissed(), IN_VISIT) == []


def test_the_end_chimes_only_into_a_lifted_handset() -> None:
    assert chimes_for(IN_VISIT, Tick(), ENDED) == [Chime.ENDED]
    hung_up = replace(IN_VISIT, handset_lifted=False, hangup_deadline=10.0)
    assert chimes_for(hung_up, Tick(), replace(ENDED, handset_lifted=False)) == []
    assert chimes_for(ENDED, Tick(), ENDED) == []
    assert chimes_for(ENDED, Tick(), TerminalState(handset_lifted=True)) == []


def test_a_plain_tick_and_the_screens_before_the_visit_make_no_chime() -> None:
    assert chimes_for(IN_VISIT, Tick(), IN_VISIT) == []
    idle, identify = TerminalState(), TerminalState(screen=Screen.IDENTIFY, handset_lifted=True)
    assert chimes_for(idle, HookChanged(lifted=True), replace(idle, handset_lifted=True)) == []
    assert chimes_for(identify, Tick(), TerminalState(handset_lifted=True)) == []


def run(m: VisitMachine, event: Event, now: float) -> list[Chime]:
    before = m.snapshot()
    m.handle(event, now)
    return chimes_for(before, event, m.snapshot())


def test_a_whole_visit_through_the_real_machine_chimes_at_each_moment_and_nowhere_else() -> None:
    m = machine(hangup_grace_s=30)
    to_in_visit(m, T0, seconds_left=400, warnings_s=(300, 60))
    steps: list[tuple[Event, float, list[Chime]]] = [
        (CallStatusChanged(CallStatus.CONNECTED), T0 + 1, [Chime.CONNECTED]),
        (Tick(), T0 + 50, []),
        (Tick(), T0 + 100, [Chime.WARNING]),  # 300 s left
        (Tick(), T0 + 101, []),
        (CallStatusChanged(CallStatus.RECONNECTING), T0 + 120, [Chime.RECONNECTING]),
        (CallStatusChanged(CallStatus.CONNECTED), T0 + 125, [Chime.CONNECTED]),
        (StaffMessage(READY_ID, "Please lower your voice."), T0 + 150, [Chime.STAFF_MESSAGE]),
        (StaffMessage(READY_ID, "Please lower your voice."), T0 + 151, []),
        (MessageDismissed(), T0 + 160, []),
        (HookChanged(lifted=False), T0 + 200, [Chime.HANG_UP_COUNTDOWN]),
        (Tick(), T0 + 210, []),
        (HookChanged(lifted=True), T0 + 220, []),
        (Tick(), T0 + 340, [Chime.WARNING]),  # 60 s left
        (Tick(), T0 + 400, [Chime.ENDED]),  # time up, the handset at the ear
        (EndTapped(), T0 + 401, []),
    ]
    for event, now, expected in steps:
        assert run(m, event, now) == expected, (event, now)


def test_a_visit_ended_by_hanging_up_chimes_the_countdown_but_not_the_end() -> None:
    m = machine(hangup_grace_s=30)
    to_in_visit(m, T0)
    assert run(m, HookChanged(lifted=False), T0 + 10) == [Chime.HANG_UP_COUNTDOWN]
    assert run(m, Tick(), T0 + 40) == []
    assert m.snapshot().screen is Screen.ENDED


# -- what each chime sounds like ------------------------------------------------------------------------


@pytest.mark.parametrize("chime", list(Chime), ids=lambda c: c.name)
def test_each_chime_is_short_soft_and_plays_its_notes(chime: Chime) -> None:
    samples = chime_samples(chime)
    assert samples.dtype == np.int16
    assert samples.size / SAMPLE_RATE < 0.8
    assert abs(20 * np.log10(np.abs(samples).max() / 32767) - -18) < 0.1  # the peak
    note, step = round(NOTE_S * SAMPLE_RATE), round((NOTE_S + GAP_S) * SAMPLE_RATE)
    assert samples.size == step * (len(chime.notes) - 1) + note
    assert samples.size % BLOCK_SAMPLES == 0  # whole 20 ms blocks
    for index, frequency in enumerate(chime.notes):
        measured = dominant_frequency(samples[index * step : index * step + note], SAMPLE_RATE)
        assert abs(measured - frequency) < HALF_BIN_HZ, (index, measured)
        if index:
            assert level_dbfs(samples[index * step - (step - note) : index * step]) == -np.inf  # the gap is silent
    # Faded in and out: no click at either end.
    assert abs(int(samples[0])) < 50 and abs(int(samples[-1])) < 50
    assert not samples.flags.writeable


def test_every_chime_is_heard_as_a_different_pitch_pattern() -> None:
    heard = {chime: heard_notes(chime_samples(chime)) for chime in Chime}
    for chime, notes in heard.items():
        assert matches(notes, chime.notes), (chime, notes)
    for a, b in itertools.combinations(Chime, 2):
        assert not matches(heard[a], b.notes), (a, b)
    # Also told apart by shape alone (up, down, level, up and down), with the number of notes.
    shapes = {tuple(np.sign(np.diff(c.notes))) for c in Chime}
    assert len(shapes) == len(Chime)


# -- the player --------------------------------------------------------------------------------------------


class TimedEarpiece(SimulatedEarpiece):
    def __init__(self) -> None:
        super().__init__(keep_seconds=4.0)
        self.arrivals: list[tuple[float, Hashable, int]] = []

    def play(self, source: Hashable, samples: np.ndarray) -> None:
        self.arrivals.append((time.monotonic(), source, samples.size))
        super().play(source, samples)


def chime_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "chimes"]


def test_chimes_play_in_real_time_one_after_another_without_blocking() -> None:
    earpiece = TimedEarpiece()
    player = ChimePlayer(earpiece)
    started = time.monotonic()
    player.play([Chime.CONNECTED, Chime.WARNING])
    assert time.monotonic() - started < 0.05  # the caller goes on at once
    assert player.playing
    assert player.wait(5)
    assert not chime_threads()  # an idle player holds no thread
    first, second = chime_samples(Chime.CONNECTED), chime_samples(Chime.WARNING)
    heard = earpiece.heard()
    assert np.array_equal(heard, np.concatenate((first, second)))
    assert matches(heard_notes(heard), Chime.CONNECTED.notes + Chime.WARNING.notes)
    assert {source for _at, source, _size in earpiece.arrivals} == {"chime"}
    assert {size for _at, _source, size in earpiece.arrivals} == {BLOCK_SAMPLES}
    # Each block when its 20 ms come, and the second chime after the first and a pause.
    blocks = first.size // BLOCK_SAMPLES
    due = [i * 0.02 for i in range(blocks)] + [
        (blocks + i) * 0.02 + PAUSE_S for i in range(second.size // BLOCK_SAMPLES)
    ]
    at = [arrived - started for arrived, _source, _size in earpiece.arrivals]
    assert max(abs(a - d) for a, d in zip(at, due, strict=True)) < 0.1
    assert at[-1] > (first.size + second.size - BLOCK_SAMPLES) / SAMPLE_RATE + PAUSE_S - 0.02


def test_a_chime_asked_for_later_waits_its_turn_and_a_long_queue_drops_the_oldest() -> None:
    earpiece = SimulatedEarpiece(keep_seconds=4.0)
    player = ChimePlayer(earpiece, queue_limit=2)
    player.play([Chime.CONNECTED])
    wait_for(lambda: earpiece.samples_played > 0, 2, "the first chime to start")
    # Two too many wait; the two kept are the short ones (two notes each), so the test is short too.
    player.play([Chime.STAFF_MESSAGE, Chime.ENDED, Chime.WARNING, Chime.RECONNECTING])
    assert player.wait(5)
    expected = Chime.CONNECTED.notes + Chime.WARNING.notes + Chime.RECONNECTING.notes
    assert matches(heard_notes(earpiece.heard()), expected)


def test_stop_silences_the_chime_and_forgets_the_queue() -> None:
    earpiece = SimulatedEarpiece()
    player = ChimePlayer(earpiece)
    player.play([Chime.ENDED, Chime.WARNING])
    wait_for(lambda: earpiece.samples_played > 0, 2, "the chime to start")
    player.stop()
    assert not player.playing and not chime_threads()  # nothing left that could play on
    assert 0 < earpiece.samples_played < chime_samples(Chime.ENDED).size
    player.play([Chime.CONNECTED])  # and it plays again afterwards
    assert player.wait(5)
    assert matches(heard_notes(earpiece.heard()[-chime_samples(Chime.CONNECTED).size :]), Chime.CONNECTED.notes)


def test_a_sound_of_part_of_a_block_is_played_as_a_whole_block_ending_in_silence() -> None:
    earpiece = TimedEarpiece()
    player = EarpiecePlayer(earpiece, "sound", "sound")
    sound = np.full(BLOCK_SAMPLES + 100, 1000, np.int16)
    player.play(sound)
    assert player.wait(2)
    assert [size for _at, _source, size in earpiece.arrivals] == [BLOCK_SAMPLES, BLOCK_SAMPLES]
    heard = earpiece.heard()
    assert np.array_equal(heard[: sound.size], sound) and not heard[sound.size :].any()


class MixingEarpiece:
    """The real earpiece's mixer, with a sound card pulling one block every 20 ms (the test's loop)."""

    def __init__(self) -> None:
        self.mixer = PlayoutMixer()

    def play(self, source: Hashable, samples: np.ndarray) -> None:
        self.mixer.push(source, samples)


def test_a_chime_is_mixed_with_a_visitors_voice_and_both_are_heard() -> None:
    earpiece = MixingEarpiece()
    player = ChimePlayer(earpiece)
    voice = tone(440, 2.0)
    out: list[np.ndarray] = []
    started = time.monotonic()
    for index in range(voice.size // BLOCK_SAMPLES):
        # The visitor's voice arrives and the card plays a block, every 20 ms of real time.
        time.sleep(max(0.0, started + index * 0.02 - time.monotonic()))
        earpiece.mixer.push(1, voice[index * BLOCK_SAMPLES : (index + 1) * BLOCK_SAMPLES])
        if index == 25:
            player.play([Chime.CONNECTED])
        out.append(earpiece.mixer.pull())
    assert player.wait(2)
    heard = np.concatenate(out)[SAMPLE_RATE // 10 :]  # from when the voice plays
    peaks = spectrum_peaks(heard, 3)
    assert all(abs(p - f) < 3 for p, f in zip(peaks, (440, *Chime.CONNECTED.notes), strict=True)), peaks
    assert np.abs(heard).max() < 32767  # summed, never clipped
    # The voice goes on at its own level under the chime: not ducked, not cut.
    t = np.arange(heard.size) / SAMPLE_RATE
    voice_amplitude = 2 * abs(np.sum(heard * np.exp(-2j * np.pi * 440 * t))) / heard.size
    assert abs(voice_amplitude / (32767 * 10 ** (-12 / 20)) - 1) < 0.01, voice_amplitude

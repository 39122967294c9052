"""The PortAudio stream wrappers' turn-taking, over a stand-in for sounddevice: a stop that comes
while a start is still inside PortAudio waits for it, and a stop that comes first means no start."""
import threading

import numpy as np
import pytest

from bridge.audio_devices import Device, open_streams
from bridge.audio_streams import Playback

from .audio_helpers import FakeOutputStream, FakeSoundDevice

DEVICE = Device(3, "fake loopback", "Test API", 2, 2, 48000.0)


class _SlowStart(FakeOutputStream):
    """Starts as JACK does, a process cycle later; notes the order of PortAudio calls."""

    calls: list[str] = []
    starting = threading.Event()
    release = threading.Event()

    def start(self) -> None:
        self.calls.append("start")
        self.starting.set()
        self.release.wait(5)
        super().start()
        self.calls.append("started")

    def abort(self) -> None:
        self.calls.append("abort")
        super().abort()


class _SlowDevice(FakeSoundDevice):
    OutputStream = _SlowStart


def starting_slowly() -> tuple[Playback, threading.Thread]:
    """A playback whose start is inside (fake) PortAudio until _SlowStart.release is set."""
    _SlowStart.calls = []
    _SlowStart.starting.clear()
    _SlowStart.release.clear()
    playback = Playback(_SlowDevice, DEVICE, np.zeros((48000, 2), np.float32), 48000, "slow.wav")
    starter = threading.Thread(target=playback.start)
    starter.start()
    assert _SlowStart.starting.wait(5)
    return playback, starter


def started_beside(call) -> threading.Thread:
    """`call` in a thread, given 0.2 s to get stuck."""
    thread = threading.Thread(target=call)
    thread.start()
    thread.join(0.2)
    return thread


def test_a_stop_during_a_start_waits_for_it_then_aborts():
    playback, starter = starting_slowly()
    stopper = started_beside(playback.stop)
    assert stopper.is_alive() and _SlowStart.calls == ["start"]  # held until PortAudio has started it
    _SlowStart.release.set()
    starter.join(5)
    stopper.join(5)
    assert _SlowStart.calls == ["start", "started", "abort"] and playback.done.is_set()
    playback.close()


def test_calls_on_two_streams_take_turns():
    """JACK's host API wakes every stream's waiting call through one shared condition: a close of
    one stream must not run while another stream's start waits inside PortAudio."""
    other = Playback(FakeSoundDevice, DEVICE, np.zeros((48000, 2), np.float32), 48000, "b.wav")
    slow, starter = starting_slowly()
    closer = started_beside(other.close)
    assert closer.is_alive() and not other.stream._halt.is_set()  # waits for the start to come back
    _SlowStart.release.set()
    starter.join(5)
    closer.join(5)
    assert not closer.is_alive() and other.stream._halt.is_set()
    slow.stop()
    slow.close()


def test_a_stop_before_the_start_means_no_start_and_the_stream_is_closed_once():
    before = open_streams()
    playback = Playback(FakeSoundDevice, DEVICE, np.zeros((48000, 2), np.float32), 48000, "x.wav")
    assert open_streams() == before + 1
    playback.stop()
    assert playback.start() is False and playback.done.is_set()
    assert not playback.stream._thread.is_alive() and playback.stream.blocks == 0  # never ran
    playback.close()
    playback.close()
    assert open_streams() == before


def test_a_stream_that_cannot_be_opened_is_not_counted_open():
    class _NoDevice(FakeSoundDevice):
        class OutputStream:
            def __init__(self, *args, **kwargs):
                raise RuntimeError("Error opening OutputStream: Invalid device [PaErrorCode -9996]")

    before = open_streams()
    with pytest.raises(RuntimeError, match="Invalid device"):
        Playback(_NoDevice, DEVICE, np.zeros((10, 2), np.float32), 48000, "x.wav")
    assert open_streams() == before

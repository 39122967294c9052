"""The shipped midi model (server/backends/midi/weights), loaded once per test module."""
import pytest


@pytest.fixture(scope="module")
def backend():
    from server.backends.midi import MidiBackend

    b = MidiBackend("midi", {})
    b.check_available()
    b.load()
    return b


"""Fixtures shared by the bridge tests: `jack`, a JACK server with the dummy driver (virtual MIDI
ports and audio devices on a machine without a sound card)."""
from .jack_server import jack  # noqa: F401 - pytest finds fixtures by name in conftest modules

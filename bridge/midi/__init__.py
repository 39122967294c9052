"""The MIDI front door: controller pads, knobs and DAW tracks as a source of requests.

- `mapping`: the mapping file (TOML) and the pure function from MIDI messages to actions.
- `learn`: `dawgen midi learn NAME` writes the next message's binding into the mapping file.
- `clock`: MIDI clock/start follower (bars for `capture start=bar`).
- `ports`: opening ports by name pattern through mido (imported lazily: the `midi` extra).
- `door`: the front door started by `dawgen serve` when the config has a `[midi]` section.

Nothing here imports mido at module level, so a daemon without MIDI never loads it.
"""

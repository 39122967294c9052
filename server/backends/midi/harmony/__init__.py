"""Harmony for the midi backend (issue #26): chord symbols, chord-conditioned models, their data,
training and the verbs `midi/generate kind=chords|bass|piano|trio`, `midi/harmonize`,
`midi/bassline` and `midi/improvise`. Only chords.py and spec.py are torch-free."""

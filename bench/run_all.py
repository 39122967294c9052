"""Run every benchmark of the daemon spine and print their figures (`make bench`)."""
from __future__ import annotations

import journal_size
import midi
import osc_latency
import post
import stable_audio
import startup
import train
import web
import writer

if __name__ == "__main__":
    for module in (startup, osc_latency, journal_size, writer, post, web, stable_audio, midi, train):
        module.main()
        print()

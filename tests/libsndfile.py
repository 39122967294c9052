"""libsndfile's own chunk readers (sf_command), as an independent check of the metadata dawgen writes.

soundfile has no public wrapper for sf_command, so this one place uses its handle on the library it
loaded (`_snd`, `_ffi`) and the open file's SNDFILE pointer (`_file`): the same libsndfile that
reads the audio, whatever copy the platform has. If soundfile renames them, only this file changes.
"""
from __future__ import annotations

from os import PathLike

import soundfile as sf

SFC_GET_INSTRUMENT = 0x10D0  # -> SF_INSTRUMENT (smpl chunk)
SFC_GET_LOOP_INFO = 0x10E0  # -> SF_LOOP_INFO (acid chunk); 44 bytes, a size libsndfile checks
SF_INSTRUMENT_SIZE = 4 + 6 + 2 + 4 + 16 * 16
SF_LOOP_INFO_SIZE = 44


def sf_command(path: str | PathLike[str], command: int, size: int) -> tuple[int, bytes]:
    """(libsndfile's return value, the `size` bytes it filled) for a command that reads a struct."""
    with sf.SoundFile(str(path)) as f:
        buf = sf._ffi.new("char[]", size)
        ok = sf._snd.sf_command(f._file, command, buf, size)
        return ok, bytes(sf._ffi.buffer(buf, size))

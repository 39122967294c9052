"""DAW metadata chunks, checked against their specs with readers that are not dawgen's: struct
parsing of the documented layouts, libsndfile's own chunk readers (sf_command) and wavinfo."""
import io
import struct
from datetime import datetime

import numpy as np
import pytest
from wavinfo import WavInfoReader

from server.output import wav, wavchunks
from server.output.wavchunks import FileFacts
from tests.libsndfile import SF_INSTRUMENT_SIZE, SF_LOOP_INFO_SIZE, SFC_GET_INSTRUMENT, SFC_GET_LOOP_INFO, sf_command


def loop_facts(**kw):
    base = dict(frames=96000, sample_rate=48000, title="lofi drum loop", comment="dawgen synth seed 7",
                software="dawgen 0.1.0", job_id="abc123", created=datetime(2026, 11, 22, 3, 4, 5).timestamp(),
                bpm=120.0, beats=8.0, time_signature=(7, 8), root_note=57, loop=True, keywords="120bpm Am loop",
                time_reference=48000 * 10, loudness_lufs=-14.02, true_peak_dbtp=-1.0)
    base.update(kw)
    return FileFacts(**base)


def wav_file(facts, tmp_path, provenance=None):
    x = np.zeros((facts.frames, 2), dtype=np.float32)
    path = tmp_path / "loop.wav"
    path.write_bytes(wav.encode(x, facts.sample_rate, "24", wavchunks.all_chunks(facts, provenance or {"seed": 7})))
    return path


def chunks_of(data: bytes) -> dict:
    out, pos = {}, 12
    while pos + 8 <= len(data):
        tag, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        out[tag] = data[pos + 8:pos + 8 + size]
        pos += 8 + size + (size & 1)
    return out


def test_acid_layout_per_spec_numerator_first(tmp_path):
    acid = chunks_of(wav_file(loop_facts(), tmp_path).read_bytes())[b"acid"]
    flags, root, _, _, beats, num, den, tempo = struct.unpack("<IHHfIHHf", acid)
    assert len(acid) == 24
    assert flags & wavchunks.ACID_ONE_SHOT == 0 and flags & wavchunks.ACID_ROOT_VALID and flags & wavchunks.ACID_STRETCH
    assert (root, beats, num, den, tempo) == (57, 8, 7, 8, 120.0)


def test_libsndfile_reads_acid_and_smpl(tmp_path):
    path = wav_file(loop_facts(), tmp_path)
    ok, raw = sf_command(path, SFC_GET_LOOP_INFO, SF_LOOP_INFO_SIZE)
    assert ok == 1
    sig_num, sig_den, mode, beats, bpm, root = struct.unpack("<hhiifi", raw[:20])
    assert (beats, bpm, root) == (8, 120.0, 57)
    # libsndfile swaps the meter (libsndfile issue #190): it reports our numerator as the denominator
    assert (sig_num, sig_den) == (8, 7)
    ok, raw = sf_command(path, SFC_GET_INSTRUMENT, SF_INSTRUMENT_SIZE)
    assert ok == 1
    basenote, loop_count = raw[4], struct.unpack("<i", raw[12:16])[0]
    mode, start, end, count = struct.unpack("<iIII", raw[16:32])
    # smpl stores the last looped sample (inclusive, per the spec); libsndfile reports an exclusive end
    assert basenote == 57 and loop_count == 1 and (start, end) == (0, 96000)
    smpl = chunks_of(path.read_bytes())[b"smpl"]
    assert struct.unpack("<6I", smpl[36:60])[2:4] == (0, 96000 - 1)


def test_wavinfo_reads_bext_info_smpl_and_ixml(tmp_path):
    provenance = {"seed": 7, "params": {"prompt": "lofi drum loop"}, "model": {"name": "synth"}}
    info = WavInfoReader(str(wav_file(loop_facts(), tmp_path, provenance)))
    assert info.fmt.sample_rate == 48000 and info.fmt.channel_count == 2 and info.fmt.bits_per_sample == 24
    assert info.bext.description == "lofi drum loop" and info.bext.originator == "dawgen"
    assert info.bext.originator_ref == "abc123" and info.bext.time_reference == 480000
    assert info.bext.originator_date == "2026-11-22" and info.bext.originator_time == "03:04:05"
    assert info.bext.loudness_value == pytest.approx(-14.02) and info.bext.max_true_peak == pytest.approx(-1.0)
    assert info.info.title == "lofi drum loop" and info.info.software == "dawgen 0.1.0"
    assert info.smpl.midi_note == 57 and len(info.smpl.sample_loops) == 1
    assert info.ixml is not None and "DAWGEN_PROVENANCE" in info.ixml.xml_str() and info.ixml.project == "lofi drum loop"


def test_one_shot_has_no_loop_and_the_one_shot_flag(tmp_path):
    data = wav_file(loop_facts(loop=False, bpm=None, beats=None, root_note=None), tmp_path).read_bytes()
    c = chunks_of(data)
    flags = struct.unpack("<I", c[b"acid"][:4])[0]
    assert flags & wavchunks.ACID_ONE_SHOT and not flags & wavchunks.ACID_ROOT_VALID
    assert struct.unpack("<I", c[b"smpl"][28:32])[0] == 0  # no sample loops


def test_provenance_round_trips_through_ixml(tmp_path):
    provenance = {"seed": 7, "request": {"verb": "generate", "params": {"prompt": "a <b> & 'c'"}}}
    with open(wav_file(loop_facts(), tmp_path, provenance), "rb") as fh:
        assert wavchunks.read_provenance(fh) == provenance
    assert wavchunks.read_provenance(io.BytesIO(b"not a wav file at all")) is None

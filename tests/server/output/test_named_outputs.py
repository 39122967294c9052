"""Backend-named outputs (stems): `<input-name>_<stem>` keeps its underscore, one folder per input,
the input's rate when the request names none, and the audio written as it is (`post: none`)."""
import numpy as np
import soundfile as sf

from server.backends.base import Audio
from server.jobs import Job
from server.output.naming import slugify_name
from server.output.writer import OutputWriter


def test_slugify_name_keeps_the_parts_apart():
    assert slugify_name("My Song (final)_no_vocals") == "my-song-final_no_vocals"
    assert slugify_name("__", fallback="separate") == "separate"
    assert slugify_name("con_bass") == "con-_bass"  # a reserved Windows name is still refused
    assert slugify_name("x" * 80 + "_drums") == "x" * 48 + "_drums"


def test_stems_land_in_one_folder_per_input_untouched(tmp_path):
    rng = np.random.default_rng(0)
    quiet = (rng.standard_normal((44100, 2)) * 0.01).astype(np.float32)  # loudness would raise this
    outputs = [Audio(quiet * (k + 1), 44100, meta={"name": f"my-song_{stem}", "folder": "my-song", "post": "none"})
               for k, stem in enumerate(("drums", "bass"))]
    job = Job(id=Job.new_id(), verb="separate", model="stems",
              params={"bit_depth": "32f", "format": "wav", "dir": "stems", "input": "/x/My Song.wav"})
    paths = OutputWriter([tmp_path]).write_job(job, outputs, {})
    assert [p.replace(str(tmp_path), "") for p in paths] == ["/stems/my-song/my-song_drums.wav",
                                                              "/stems/my-song/my-song_bass.wav"]
    for k, path in enumerate(paths):
        data, rate = sf.read(path, dtype="float32")
        assert rate == 44100 and np.array_equal(data, quiet * (k + 1))

"""The musicgen backend on tiny random-weight MusicGen / MusicGen-Melody models saved as users' folders
(what a model folder must hold, and the clear errors when it does not: test_musicgen_folders.py).

The tiny models' window is 1 s (50 frames), so requests of a few seconds really go window by window.
"""
from __future__ import annotations

import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from server.backends.base import RunContext
from server.backends.musicgen import MusicgenBackend, spec
from server.errors import DawgenError, ErrorCode, JobCancelled
from server.params import validate
from tests.server.backends.daemon_side import assert_daemon_side_imports_none
from tests.server.backends.musicgen_tiny import fake_cache, tiny_models

RATE = 32000


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> dict[str, Path]:
    pytest.importorskip("torch", reason="torch is not installed (make test installs it)")
    pytest.importorskip("transformers", reason="the musicgen extra is not installed")
    return tiny_models(tmp_path_factory.getbasetemp())


def loaded(path: Path, name: str = "tiny") -> MusicgenBackend:
    backend = MusicgenBackend(name, {"path": str(path)})
    backend.check_available()
    backend.load()
    return backend


@pytest.fixture(scope="module")
def text_model(tiny) -> MusicgenBackend:
    return loaded(tiny["musicgen"])


@pytest.fixture(scope="module")
def melody_model(tiny) -> MusicgenBackend:
    return loaded(tiny["melody"], "tiny-melody")


def run(backend: MusicgenBackend, verb: str, progress=None, cancel=None, **raw):
    params = validate(backend.verbs[verb], raw, verb)
    params.setdefault("seed", 0)
    return backend.run(verb, RunContext(params, progress, cancel))


def write_clip(path: Path, seconds: float, rate: int = 44100, channels: int = 2, freq: float = 220.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    tone = 0.4 * np.sin(2 * np.pi * freq * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
    clip = np.repeat(tone[:, None], channels, axis=1).astype(np.float32)
    sf.write(path, clip, rate, subtype="FLOAT")
    return clip


# -- request arithmetic (no torch) --------------------------------------------------------------
@pytest.mark.parametrize("prompt_frames", [0, 7, 30, 400])
@pytest.mark.parametrize("new_frames", [1, 20, 50, 51, 137, 1000])
def test_window_plan_covers_the_request_inside_the_window(prompt_frames, new_frames):
    window, stride = 50, spec.stride_frames(50)
    plan = spec.plan_windows(prompt_frames, new_frames, window, stride)
    assert sum(new for _, new in plan) == new_frames
    assert all(0 < new and context + new <= window for context, new in plan)
    assert plan[0][0] == min(prompt_frames, window - min(stride, new_frames))
    for context, _new in plan[1:]:
        assert context >= window - stride  # every later window keeps context from the one before


def test_length_from_bars_and_tempo_in_the_prompt():
    assert spec.target_seconds({"bars": 2, "bpm": 120, "seconds": 3}) == pytest.approx(4.0)
    assert spec.target_seconds({"bars": 2, "bpm": 120, "time_signature": "7/8"}) == pytest.approx(3.5)
    assert spec.target_seconds({"seconds": None}, input_seconds=6.5) == 6.5
    with pytest.raises(ValueError, match="bars needs bpm"):
        spec.target_seconds({"bars": 2})
    with pytest.raises(ValueError, match="longer than the 600 s"):
        spec.target_seconds({"bars": 256, "bpm": 40})
    assert spec.prompt_text({"prompt": "dark techno", "bpm": 128.0, "key": "F#m"}) == "dark techno, in F# minor, 128 bpm"
    assert spec.prompt_text({"prompt": "lofi at 90 BPM", "bpm": 90.0}) == "lofi at 90 BPM"
    assert spec.prompt_text({"bpm": 100.5}) == "100.5 bpm"


def test_input_checks_at_submit(tmp_path, tiny):
    backend = MusicgenBackend("tiny", {"path": str(tiny["musicgen"])})
    write_clip(tmp_path / "clip.wav", 1.0)
    (tmp_path / "notes.txt").write_text("not audio")
    cases = {None: "give the path", "clip.wav": "not an absolute path", str(tmp_path / "none.wav"): "no file",
             str(tmp_path / "notes.txt"): "not an audio file"}
    for value, message in cases.items():
        with pytest.raises(DawgenError, match=message) as info:
            backend.check_params("continue", {"input": value, "seconds": 2.0})
        assert info.value.code == ErrorCode.BAD_REQUEST
    with pytest.raises(DawgenError, match="empty or shorter"):
        backend.check_params("continue", {"input": str(tmp_path / "clip.wav"), "start": 2.0})
    backend.check_params("continue", {"input": str(tmp_path / "clip.wav"), "seconds": 2.0})


# -- generation on the tiny models --------------------------------------------------------------
def test_text_count_is_one_batch_whose_rows_are_their_own_seeds(text_model):
    batch = run(text_model, "generate", prompt="dark techno", seconds=0.6, count=3, seed=10)
    assert [a.seed for a in batch] == [10, 11, 12]
    assert all(a.sample_rate == RATE and a.samples.shape == (int(0.6 * RATE), 1) for a in batch)
    assert batch[0].meta["prompt_used"] == "dark techno" and "bpm" not in batch[0].meta
    single = run(text_model, "generate", prompt="dark techno", seconds=0.6, seed=11)[0]
    np.testing.assert_allclose(single.samples, batch[1].samples, atol=1e-5)  # `dawgen regen` of row 1
    assert np.abs(batch[0].samples - batch[1].samples).max() > 0.01


def test_a_batch_that_runs_out_of_memory_is_halved_and_gives_the_same_files(text_model, monkeypatch):
    """A device out of memory on the batch of 3 (injected: a CPU does not run out at this size)
    retries with smaller batches; row i keeps seed + i, so the files are those of one batch."""
    import torch

    whole = run(text_model, "generate", prompt="dark techno", seconds=0.4, count=3, seed=20)
    real = text_model.model.generate
    sizes = []

    def tight(text, n, *args, **kwargs):
        sizes.append(n)
        if n > 1:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(text, n, *args, **kwargs)

    monkeypatch.setattr(text_model.model, "generate", tight)
    halved = run(text_model, "generate", prompt="dark techno", seconds=0.4, count=3, seed=20)
    assert sizes == [3, 1, 1, 1]  # 3 fails, then 1 (half of 3) at a time
    assert [a.seed for a in halved] == [20, 21, 22]
    for a, b in zip(whole, halved):
        np.testing.assert_allclose(a.samples, b.samples, atol=1e-5)


def test_same_seed_same_audio_other_seed_or_prompt_differs(text_model):
    first = run(text_model, "generate", prompt="warm piano", seconds=0.5, seed=7)[0].samples
    again = run(text_model, "generate", prompt="warm piano", seconds=0.5, seed=7)[0].samples
    other_seed = run(text_model, "generate", prompt="warm piano", seconds=0.5, seed=8)[0].samples
    other_prompt = run(text_model, "generate", prompt="dark bass", seconds=0.5, seed=7)[0].samples
    assert np.array_equal(first, again)
    assert np.abs(first - other_seed).max() > 0.01 and np.abs(first - other_prompt).max() > 0.01


def test_past_the_window_progress_runs_across_windows(text_model):
    seen = []
    out = run(text_model, "generate", progress=lambda f, s: seen.append((f, s)), prompt="house", seconds=2.5, seed=3)
    assert out[0].samples.shape[0] == int(2.5 * RATE)
    windows = text_model.model.plan(0, int(2.5 * 50))
    assert out[0].meta["windows"] == len(windows) >= 3
    generating = [f for f, s in seen if s == "generating"]
    assert len(generating) == text_model.model.steps(windows)  # one report per decoding step
    assert generating == sorted(generating) and generating[-1] > 0.9
    assert seen[-1] == (1.0, "decoding")


def test_cancel_stops_at_the_next_decoding_step(text_model):
    cancel, calls = threading.Event(), []

    def progress(fraction, stage):
        calls.append(fraction)
        if len(calls) == 20:
            cancel.set()

    with pytest.raises(JobCancelled):
        run(text_model, "generate", progress=progress, cancel=cancel, prompt="techno", seconds=5.0, seed=1)
    assert len(calls) == 20  # the step after the cancel raised before reporting anything


def test_continue_new_part_only_and_input_plus_continuation(text_model, tmp_path):
    clip = write_clip(tmp_path / "clip.wav", 0.7)
    new = run(text_model, "continue", input=str(tmp_path / "clip.wav"), seconds=0.8, seed=5)[0]
    assert (new.sample_rate, new.samples.shape) == (RATE, (int(0.8 * RATE), 1))
    assert new.meta["post"] == "none" and new.meta["context_seconds"] > 0
    both = run(text_model, "continue", input=str(tmp_path / "clip.wav"), seconds=0.8, seed=5, include_input=True)[0]
    assert both.sample_rate == 44100 and both.channels == 2
    assert both.frames == pytest.approx(clip.shape[0] + 0.8 * 44100, abs=2)
    fade = int(0.01 * 44100)
    assert np.array_equal(both.samples[: clip.shape[0] - fade], clip[: clip.shape[0] - fade])  # the clip, untouched
    other = write_clip(tmp_path / "other.wav", 0.7, freq=880.0)
    assert other.shape == clip.shape
    changed = run(text_model, "continue", input=str(tmp_path / "other.wav"), seconds=0.8, seed=5)[0]
    assert np.abs(changed.samples - new.samples).max() > 0.01  # the continuation follows its input


def test_continue_a_section_past_the_window(text_model, tmp_path):
    clip = write_clip(tmp_path / "clip.wav", 2.0, rate=48000, channels=1)
    out = run(text_model, "continue", input=str(tmp_path / "clip.wav"), start=0.5, end=1.5, seconds=2.2, seed=2,
              include_input=True)[0]
    section = clip[24000:72000]
    assert out.frames == pytest.approx(section.shape[0] + 2.2 * 48000, abs=2)
    assert np.array_equal(out.samples[:40000], section[:40000])
    assert out.meta["windows"] >= 3


def test_melody_follows_its_input_and_defaults_to_its_length(melody_model, tmp_path):
    assert "melody" in melody_model.verbs
    write_clip(tmp_path / "a.wav", 1.0, channels=1, freq=440.0)
    write_clip(tmp_path / "c.wav", 1.0, channels=1, freq=523.25)
    a = run(melody_model, "melody", input=str(tmp_path / "a.wav"), prompt="piano", seed=4)[0]
    c = run(melody_model, "melody", input=str(tmp_path / "c.wav"), prompt="piano", seed=4)[0]
    assert a.samples.shape == (RATE, 1) and c.samples.shape == (RATE, 1)
    assert np.abs(a.samples - c.samples).max() > 0.01
    long = run(melody_model, "melody", input=str(tmp_path / "a.wav"), seconds=2.5, seed=4, count=2)
    assert [x.samples.shape[0] for x in long] == [int(2.5 * RATE)] * 2 and long[0].meta["windows"] >= 3
    assert run(melody_model, "generate", prompt="piano", seconds=0.3, seed=1)[0].frames == int(0.3 * RATE)


def test_only_melody_models_offer_melody(text_model):
    assert set(text_model.verbs) == {"generate", "continue"}


def test_chroma_without_torchaudio_finds_the_pitch_class():
    from server.backends.musicgen.audio import chroma

    t = np.arange(44100) / 44100
    for freq, pitch_class in ((440.0, 9), (261.63, 0), (392.0, 7)):
        features = chroma(np.sin(2 * np.pi * freq * t)[:, None].astype(np.float32), 44100, {})
        assert features.shape[1] == 12 and float(features.sum(dim=1).max()) == 1.0
        assert int(features.argmax(dim=1).mode().values) == pitch_class


def test_sampler_guides_and_samples_per_row():
    torch = pytest.importorskip("torch")
    from server.backends.musicgen.sampling import RowSampler, Sampling, generators

    rows, vocab = 2 * 4, 16
    scores = torch.randn(2 * rows, vocab)
    guided = scores[rows:] + 3.0 * (scores[:rows] - scores[rows:])
    steps = []
    greedy = RowSampler(generators(0, 2, "cpu"), 4, Sampling(temperature=0.0, guidance_scale=3.0),
                        lambda: steps.append(1))
    out = greedy(torch.zeros(rows, 3, dtype=torch.long), scores)
    assert out.shape == scores.shape and steps == [1]
    assert torch.equal(out[:rows].argmax(1), guided.argmax(1)) and torch.equal(out[rows:], out[:rows])
    top1 = RowSampler(generators(0, 2, "cpu"), 4, Sampling(top_k=1), lambda: None)
    assert torch.equal(top1(torch.zeros(rows, 3, dtype=torch.long), scores[:rows]).argmax(1), scores[:rows].argmax(1))


def test_loads_from_a_hugging_face_cache_snapshot(tiny, tmp_path):
    repo = fake_cache(tmp_path, tiny["musicgen"])
    backend = loaded(repo, "cached")
    assert backend.fingerprint()["weights_sha256"]
    assert run(backend, "generate", prompt="lofi", seconds=0.2, seed=1)[0].frames == int(0.2 * RATE)


def test_a_tokenizer_saved_as_spiece_model_only_loads(tiny, tmp_path):
    spm = pytest.importorskip("sentencepiece")
    pytest.importorskip("google.protobuf", reason="protobuf reads spiece.model into a tokenizer")
    folder = tmp_path / "spiece"
    shutil.copytree(tiny["musicgen"], folder)
    (folder / "tokenizer.json").unlink()
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(["dark techno drum loop", "warm lofi piano chords", "funky bass 120 bpm"] * 40))
    spm.SentencePieceTrainer.train(input=str(corpus), model_prefix=str(folder / "spiece"), vocab_size=30,
                                   pad_id=0, eos_id=1, unk_id=2, bos_id=-1, minloglevel=2)
    (folder / "spiece.vocab").unlink()
    backend = loaded(folder, "spiece")
    assert run(backend, "generate", prompt="dark techno", seconds=0.2, seed=1)[0].frames == int(0.2 * RATE)


def test_long_outputs_decode_in_chunks_without_seams(text_model):
    torch = pytest.importorskip("torch")
    codes = torch.randint(0, 64, (2, 4, 230), generator=torch.Generator().manual_seed(0))
    model = text_model.model
    whole = model.decode(codes, chunk=10_000)
    chunked = model.decode(codes, chunk=60)
    assert whole.shape == chunked.shape == (2, 230 * model.hop, 1)
    np.testing.assert_allclose(chunked, whole, atol=1e-4)


def test_the_daemon_side_never_imports_torch(tiny, tmp_path):
    """Registry, submit-time checks and `models` run in the daemon process: no torch, no transformers."""
    write_clip(tmp_path / "clip.wav", 0.5)
    assert_daemon_side_imports_none("musicgen", {"path": str(tiny["musicgen"])}, "continue",
                                    {"input": str(tmp_path / "clip.wav")}, ("torch", "transformers"))


def test_protocol_doc_holds_the_musicgen_parameter_tables():
    from bridge.protocol_doc import param_row

    doc = (Path(__file__).resolve().parents[3] / "docs" / "PROTOCOL.md").read_text().splitlines()
    sections = {"#### `/dawgen/generate` with a `musicgen` model": spec.GENERATE_PARAMS,
                "#### `/dawgen/continue` (musicgen)": spec.CONTINUE_PARAMS,
                "#### `/dawgen/melody` (musicgen, MusicGen-Melody models only)": spec.MELODY_PARAMS}
    for heading, specs in sections.items():
        assert heading in doc, f"docs/PROTOCOL.md has no section {heading!r}"
        rows = []
        for line in doc[doc.index(heading) + 1:]:
            if line.startswith("#"):
                break
            if line.startswith("| `"):
                rows.append(line)
        assert rows == [param_row(s) for s in specs], heading


def test_guidance_scale_one_switches_guidance_off(text_model, monkeypatch):
    from server.backends.musicgen import sampling

    ratios = []
    real = sampling.RowSampler.__call__

    def spy(self, input_ids, scores):
        ratios.append(scores.shape[0] // input_ids.shape[0])  # 2: conditional and unconditional rows
        return real(self, input_ids, scores)

    monkeypatch.setattr(sampling.RowSampler, "__call__", spy)
    run(text_model, "generate", prompt="dark", seconds=0.1, guidance_scale=1.0)
    assert set(ratios) == {1}
    ratios.clear()
    run(text_model, "generate", prompt="dark", seconds=0.1, guidance_scale=3.0)
    assert set(ratios) == {2}

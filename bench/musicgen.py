"""MusicGen backend figures on a tiny random-weight model (tests/server/backends/musicgen_tiny.py).

1. Time to file: a warm daemon (model loaded and warmed up) against a cold process that imports
   transformers, loads the same model and generates once (what a script per request costs).
   Target: warm >= 20x faster.
2. Decoding steps per second at batch 1 and batch 4 (`count` is one batched call).
3. Where CUDA is present: a musicgen-small-sized model with random weights (588M parameters), 10 s
   of audio in float16: real-time factor and peak GPU memory. `--size-check` runs that path on the
   CPU with 0.5 s of audio, to check it without a GPU.

    .venv/bin/python bench/musicgen.py [--seconds 1.0] [--runs 5] [--size-check]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import REPO, serve
from table import Row, at_least

COLD = """
import sys, time
import soundfile as sf, torch
from transformers import AutoTokenizer, MusicgenForConditionalGeneration
folder, out, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
torch.set_num_threads(max(1, torch.get_num_threads() // 2))  # as the backend does
model = MusicgenForConditionalGeneration.from_pretrained(folder, local_files_only=True).eval()
tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
inputs = tokenizer(["dark techno"], return_tensors="pt")
frames = int(seconds * 50)
with torch.inference_mode():
    audio = model.generate(**inputs, max_new_tokens=frames + 3, do_sample=True, guidance_scale=3.0)
sf.write(out, audio[0, 0].numpy(), 32000)
"""


def cold_time_to_file(folder: Path, seconds: float, tmp: Path, run: int) -> float:
    out = tmp / f"cold-{run}.wav"
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", COLD, str(folder), str(out), str(seconds)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO)
    if not out.is_file():
        raise RuntimeError("the cold process wrote no file")
    return time.perf_counter() - started


def warm_daemon(folder: Path, tmp: Path) -> tuple[subprocess.Popen, int]:
    return serve(tmp, f'[models.tiny]\nbackend = "musicgen"\npath = "{folder}"\npreload = true\n')


def warm_times(port: int, seconds: float, runs: int) -> list[float]:
    from bridge.client import Client

    params = {"model": "tiny", "prompt": "dark techno", "seconds": seconds, "guidance_scale": 3.0}
    with Client("127.0.0.1", port) as client:
        client.generate({**params, "seed": 0}, timeout=300)  # the model is loaded and warm from here on
        times = []
        for run in range(runs):
            started = time.perf_counter()
            client.generate({**params, "seed": run + 1}, timeout=300)
            times.append(time.perf_counter() - started)
    return times


def steps_per_second(folder: Path, runs: int, device: str = "cpu", frames: int = 50) -> dict[int, float]:
    from server.backends.musicgen import MusicgenBackend
    from server.backends.musicgen.sampling import Sampling

    backend = MusicgenBackend("bench", {"path": str(folder), "device": device})
    backend.load()
    model = backend._model
    plan = model.plan(0, min(frames, model.window))
    out = {}
    for batch in (1, 4):
        times = []
        for run in range(runs):
            started = time.perf_counter()
            model.generate("dark techno", batch, run, Sampling(), plan)
            times.append(time.perf_counter() - started)
        out[batch] = model.steps(plan) / statistics.median(times)
    return out


def small_sized(folder: Path) -> Path:
    """MusicGen-small's shapes (T5-base text encoder, 24 x 1024 decoder, 32 kHz EnCodec), random weights."""
    import torch
    from transformers import EncodecConfig, MusicgenConfig, MusicgenDecoderConfig, MusicgenForConditionalGeneration, T5Config

    from tests.server.backends.musicgen_tiny import build_tokenizer

    torch.manual_seed(0)
    t5 = T5Config(vocab_size=32128, d_model=768, d_kv=64, d_ff=3072, num_layers=12, num_heads=12)
    codec = EncodecConfig(sampling_rate=32000, upsampling_ratios=[8, 5, 4, 4], target_bandwidths=[2.2],
                          num_filters=64, hidden_size=128, codebook_size=2048, num_lstm_layers=2,
                          use_causal_conv=False, normalize=False, use_conv_shortcut=False)
    decoder = MusicgenDecoderConfig(vocab_size=2048, max_position_embeddings=2048, num_hidden_layers=24, ffn_dim=4096,
                                    num_attention_heads=16, hidden_size=1024, num_codebooks=4)
    model = MusicgenForConditionalGeneration(MusicgenConfig(text_encoder=t5, audio_encoder=codec, decoder=decoder))
    generation = model.generation_config
    generation.decoder_start_token_id = generation.pad_token_id = 2048
    generation.max_length, generation.do_sample, generation.guidance_scale = 1500, True, 3.0
    model.half().save_pretrained(folder)
    build_tokenizer().save_pretrained(folder)
    return folder


def small_sized_figures(tmp: Path, device: str, seconds: float) -> None:
    import torch

    from server.backends.base import RunContext
    from server.backends.musicgen import MusicgenBackend

    folder = small_sized(tmp / "small")
    backend = MusicgenBackend("small", {"path": str(folder), "device": device})
    started = time.perf_counter()
    backend.load()
    load = time.perf_counter() - started
    params = {"prompt": "dark techno", "seconds": seconds, "seed": 1, "count": 1, "temperature": 1.0, "top_k": 250,
              "top_p": 0.0, "guidance_scale": 3.0}
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    backend.run("generate", RunContext(params))
    took = time.perf_counter() - started
    params_m = sum(p.numel() for p in backend._model.model.parameters()) / 1e6
    print(f"  musicgen-small-sized ({params_m:.0f}M params, {backend._model.model.dtype}) on {device}: "
          f"load + warm-up {load:.1f} s; {seconds:g} s of audio in {took:.2f} s = real-time factor {took / seconds:.3f}")
    if device.startswith("cuda"):
        print(f"  peak GPU memory: {torch.cuda.max_memory_allocated() / 2**30:.2f} GiB")


def main(seconds: float = 1.0, runs: int = 5, size_check: bool = False) -> dict[str, float]:
    args = argparse.Namespace(seconds=seconds, runs=runs, size_check=size_check)
    import torch

    from tests.server.backends.musicgen_tiny import build_musicgen

    with tempfile.TemporaryDirectory(prefix="dawgen-bench-mg-") as name:
        tmp = Path(name)
        folder = build_musicgen(tmp / "tiny")
        print(f"musicgen (tiny random-weight model, {args.seconds:g} s of audio, guidance 3, {args.runs} runs)")
        proc, port = warm_daemon(folder, tmp)
        try:
            warm = warm_times(port, args.seconds, args.runs)
        finally:
            proc.terminate()
            proc.wait(60)
        cold = [cold_time_to_file(folder, args.seconds, tmp, run) for run in range(max(1, args.runs // 2))]
        w, c = statistics.median(warm), statistics.median(cold)
        print(f"  time to file, warm daemon (OSC request -> /done): median {w * 1000:.0f} ms "
              f"(min {min(warm) * 1000:.0f}, max {max(warm) * 1000:.0f})")
        print(f"  time to file, cold process (start, load, generate, write): median {c:.2f} s")
        print(f"  warm is {c / w:.1f}x faster (target >= 20x)")
        rates = steps_per_second(folder, args.runs)
        print(f"  decoding steps/s on cpu: batch 1 {rates[1]:.0f}, batch 4 {rates[4]:.0f} "
              f"(= {4 * rates[4] / rates[1]:.1f}x the audio per second of batch 1)")
        if torch.cuda.is_available():
            small_sized_figures(tmp, "cuda", 10.0)
        elif args.size_check:
            small_sized_figures(tmp, "cpu", 0.5)
        else:
            print("  no CUDA device: the musicgen-small-sized GPU figures were not measured")
    return {"cold_s": c, "warm_s": w}


def rows(res: dict[str, float]) -> list[Row]:
    return [at_least("musicgen", "time to file: cold process / warm daemon", res["cold_s"] / res["warm_s"], "x",
                     20.0, f"warm {res['warm_s']:.3f} s, cold {res['cold_s']:.2f} s")]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="audio per request (the tiny window is 1 s)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--size-check", action="store_true", help="run the small-sized path on the CPU (0.5 s)")
    cli = parser.parse_args()
    main(cli.seconds, cli.runs, cli.size_check)

"""`dawgen train-midi`: train the midi models from real music and write a weights folder.

    dawgen train-midi {melody,drums,vae,harmony,all} --out FOLDER [--data FOLDER_OF_MIDI_FILES]
                      [--epochs N] [--seed N] [--max-minutes M] [--workers N]

(`dawgen train-midi drums|melody --data FOLDER --name NAME` instead runs the daemon's train job:
bridge/train_midi.py; the step and loss code both share is steps.py.)

Default data is what the shipped weights learned from: the music21 corpus (the German song
books of its Essen folk song collection, inside the `music21` package) for melodies, Debian's
`hydrogen-data` demo songs for drums (data.py). `--data` trains on your own MIDI files instead
(melodies from the non-drum notes, drums from channel 10). The weights folder gets `midi.json`
(configs, data, training time, held-out figures) and one `.pt` per model; an existing folder keeps
the models not retrained. The same seed, data and machine give the same weights (torch runs on
the CPU here, with a fixed thread count).
"""
from __future__ import annotations

import argparse
import hashlib
import math
import os
import platform
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import data as D
from . import vocab as V
from .baseline import trigram_nll
from .steps import DRUM_SEQ, drum_loss, drum_objective, drum_tensors, melody_batch, melody_loss, tune_arrays, window_start
from .steps import drum_windows as drum_train_windows
from .store import INDEX, read_index, store_model, write_index
from .train_vae import drum_windows, melody_windows, train_vae

PARTS = ("melody", "drums", "vae", "harmony", "all")
HELD_OUT_DRUM_EVERY = 5  # every 5th 4-bar section of each drum song is held out
HELD_OUT_EVERY = 20  # every 20th tune (in corpus order) is held out for evaluation
Log = Callable[[str], None]


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "dawgen" / "midi"


# -- data ------------------------------------------------------------------------------------------------
def melody_tunes(data: str | None, workers: int, log: Log, max_files: int | None = None) -> tuple[list[D.Tune], dict]:
    if data:
        tunes = D.midi_folder_tunes(data)
        if not tunes:
            raise SystemExit(f"train-midi: no melodies found in the MIDI files under {data}")
        return tunes, {"source": f"MIDI files under {data}", "tunes": len(tunes)}
    files = D.corpus_files(max_files=max_files)
    if not files:
        raise SystemExit("train-midi: the music21 corpus was not found: pip install 'dawgen[midi-train]'")
    import music21

    key = hashlib.sha256(("\n".join(os.path.basename(f) for f in files) + music21.__version__).encode()).hexdigest()[:16]
    cache = cache_dir() / f"tunes-{key}.json"
    if cache.exists():
        tunes = D.load_tunes(cache)
        log(f"melody data: {len(tunes)} tunes from the cache {cache}")
    else:
        log(f"melody data: parsing {len(files)} music21 corpus files (a few minutes; cached afterwards)")
        started = time.monotonic()
        tunes = D.load_corpus_tunes(files, workers, log)
        cache.parent.mkdir(parents=True, exist_ok=True)
        D.save_tunes(tunes, cache)
        log(f"melody data: {len(tunes)} tunes in {time.monotonic() - started:.0f} s")
    return tunes, {"source": "music21 corpus " + " + ".join(D.CORPUS_COLLECTIONS) + f" (music21 {music21.__version__}, BSD-3)",
                   "files": len(files), "tunes": len(tunes)}


def split_tunes(tunes: Sequence[D.Tune]) -> tuple[list[D.Tune], list[D.Tune]]:
    train = [t for i, t in enumerate(tunes) if i % HELD_OUT_EVERY != HELD_OUT_EVERY - 1]
    held = [t for i, t in enumerate(tunes) if i % HELD_OUT_EVERY == HELD_OUT_EVERY - 1]
    return train, held


def drum_songs(data: str | None) -> tuple[list[D.DrumSong], list[D.DrumSong], dict]:
    if data:
        songs = D.midi_folder_drums(data)
        if not songs:
            raise SystemExit(f"train-midi: no drum parts (notes on channel 10) in the MIDI files under {data}")
        held = songs[-1:] if len(songs) > 1 else []
        return songs[: len(songs) - len(held)], held, {"source": f"MIDI files under {data}", "songs": len(songs)}
    try:
        songs = D.hydrogen_songs()
    except RuntimeError as exc:
        raise SystemExit(f"train-midi: {exc}") from None
    train, held = split_drums(songs)
    return train, held, {"source": "Debian hydrogen-data demo songs (/usr/share/hydrogen/data/demo_songs; "
                                   "GPL-2+ per the package's copyright file, each song 'Unknown license')",
                         "songs": [s.source for s in songs],
                         "held_out": f"every {HELD_OUT_DRUM_EVERY}th 4-bar section of each song",
                         "patterns": sum(int(s.meta.get("patterns", 0)) for s in songs),
                         "steps": int(sum(len(s.hits) for s in songs))}


def split_drums(songs: Sequence[D.DrumSong]) -> tuple[list[D.DrumSong], list[D.DrumSong]]:
    """Each song cut in 4-bar sections; every HELD_OUT_DRUM_EVERY-th section is held out, the runs of
    sections between them are training segments. Sections repeat within songs, so the held-out
    figure measures generalisation within the data's styles, not to a new style."""
    train, held = [], []
    for s in songs:
        run_h, run_v = [], []
        for i, start in enumerate(range(0, len(s.hits), DRUM_SEQ)):
            h, v = s.hits[start: start + DRUM_SEQ], s.vel[start: start + DRUM_SEQ]
            if i % HELD_OUT_DRUM_EVERY == HELD_OUT_DRUM_EVERY - 1:
                held.append(D.DrumSong(h, v, f"{s.source}@{start}"))
                if run_h:
                    train.append(D.DrumSong(np.concatenate(run_h), np.concatenate(run_v), s.source))
                run_h, run_v = [], []
            else:
                run_h.append(h)
                run_v.append(v)
        if run_h:
            train.append(D.DrumSong(np.concatenate(run_h), np.concatenate(run_v), s.source))
    return train, held


# -- melody LM -------------------------------------------------------------------------------------------
def melody_batches(tunes: Sequence[D.Tune], rng: random.Random, batch: int) -> Any:
    seqs = [(tune_arrays(t), min(t.bar, V.MAX_POS)) for t in tunes]
    rng.shuffle(seqs)
    for i in range(0, len(seqs), batch):
        chunk = seqs[i: i + batch]
        yield melody_batch(chunk, [window_start(len(tk), rng.randrange) for (tk, _), _ in chunk])


def melody_nll(model: Any, tunes: Sequence[D.Tune]) -> tuple[float, int]:
    """Mean negative log-likelihood (nats) per token of held-out tunes (all tokens after the start)."""
    import torch

    total, count = 0.0, 0
    with torch.inference_mode():
        for t in tunes:
            tk, ps = tune_arrays(t)
            toks, pos = torch.tensor([tk]), torch.tensor([ps])
            logits, _ = model(toks[:, :-1], pos[:, :-1], torch.tensor([min(t.bar, V.MAX_POS)]))
            total += float(torch.nn.functional.cross_entropy(logits[0], toks[0, 1:], reduction="sum"))
            count += len(tk) - 1
    return total / max(1, count), count


def train_melody(tunes: list[D.Tune], args: argparse.Namespace, log: Log) -> tuple[Any, dict]:
    import torch

    from .models import MelodyLM, count_params

    train, held = split_tunes(tunes)
    model = MelodyLM()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    rng = random.Random(args.seed)
    started = time.monotonic()
    history = []
    for epoch in range(args.epochs):
        model.train()
        losses = []
        for batch in melody_batches(train, rng, 64):
            loss = melody_loss(model, batch)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            losses.append(float(loss.detach()))
            if _out_of_time(started, args):
                break
        for g in opt.param_groups:
            g["lr"] *= 0.7
        model.eval()
        nll, _ = melody_nll(model, held[:200])
        history.append({"epoch": epoch + 1, "train_loss": round(float(np.mean(losses)), 4), "held_out_nll": round(nll, 4)})
        log(f"melody epoch {epoch + 1}: train loss {np.mean(losses):.3f}, held-out NLL {nll:.3f} nats/token")
        if _out_of_time(started, args):
            log("melody: --max-minutes reached")
            break
    seconds = time.monotonic() - started
    nll, count = melody_nll(model, held)
    base = trigram_nll([tune_arrays(t)[0] for t in train], [tune_arrays(t)[0] for t in held])
    return model, {"train_seconds": round(seconds, 1), "params": count_params(model), "history": history,
                   "tunes_train": len(train), "tunes_held_out": len(held),
                   "eval": {"held_out_nll_nats_per_token": round(nll, 4), "tokens": count,
                            "trigram_nll_nats_per_token": round(base, 4), "vocab": V.VOCAB}}


# -- drums LM --------------------------------------------------------------------------------------------
def drums_nll(model: Any, songs: Sequence[D.DrumSong]) -> tuple[float, int]:
    """Mean NLL (nats) per 16th step of held-out songs: the sum over lanes of each hit's Bernoulli."""
    import torch

    total, count = 0.0, 0
    with torch.inference_mode():
        for s in songs:
            bce, _ = drum_loss(model, [drum_tensors(s.hits, s.vel, False)])
            total += float(bce) * len(s.hits)
            count += len(s.hits)
    return total / max(1, count), count


def train_drums(train: list[D.DrumSong], held: list[D.DrumSong], args: argparse.Namespace, log: Log) -> tuple[Any, dict]:
    import torch

    from .models import DrumLM, count_params

    model = DrumLM()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=1e-4)
    rng = random.Random(args.seed)
    started = time.monotonic()
    history = []
    windows = drum_train_windows(train)
    epochs = args.epochs * 8  # the drum data is small: more passes over it
    for epoch in range(epochs):
        model.train()
        rng.shuffle(windows)
        losses = []
        for i in range(0, len(windows), 32):
            batch = [drum_tensors(h, v, rng.random() < 0.5) for h, v in windows[i: i + 32]]
            bce, mse = drum_loss(model, batch)
            loss = drum_objective(bce, mse)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            losses.append(float(bce.detach()))
        model.eval()
        nll, _ = drums_nll(model, held) if held else (float("nan"), 0)
        history.append({"epoch": epoch + 1, "train_bce": round(float(np.mean(losses)), 4), "held_out_nll": round(nll, 4)})
        if (epoch + 1) % 8 == 0:
            log(f"drums epoch {epoch + 1}: train NLL {np.mean(losses):.3f}, held-out NLL {nll:.3f} nats/step")
        if _out_of_time(started, args):
            log("drums: --max-minutes reached")
            break
    seconds = time.monotonic() - started
    nll, count = drums_nll(model, held) if held else (float("nan"), 0)
    base = trigram_nll([step_symbols(s.hits) for s in train], [step_symbols(s.hits) for s in held]) if held else float("nan")
    return model, {"train_seconds": round(seconds, 1), "params": count_params(model), "history": history[-3:],
                   "windows": len(windows),
                   "eval": {"held_out_nll_nats_per_step": round(nll, 4), "steps": count,
                            "trigram_nll_nats_per_step": round(base, 4), "vocab": 2 ** V.N_LANES}}


def step_symbols(hits: np.ndarray) -> list[int]:
    """A 16th step's lanes as one symbol (bit i = lane i), the n-gram baseline's vocabulary."""
    return [int(x) for x in (hits.astype(np.int64) << np.arange(hits.shape[1])).sum(1)]


def groove_stats(songs: Sequence[D.DrumSong]) -> dict:
    """Velocity statistics per lane and 16th position (the groove verb's model)."""
    mean = np.zeros((V.N_LANES, 16))
    std = np.zeros((V.N_LANES, 16))
    count = np.zeros((V.N_LANES, 16), np.int64)
    hits = np.concatenate([s.hits for s in songs])
    vel = np.concatenate([s.vel for s in songs])
    pos = np.arange(len(hits)) % 16
    allv = vel[hits > 0]
    for lane in range(V.N_LANES):
        for p in range(16):
            sel = (hits[:, lane] > 0) & (pos == p)
            count[lane, p] = int(sel.sum())
            vs = vel[sel, lane]
            # few hits: shrink toward the lane's own mean (then the overall one)
            lane_v = vel[hits[:, lane] > 0, lane]
            prior = float(lane_v.mean()) if len(lane_v) else float(allv.mean())
            k = 4.0
            mean[lane, p] = (vs.sum() + k * prior) / (len(vs) + k)
            std[lane, p] = math.sqrt(((vs - mean[lane, p]) ** 2).sum() / max(1, len(vs)) + 1e-4) if len(vs) > 1 \
                else float(lane_v.std()) if len(lane_v) > 1 else 0.1
    overall = np.array([float(vel[(hits.max(1) > 0) & (pos == p)].max(1).mean()) if ((hits.max(1) > 0) & (pos == p)).any()
                        else float(allv.mean()) for p in range(16)])
    all_std = np.array([float(vel[(hits.max(1) > 0) & (pos == p)].max(1).std()) if ((hits.max(1) > 0) & (pos == p)).sum() > 1
                        else 0.1 for p in range(16)])
    return {"velocity_mean": np.round(mean, 4).tolist(), "velocity_std": np.round(std, 4).tolist(),
            "hits": count.tolist(), "any_mean": np.round(overall, 4).tolist(), "any_std": np.round(all_std, 4).tolist(),
            "lanes": [name for name, _ in V.DRUM_LANES]}


# -- driver --------------------------------------------------------------------------------------------------
def _out_of_time(started: float, args: argparse.Namespace) -> bool:
    return bool(args.max_minutes) and time.monotonic() - started > args.max_minutes * 60


def run(args: argparse.Namespace, log: Log = print) -> dict:
    import torch

    out = Path(args.out).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.set_num_threads(args.threads)
    try:
        index = read_index(out)
    except ValueError:
        index = {"version": 1, "models": {}}
    index["format"] = "dawgen-midi-1"
    if args.part == "harmony":  # the four harmony models (harmony/train.py): chorales, or --data
        from .harmony.train import run as run_harmony

        return run_harmony(out, args.seed, args.data, args.workers, log=log)
    parts = ("melody", "drums", "vae") if args.part == "all" else (args.part,)
    record = index.setdefault("training", {})
    record.update({"seed": args.seed, "epochs": args.epochs, "threads": args.threads, "torch": torch.__version__,
                   "max_minutes": args.max_minutes, "data": args.data or "default",
                   "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.python_implementation()} "
                              f"{platform.python_version()}"})
    tunes = None
    if "melody" in parts or "vae" in parts:
        tunes, source = melody_tunes(args.data, args.workers, log, args.max_files)
        index.setdefault("data", {})["melody"] = source
    if "drums" in parts or "vae" in parts:
        dtrain, dheld, dsource = drum_songs(args.data)
        index.setdefault("data", {})["drums"] = dsource
    if "melody" in parts:
        torch.manual_seed(args.seed)
        model, info = train_melody(tunes, args, log)  # type: ignore[arg-type]
        store_model(out, index, "melody", model, info, log)
    if "drums" in parts:
        torch.manual_seed(args.seed)
        model, info = train_drums(dtrain, dheld, args, log)
        store_model(out, index, "drums", model, info, log)
        index["groove"] = {**groove_stats(dtrain + dheld), "source": "drum data velocities (see data.drums)"}
    if "vae" in parts:
        train, held = split_tunes(tunes)  # type: ignore[arg-type]
        torch.manual_seed(args.seed)
        model, info = train_vae("vae_melody", melody_windows(train), melody_windows(held), args, log)
        store_model(out, index, "vae_melody", model, info, log)
        torch.manual_seed(args.seed)
        model, info = train_vae("vae_drums", drum_windows(dtrain), drum_windows(dheld), args, log)
        store_model(out, index, "vae_drums", model, info, log)
    write_index(out, index)
    log(f"wrote {out / INDEX}")
    return index


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("part", choices=PARTS, help="which models to train (vae = both interpolation VAEs; harmony = "
                                               "the chord, bass, improv and voicing models)")
    p.add_argument("--out", default=None,
                   help="weights folder to write (created; other models already in it are kept). Use it with "
                        "[models.NAME] backend = \"midi\", path = \"FOLDER\"")
    p.add_argument("--data", default=None,
                   help="a folder of your own MIDI files (searched recursively) instead of the default corpora")
    p.add_argument("--epochs", type=int, default=3, help="passes over the melody data (the small drum data gets 8x, "
                                                         "the drum VAE 15x); default 3")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0): same seed + data = same weights")
    p.add_argument("--max-minutes", type=float, default=None, help="stop each model's training after this long")
    p.add_argument("--workers", type=int, default=2, help="processes parsing the music21 corpus (default 2)")
    p.add_argument("--max-files", type=int, default=None, help="use only the first N corpus files (a quick run)")
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads (default 1: fastest for these small models; fixed for reproducibility)")


def parser() -> argparse.ArgumentParser:
    """`dawgen train-midi`'s arguments; bridge/cli.py parses with it only when train-midi runs."""
    p = argparse.ArgumentParser(prog="dawgen train-midi", description=__doc__.split("\n\n")[0])
    add_arguments(p)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if not args.out:
        p.error("--out is required")
    run(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

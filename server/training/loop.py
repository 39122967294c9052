"""The step loop: read it top to bottom (nanoGPT style), no framework.

    run = open_run(trainee, folder, name)          # resumes from the run's newest checkpoint
    result = train(run, batches, on_step=..., should_stop=..., should_yield=..., on_yield=...)

Every decision happens at a step boundary: before a step, `should_stop()` ends the run (a checkpoint
is saved first, so nothing trained is lost) and `should_yield()` hands the device to live work
(`on_yield()` runs with the trained parts moved to the CPU, then they come back). A resumed run
loads the weights, the optimizer state, the step, the EMA and every random state, and asks
`batches` for the same micro-batch indices, so a run stopped at step 7 and resumed ends with the
weights of a run never stopped.

`batches(i)` returns micro-batch i, in the family's shape (stable-audio: `(audio (batch, channels,
frames) float32, prompts)`; its first item's len() is the number of examples). Step s uses micro-batches s*accumulate .. s*accumulate + accumulate - 1. `seeded_batches` makes such a
function from a dataset's `sample_batch(rng, batch_size)` with one generator per index.
"""
from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DawgenError, ErrorCode
from . import artifacts, objective

log = logging.getLogger("dawgen.training")

Batch = tuple[Any, ...]  # the family's micro-batch; batch[0] has one row per example
WEIGHT_DECAY = {False: 1e-3, True: 0.0}  # full fine-tunes: the library's SAO config; LoRA: none
SOBOL_DIMENSION = 1


@dataclass
class TrainRun:
    trainee: Any  # a family's trainee (families.py)
    folder: Path
    name: str
    optimizer: Any
    scaler: Any  # torch.amp.GradScaler for fp16, else None
    autocast: Any
    precision: str
    sobol: Any  # scrambled Sobol engine: the library's timestep draw
    step: int = 0
    drawn: int = 0  # timesteps drawn so far (the Sobol engine fast-forwards to it on resume)
    losses: list[tuple[int, float]] = field(default_factory=list)
    demo_prompts: list[str] = field(default_factory=list)

    @property
    def settings(self) -> Any:
        return self.trainee.settings


@dataclass
class Result:
    step: int
    stopped: bool  # True: should_stop() ended it before `steps`
    checkpoint: Path | None  # the newest checkpoint folder


def seeded_batches(sample_batch: Callable[[np.random.Generator, int], Batch], seed: int,
                   batch_size: int) -> Callable[[int], Batch]:
    """batches(i) from `Dataset.sample_batch`: micro-batch i is drawn with its own generator, so it
    is the same batch whether the run was stopped and resumed or not."""
    def batches(index: int) -> Batch:
        return sample_batch(np.random.default_rng([seed, index]), batch_size)
    return batches


def open_run(trainee: Any, folder: Path, name: str = "", demo_prompts: Sequence[str] = ()) -> TrainRun:
    """Optimizer, precision and random state for `trainee`; continues from the newest checkpoint
    in `folder` when there is one (settings.resume), else starts at step 0 with the seed."""
    import torch

    settings = trainee.settings
    folder = Path(folder)
    newest = artifacts.newest_checkpoint(folder)
    if newest is not None and not settings.resume:
        raise DawgenError(ErrorCode.BAD_REQUEST, f"run {folder.name} already has checkpoints (up to step "
                                                 f"{newest[0]}): resume=true continues it, or choose another name")
    try:
        precision = objective.resolve_precision(trainee.device, settings.precision)
    except ValueError as exc:
        raise DawgenError(ErrorCode.BAD_REQUEST, str(exc)) from None
    autocast, scaler = objective.autocast_for(trainee.device, precision)
    optimizer = torch.optim.AdamW(trainee.parameters(), lr=settings.lr, betas=(0.9, 0.999),
                                  weight_decay=WEIGHT_DECAY[settings.lora])
    torch.manual_seed(settings.seed)
    sobol = torch.quasirandom.SobolEngine(SOBOL_DIMENSION, scramble=True, seed=settings.seed)
    run = TrainRun(trainee, folder, name or folder.name, optimizer, scaler, autocast, precision, sobol,
                   demo_prompts=list(demo_prompts))
    if newest is not None:
        _restore(run, newest[1])
    return run


def train(run: TrainRun, batches: Callable[[int], Batch], steps: int | None = None, *,
          on_step: Callable[[int, float], None] | None = None,
          should_stop: Callable[[], bool] | None = None,
          should_yield: Callable[[], bool] | None = None,
          on_yield: Callable[[], None] | None = None,
          save_every: int | None = None,
          on_checkpoint: Callable[[int, Path], None] | None = None,
          on_demo: Callable[[int, list[Any]], None] | None = None) -> Result:
    """Train until step `steps` (default: settings.steps) or until `should_stop()` is true at a step
    boundary. Checkpoints every `save_every` steps (default: settings.save_every), at a stop and at
    the end; demos every settings.demo_every steps."""
    settings = run.settings
    steps = int(steps if steps is not None else settings.steps)
    save_every = int(save_every or settings.save_every)
    saved = artifacts.newest_checkpoint(run.folder)
    checkpoint = saved[1] if saved is not None else None
    while run.step < steps:
        if should_stop is not None and should_stop():
            if run.step > 0 and (checkpoint is None or artifacts.step_of(checkpoint) != run.step):
                checkpoint = _save(run, on_checkpoint)  # nothing trained is lost (step 0: nothing trained)
            return Result(run.step, True, checkpoint)
        if should_yield is not None and should_yield():
            _yield(run, on_yield)
            continue  # ask again: a stop may have come while yielding
        value = _one_step(run, batches)
        run.step += 1
        run.losses.append((run.step, value))
        if on_step is not None:
            on_step(run.step, value)
        if run.step % save_every == 0 or run.step == steps:
            checkpoint = _save(run, on_checkpoint)
        if settings.demo_every and run.step % settings.demo_every == 0:
            outputs = render_demos(run)
            artifacts.write_demos(run.folder, run.step, outputs)
            if on_demo is not None:
                on_demo(run.step, outputs)
    if checkpoint is None or artifacts.step_of(checkpoint) != run.step:
        checkpoint = _save(run, on_checkpoint)  # e.g. resumed at or past `steps`: the state is on disk
    return Result(run.step, False, checkpoint)


def _one_step(run: TrainRun, batches: Callable[[int], Batch]) -> float:
    """`accumulate` micro-batches, one optimizer step, the EMA update; returns the mean loss."""
    import torch

    trainee, settings = run.trainee, run.settings
    run.optimizer.zero_grad(set_to_none=True)
    total = 0.0
    for k in range(settings.accumulate):
        batch = batches(run.step * settings.accumulate + k)
        value = trainee.loss(batch, run)
        run.drawn += len(batch[0])
        if not math.isfinite(float(value.detach())):
            raise DawgenError(ErrorCode.BACKEND_FAILED, f"the loss became {float(value)} at step {run.step + 1}: "
                                                        "try a lower learning_rate (or precision=fp32)")
        scaled = value / settings.accumulate
        (run.scaler.scale(scaled) if run.scaler is not None else scaled).backward()
        total += float(value.detach())
    if run.scaler is not None:
        run.scaler.step(run.optimizer)
        run.scaler.update()
    else:
        run.optimizer.step()
    if trainee.ema is not None:
        with torch.no_grad():
            trainee.ema.update()
    return total / settings.accumulate


def _yield(run: TrainRun, on_yield: Callable[[], None] | None) -> None:
    """Give the accelerator to live work: weights, EMA and optimizer state go to the CPU meanwhile."""
    device = run.trainee.device
    offload = not device.startswith("cpu")
    if offload:
        _move(run, "cpu")
        from ..backends.torch_util import release_memory

        release_memory(device)
    try:
        if on_yield is not None:
            on_yield()
    finally:
        if offload:
            _move(run, device)


def _move(run: TrainRun, device: str) -> None:
    run.trainee.to(device)
    for state in run.optimizer.state.values():
        for key, value in state.items():
            if hasattr(value, "to") and key != "step":
                state[key] = value.to(device)


def render_demos(run: TrainRun) -> list[Any]:
    """The demos (Audio or Midi outputs) of the weights as they are now, with fixed seeds."""
    settings = run.settings
    seeds = [settings.seed + i for i in range(settings.demo_count)]
    return run.trainee.demos(seeds, list(run.demo_prompts))


def _save(run: TrainRun, on_checkpoint: Callable[[int, Path], None] | None) -> Path:
    state = trainer_state(run)
    path = artifacts.write_checkpoint(run.folder, run.name, run.step, run.trainee, state, run.losses)
    log.info("training %s: checkpoint at step %d in %s", run.name, run.step, path)
    if on_checkpoint is not None:
        on_checkpoint(run.step, path)
    return path


def trainer_state(run: TrainRun) -> dict[str, Any]:
    """trainer.pt: tensors and plain values only, so torch.load(weights_only=True) reads it."""
    import torch

    rng: dict[str, Any] = {"torch": torch.get_rng_state()}
    device = run.trainee.device
    if device.startswith("cuda") and torch.cuda.is_available():
        rng["cuda"] = torch.cuda.get_rng_state_all()
    elif device == "mps":  # noise drawn on the device comes from the device's generator
        rng["mps"] = torch.mps.get_rng_state()
    return {"format": 1, "kind": run.settings.kind, "step": run.step, "drawn": run.drawn,
            "optimizer": run.optimizer.state_dict(),
            "scaler": run.scaler.state_dict() if run.scaler is not None else {},
            "rng": rng, "trainable": run.trainee.trainable_state(), "ema": run.trainee.ema_buffers(),
            "settings": run.settings.to_dict()}


def _restore(run: TrainRun, folder: Path) -> None:
    import torch

    state = artifacts.read_trainer_state(folder)
    if state.get("kind") != run.settings.kind:
        raise DawgenError(ErrorCode.BAD_REQUEST, f"{folder} was trained as {state.get('kind')}, not {run.settings.kind}")
    trainee = run.trainee
    trainee.load_trainable_state(state["trainable"])
    trainee.restore_ema(folder, state.get("ema", {}))
    try:
        run.optimizer.load_state_dict(state["optimizer"])
    except (ValueError, KeyError) as exc:
        raise DawgenError(ErrorCode.BAD_REQUEST, f"{folder}/trainer.pt does not fit this run's optimizer "
                                                 f"(other settings? {exc})") from None
    for group in run.optimizer.param_groups:  # a resumed run may change the learning rate
        group["lr"] = run.settings.lr
    if run.scaler is not None and state.get("scaler"):
        run.scaler.load_state_dict(state["scaler"])
    torch.set_rng_state(state["rng"]["torch"])
    if "cuda" in state["rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["rng"]["cuda"])
    if "mps" in state["rng"] and trainee.device == "mps":
        torch.mps.set_rng_state(state["rng"]["mps"])
    run.step, run.drawn = int(state["step"]), int(state["drawn"])
    run.sobol.fast_forward(run.drawn)
    run.losses = [(s, v) for s, v in artifacts.read_losses(run.folder) if s <= run.step]
    _move(run, trainee.device)
    log.info("training %s: resumed at step %d from %s", run.name, run.step, folder)

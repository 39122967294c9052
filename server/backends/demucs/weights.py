"""Loading a demucs model from its files without letting them run code (imports torch: load time only).

demucs' own loader (demucs.states.load_model on a path) reads `.th` files with
`torch.load(weights_only=False)`, and demucs.hf imports and calls whatever class a safetensors
file's metadata names. Here a `.th` file is read weights-only with exactly the classes real ones
hold (the package {klass, args, kwargs, state, training_args}: a demucs model class, its arguments,
where HTDemucs' `segment` is a fractions.Fraction, and for quantized models diffq's quantizer class),
and a safetensors file's metadata may name only those classes; the checked package is then handed to
demucs' own load_model.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ...errors import DawgenError, ErrorCode
from .. import safe_load
from .repo import RepoModel, read_bag


def model_classes() -> list[type]:
    """The classes a demucs model file may name: demucs 4's models (WDemucs is HDemucs)."""
    from demucs.demucs import Demucs
    from demucs.hdemucs import HDemucs
    from demucs.htdemucs import HTDemucs

    return [HTDemucs, HDemucs, Demucs]


def quantizer_classes() -> list[type]:
    """diffq's quantizers, named in the state of quantized models (mdx_q, mdx_extra_q), which load
    only where diffq is installed (demucs.states needs it to restore them)."""
    try:
        from diffq import DiffQuantizer, UniformQuantizer
    except ImportError:
        return []
    return [DiffQuantizer, UniformQuantizer]


def allowed_globals() -> list[Any]:
    from fractions import Fraction

    return [*model_classes(), *quantizer_classes(), Fraction]


def _qualified(klass: type) -> str:
    return f"{klass.__module__}.{klass.__name__}"


def get_model(repo: RepoModel, model: str = "", trusted: bool = False) -> Any:
    """The model `repo` names (a BagOfModels for a bag, as demucs.pretrained.get_model returns),
    in eval mode; failures are model_unavailable errors naming the file."""
    from demucs.apply import BagOfModels

    members = [_load_member(file, model, trusted) for file in repo.files]
    if repo.bag is None:
        return members[0].eval()
    bag = read_bag(repo.bag)
    return BagOfModels(members, bag.get("weights"), bag.get("segment")).eval()


def _load_member(file: Path, model: str, trusted: bool) -> Any:
    if file.suffix == ".safetensors":
        return _load_safetensors(file, model, trusted)
    from demucs.repo import check_checksum
    from demucs.states import load_model

    if "-" in file.stem:  # `<signature>-<sha256 prefix>.th`: a truncated download fails here, as in demucs
        check_checksum(file, file.stem.rsplit("-", 1)[1])
    package = safe_load.load_torch(file, allowed=allowed_globals(), trusted=trusted, model=model)
    if not isinstance(package, dict) or not {"klass", "args", "kwargs", "state"} <= set(package):
        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"{file}: not a demucs model package (klass, args, kwargs, "
                                                       f"state)")
    if not trusted and package["klass"] not in model_classes():
        raise _not_a_model_class(file, _qualified_name(package["klass"]))
    return load_model(package)


def _load_safetensors(file: Path, model: str, trusted: bool) -> Any:
    """demucs.hf.load_safetensors_model, once its metadata names only demucs model classes (it
    imports the module a `klass` or `_class` entry names and calls the class)."""
    from demucs.hf import load_safetensors_model
    from safetensors import safe_open

    if trusted:
        safe_load.warn_full_pickle(model, file)
    else:
        with safe_open(str(file), framework="pt") as handle:
            metadata = handle.metadata() or {}
        klass = str(metadata.get("klass", ""))
        if klass not in {_qualified(k) for k in model_classes()}:
            raise _not_a_model_class(file, klass)
        quantizers = {_qualified(k) for k in quantizer_classes()}
        for name in _structure_classes(metadata.get("structure")):
            if name.startswith("diffq.") and not quantizers:
                raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"{file} is a quantized model: it needs diffq "
                                                               f"(pip install diffq), which is not installed")
            if name not in quantizers:
                raise _not_a_model_class(file, name)
    return load_safetensors_model(file)


def _structure_classes(structure: Any) -> list[str]:
    """Every `_class` entry of the json `structure` demucs.hf rebuilds a packed state from."""
    if structure is None:
        return []
    found: list[str] = []
    stack = [json.loads(structure)]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "_class" in node:
                found.append(str(node["_class"]))
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def _qualified_name(klass: Any) -> str:
    return _qualified(klass) if isinstance(klass, type) else repr(klass)[:80]


def _not_a_model_class(file: Path, name: str) -> DawgenError:
    return DawgenError(ErrorCode.MODEL_UNAVAILABLE,
                       f"{file} was refused: it names {name or 'no class'}, which is not a demucs model class "
                       f"(a model file may only build a demucs model); if you trust this file, set "
                       f"allow_pickle = true in its [models.NAME] entry")

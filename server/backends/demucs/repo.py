"""A local folder of demucs models, checked as demucs reads it, without torch or demucs.

demucs' own layout (demucs/repo.py): single models are `<signature>.th` or
`<signature>-<sha256 prefix>.th` (torch pickles of class, arguments and weights); a bag of models is
`<name>.yaml` listing signatures (`models: [...]`, optional `weights`, `segment`). A name is looked
up as a single model first, then as a bag, as demucs does. htdemucs, htdemucs_ft, htdemucs_6s and
mdx_extra are all bags: the folder users download holds the yaml files and the .th files they name.

demucs 4.1 itself downloads from Hugging Face instead: a snapshot folder such as
`models--adefossez--HTDemucs/snapshots/<hash>/` holds `htdemucs.yaml` and `<signature>.safetensors`
files (class and arguments in their metadata). A bag whose members are all there as safetensors is
loaded from that folder too (`RepoModel.safetensors`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ...errors import DawgenError, ErrorCode


@dataclass(frozen=True)
class RepoModel:
    folder: Path
    name: str
    files: tuple[Path, ...]  # the weight files this name loads
    bag: Path | None = None  # its yaml, for a bag of models
    safetensors: bool = False  # a Hugging Face snapshot's `<signature>.safetensors` members


def _unavailable(message: str) -> DawgenError:
    return DawgenError(ErrorCode.MODEL_UNAVAILABLE, message)


def _signatures(folder: Path) -> dict[str, Path]:
    """Signature → .th file, as demucs' LocalRepo scans a folder (it refuses duplicates)."""
    found: dict[str, Path] = {}
    for file in sorted(folder.iterdir()):
        if file.suffix != ".th":
            continue
        sig = file.stem.rsplit("-", 1)[0] if "-" in file.stem else file.stem
        if sig in found:
            raise _unavailable(f"{folder} holds two models with signature {sig!r} ({found[sig].name}, "
                               f"{file.name}); demucs refuses that: remove one")
        found[sig] = file
    return found


def find_model(path: str, name: str) -> RepoModel:
    """The files `name` needs in the folder `path`; raises model_unavailable naming what is missing."""
    if not path:
        raise _unavailable("path: required (a folder of demucs models, e.g. one holding htdemucs.yaml "
                           "and the .th file it names)")
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise _unavailable(f"path: {folder} is not a folder")
    if not name:
        raise _unavailable("name: required (a model in the folder, e.g. htdemucs)")
    signatures = _signatures(folder)
    if name in signatures:
        return RepoModel(folder, name, (signatures[name],))
    bag = folder / f"{name}.yaml"
    if not bag.is_file():
        have = sorted({*signatures, *(p.stem for p in folder.glob("*.yaml"))})
        raise _unavailable(f"{folder} has no model {name!r}: neither {name}.yaml nor {name}.th / "
                           f"{name}-<checksum>.th (models there: {', '.join(have) or 'none'})")
    members = _bag_members(bag)
    missing = [sig for sig in members if sig not in signatures]
    if missing and all((folder / f"{sig}.safetensors").is_file() for sig in members):
        return RepoModel(folder, name, tuple(folder / f"{sig}.safetensors" for sig in members), bag, True)
    if missing:
        raise _unavailable(f"{bag.name} names model {missing[0]}, but {folder} has no {missing[0]}.th, "
                           f"{missing[0]}-<checksum>.th or {missing[0]}.safetensors (download it beside the yaml)")
    return RepoModel(folder, name, tuple(signatures[sig] for sig in members), bag)


def read_bag(bag: Path) -> dict:
    """The yaml of a bag of models: `models`, and `weights` and `segment` when it has them."""
    import yaml  # PyYAML: a dependency of demucs, checked before this runs

    try:
        data = yaml.safe_load(bag.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise _unavailable(f"{bag}: cannot read this bag of models ({exc})") from None
    members = data.get("models") if isinstance(data, dict) else None
    if not isinstance(members, list) or not members or not all(isinstance(m, str) for m in members):
        raise _unavailable(f"{bag}: a bag of models needs `models: [signature, ...]`")
    return data


def _bag_members(bag: Path) -> list[str]:
    return list(read_bag(bag)["models"])

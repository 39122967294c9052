"""[hotfolder] and its recipes: which drops become which requests (bridge/hotfolder reads them).
Parsed with the rest of the config by server/config.py, which re-exports these names."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .suggest import did_you_mean


@dataclass
class RecipeConfig:
    """[hotfolder.recipes.NAME]: files dropped into <root>/dawgen/inbox/NAME/ become `verb` requests."""

    verb: str
    # "audio" / "midi": the dropped file's path goes into the request's `input` param;
    # "prompts": a .txt of prompts (one request per line) or a .json object of params;
    # "folder": a dropped folder becomes the request's `data` (its name the default `name`), with
    # the params of a `train.json` inside it
    takes: str = "audio"
    params: dict[str, Any] = field(default_factory=dict)  # fixed params; a drop's sidecar .json overrides them
    enabled: bool = True


def default_recipes() -> dict[str, RecipeConfig]:
    return {"stems": RecipeConfig("separate"), "vary": RecipeConfig("vary"), "continue": RecipeConfig("continue"),
            "transcribe": RecipeConfig("transcribe"), "generate": RecipeConfig("generate", takes="prompts"),
            "train": RecipeConfig("train", takes="folder")}


@dataclass
class HotfolderConfig:
    """[hotfolder]: the drop-folder front door (bridge/hotfolder)."""

    enabled: bool = True
    rescan_seconds: float = 5.0  # safety net beside file events (network drives send none)
    settle_seconds: float = 2.0  # size and mtime must stay unchanged this long before a drop counts
    recipes: dict[str, RecipeConfig] = field(default_factory=default_recipes)  # defaults + [hotfolder.recipes.*]



_RECIPE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")  # it names a folder on every system
_RECIPE_VERB = re.compile(r"^[a-z][a-z0-9_]*(/[a-z][a-z0-9_]*)?$")  # generate, separate, midi/groove
RECIPE_TAKES = ("audio", "midi", "prompts", "folder")
RECIPE_RESERVED_PARAMS = ("dir", "input")  # set by the hot folder: the recipe's outbox and the dropped file


def check_hotfolder(obj: HotfolderConfig, raw_recipes: Any, errors: list[str]) -> None:
    """Range checks, and [hotfolder.recipes.NAME] tables merged over the default recipes."""
    if obj.rescan_seconds <= 0:
        errors.append(f"hotfolder.rescan_seconds: {obj.rescan_seconds} must be > 0")
    if obj.settle_seconds < 0:
        errors.append(f"hotfolder.settle_seconds: {obj.settle_seconds} must be >= 0")
    recipes = default_recipes()
    if isinstance(raw_recipes, dict):
        for name, entry in raw_recipes.items():
            recipe = _parse_recipe(name, entry, recipes.get(name), errors)
            if recipe is not None:
                recipes[name] = recipe
    obj.recipes = recipes


def _parse_recipe(name: str, entry: Any, default: RecipeConfig | None, errors: list[str]) -> RecipeConfig | None:
    where = f"hotfolder.recipes.{name}"
    if not _RECIPE_NAME.match(name):
        errors.append(f"{where}: a recipe name is a folder name: letters, digits, '_', '-', '.'")
        return None
    if not isinstance(entry, dict):
        errors.append(f"{where}: must be a table such as {{ verb = \"generate\" }}")
        return None
    recipe = RecipeConfig(default.verb, default.takes, dict(default.params), default.enabled) if default \
        else RecipeConfig(verb="")
    types = {"verb": str, "takes": str, "params": dict, "enabled": bool}
    for key, value in entry.items():
        if key not in types:
            errors.append(f"{where}.{key}: unknown key{did_you_mean(key, types)}")
        elif not isinstance(value, types[key]):
            errors.append(f"{where}.{key}: expected {types[key].__name__}, got {type(value).__name__} {value!r}")
        elif key == "verb" and not _RECIPE_VERB.match(value):
            errors.append(f"{where}.verb: {value!r} is not a verb (e.g. \"generate\", \"separate\", \"midi/groove\")")
        elif key == "takes" and value not in RECIPE_TAKES:
            errors.append(f"{where}.takes: {value!r} is not one of {', '.join(RECIPE_TAKES)}")
        elif key == "params":
            recipe.params.update(_recipe_params(f"{where}.params", value, errors))
        else:
            setattr(recipe, key, value)
    if not recipe.verb:
        errors.append(f"{where}.verb: required (the verb each drop becomes, e.g. \"generate\")")
        return None
    return recipe


def _recipe_params(where: str, params: dict[str, Any], errors: list[str]) -> dict[str, Any]:
    good = {}
    for key, value in params.items():
        if key in RECIPE_RESERVED_PARAMS:
            errors.append(f"{where}.{key}: set by the hot folder (results go to the recipe's outbox)")
        elif not isinstance(value, (str, int, float, bool)):
            errors.append(f"{where}.{key}: expected a string, number or boolean, got {type(value).__name__}")
        else:
            good[key] = value
    return good

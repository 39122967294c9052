"""TOML config → typed config, with errors that name the key.

Every key is declared once here (section, name, type, default) so unknown keys and wrong types are
caught at start instead of surfacing as odd behaviour hours later.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config_clients import DEFAULT_MAX_UPLOAD, ClientConfig, is_loopback, parse_clients
from .config_cluster import ClusterConfig, check_cluster
from .config_hotfolder import (  # noqa: F401 - RECIPE_*, RecipeConfig: part of this module's API
    RECIPE_RESERVED_PARAMS,
    RECIPE_TAKES,
    HotfolderConfig,
    RecipeConfig,
    check_hotfolder,
    default_recipes,
)
from .config_models import (  # noqa: F401 - MODEL_COMMON_KEYS, LORA_KEYS, check_model_keys: part of this module's API
    LORA_KEYS,
    MODEL_COMMON_KEYS,
    LoraConfig,
    ModelConfig,
    check_model_keys,
    parse_loras,
    parse_models,
)
from .memory import check_budgets
from .suggest import did_you_mean

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib


DEFAULT_WEB_PORT = 9957


class ConfigError(ValueError):
    """The config file (or a flag) is wrong; the message names every bad key."""


def default_output_root() -> Path:
    """The per-user music folder: ~/Music on macOS, Windows and Linux (XDG_MUSIC_DIR if set)."""
    xdg = os.environ.get("XDG_MUSIC_DIR")
    return Path(xdg).expanduser() if xdg else Path.home() / "Music"


def default_state_dir() -> Path:
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "dawgen"
    if os.name == "nt":
        return Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local")) / "dawgen"
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "dawgen"


@dataclass
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 9950
    default_model: str = "synth"
    state_dir: str = ""
    devices: list[str] = field(default_factory=lambda: ["cpu"])
    drain_seconds: float = 30.0
    journal_sync: str = "normal"
    dedupe_seconds: float = 600.0
    # finished jobs are forgotten (their files stay) this many days after they finished: at start
    # and daily. `journal_keep_days` is its old name, still read.
    keep_finished_days: float = 30.0
    journal_keep_days: float = 30.0
    # jobs waiting to run (running ones not counted); a request past it gets `queue_full`
    max_queued: int = 1000
    max_packet_bytes: int = 65536
    log_level: str = "info"
    # "process": models run in one child process per device (responsive, crash-isolated);
    # "thread": in the daemon process (embedding, debugging with pdb);
    # "immediate": no worker threads, submit runs the job before it returns (tests, as huey's mode)
    isolation: str = "process"
    # with isolation "process": "process" writes each lane's files in a writer process beside its
    # model process (the model never waits on the GIL for the writer); "thread": in a thread of the
    # model process (one process less: ~150 MB of memory, for small machines)
    writer: str = "process"
    # seconds between two progress events of one job (stage changes and the end always go out);
    # 0 = one event per report of the backend (every sampler or decoding step)
    progress_interval: float = 0.1
    # [server.memory_budget]: warm models' memory per device, e.g. cuda = 10 (GB), cpu = "8GB"
    # (server/memory.py); unset devices: 90 % of a GPU's memory, half the RAM for cpu and mps
    memory_budget: dict = field(default_factory=dict)
    # loopback requests need a [clients] token too (tests of the LAN rules; a shared login)
    require_token: bool = False
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD  # one `input_blob` (OSC over TCP)
    # bound beyond loopback, announce the daemon on the LAN (zeroconf/mDNS, bridge/discovery.py)
    announce: bool = True


@dataclass
class OutputConfig:
    root: str = ""
    sample_rate: int = 48000
    bit_depth: str = "24"
    format: str = "wav"


@dataclass
class MidiConfig:
    """[midi]: the MIDI front door (bridge/midi). Present in the file = switched on."""

    # Port names: a pattern with * ? [ is matched whole (fnmatch), a plain word as a substring;
    # both ignore case. "nanoPAD*" matches "nanoPAD2:nanoPAD2 MIDI 1 20:0".
    inputs: list[str] = field(default_factory=list)
    output: str = ""            # where pad LEDs are lit (feedback); "" = none (or the virtual port)
    mapping: str = ""           # mapping TOML; relative to the config file; "" = <state_dir>/midi-mapping.toml
    virtual: bool = False       # also open virtual in/out ports named `virtual_name` (ALSA, CoreMIDI, JACK)
    virtual_name: str = "dawgen"
    backend: str = ""           # mido backend, e.g. "mido.backends.rtmidi/UNIX_JACK"; "" = mido's default
    rescan_seconds: float = 2.0  # look for controllers plugged in after start this often (0 = never)


@dataclass
class AudioConfig:
    """[audio]: devices for `audition` and `capture` (bridge/audio_io), by name pattern as in [midi]."""

    input: str = ""        # capture device; "" = the system default input
    output: str = ""       # audition device; "" = the system default output
    hostapi: str = ""      # e.g. "JACK", "ALSA", "Core Audio", "ASIO"; "" = any
    sample_rate: int = 0   # capture rate; 0 = the device's default rate
    channels: int = 2      # capture channels (fewer when the device has fewer)


@dataclass
class TrainingConfig:
    """[training]: training runs (the `train` verb, server/training)."""

    models_dir: str = ""  # where runs and the models they make live; "" = <state_dir>/models
    # TOML key `yield` (a Python keyword): a training job pauses at a step boundary for live work
    # on its device (generation first), then carries on
    yield_to_live: bool = True


@dataclass
class PluginsConfig:
    """[plugins]: where the `process` verb's (and `chain=`'s) VST3 / Audio Unit plugins may load from."""

    paths: list[str] = field(default_factory=list)  # folders searched (recursively) for plugins
    system: bool = False  # also the OS's standard plugin folders (server/backends/process/plugins.py)
    timeout: float = 120.0  # seconds a plugin may take on one job's audio before its job fails


@dataclass
class WebConfig:
    """[web]: the studio page and its JSON API (bridge/web), served by `dawgen serve`."""

    enabled: bool = True
    host: str = "127.0.0.1"  # loopback unless asked; another address needs `tokens`
    # 9957; with `[server] port = 0` (tests, benchmarks) an unset port is a free one too (0)
    port: int = DEFAULT_WEB_PORT
    # bearer tokens a request from another machine must carry (loopback needs none)
    tokens: list[str] = field(default_factory=list)


@dataclass
class Config:
    server: ServerConfig = field(default_factory=ServerConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    models: dict[str, ModelConfig] = field(default_factory=dict)
    midi: MidiConfig | None = None  # None: no [midi] section, no MIDI front door
    audio: AudioConfig = field(default_factory=AudioConfig)
    hotfolder: HotfolderConfig = field(default_factory=HotfolderConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    web: WebConfig = field(default_factory=WebConfig)
    loras: dict[str, LoraConfig] = field(default_factory=dict)
    plugins: PluginsConfig = field(default_factory=PluginsConfig)
    clients: dict[str, ClientConfig] = field(default_factory=dict)  # [clients.NAME] (server/config_clients.py)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)  # [cluster] (server/config_cluster.py)
    source: str = ""

    @property
    def output_root(self) -> Path:
        return Path(self.output.root).expanduser() if self.output.root else default_output_root()

    @property
    def web_port(self) -> int:
        """[web] port; left at its default while `[server] port` is 0 (any free port), a free one too."""
        if self.server.port == 0 and self.web.port == DEFAULT_WEB_PORT:
            return 0
        return self.web.port

    @property
    def models_dir(self) -> Path:
        """Trained models' run folders ([training] models_dir, default <state_dir>/models)."""
        value = self.training.models_dir
        return Path(value).expanduser() if value else self.state_dir / "models"

    @property
    def state_dir(self) -> Path:
        return Path(self.server.state_dir).expanduser() if self.server.state_dir else default_state_dir()


# TOML keys that are not Python names: (section, key) -> the dataclass field
FIELD_OF_KEY = {("training", "yield"): "yield_to_live"}
_SECTIONS: dict[str, type] = {"server": ServerConfig, "output": OutputConfig, "midi": MidiConfig, "audio": AudioConfig,
                              "training": TrainingConfig, "plugins": PluginsConfig, "web": WebConfig,
                              "hotfolder": HotfolderConfig, "cluster": ClusterConfig}
_CHOICES = {
    ("server", "journal_sync"): ("normal", "full"),
    ("server", "log_level"): ("debug", "info", "warning", "error"),
    ("server", "isolation"): ("process", "thread", "immediate"),
    ("server", "writer"): ("process", "thread"),
    ("output", "bit_depth"): ("16", "24", "32f"),
    ("output", "format"): ("wav", "flac"),
}


def load(path: str | os.PathLike[str] | None = None, overrides: Mapping[str, Any] | None = None) -> Config:
    """Read `path` (optional) and apply `overrides` ({"server.port": 9951, ...}); validate all."""
    data: dict[str, Any] = {}
    source = ""
    if path is not None:
        source = str(path)
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    for dotted, value in (overrides or {}).items():
        if value is None:
            continue
        section, _, key = dotted.partition(".")
        data.setdefault(section, {})[key] = value
    config = parse(data, Path(source).parent if source else None)
    config.source = source
    return config


def parse(data: Mapping[str, Any], base: Path | None = None) -> Config:
    """`base`: the config file's folder (a relative `token_file` is read from there)."""
    errors: list[str] = []
    config = Config()
    for section, value in data.items():
        if section == "clients":
            config.clients = parse_clients(value, errors, base)
        elif section == "models":
            config.models = parse_models(value, errors)
        elif section == "loras":
            config.loras = parse_loras(value, errors)
        elif section in _SECTIONS:
            if not isinstance(value, dict):
                errors.append(f"[{section}] must be a table")
                continue
            setattr(config, section, _parse_section(section, value, errors))
        else:
            errors.append(f"unknown section [{section}]{did_you_mean(section, [*_SECTIONS, 'models', 'loras', 'clients'])}")
    errors.extend(check_web_binding(config.web, bool(config.clients)))
    check_cluster(config.cluster, base, errors)
    if errors:
        raise ConfigError("config errors:\n  " + "\n  ".join(errors))
    return config


def _parse_section(section: str, values: Mapping[str, Any], errors: list[str]) -> Any:
    cls = _SECTIONS[section]
    obj = cls()
    fields = {name: type(getattr(obj, name)) for name in obj.__dataclass_fields__}
    for toml_key, value in values.items():
        where = f"{section}.{toml_key}"
        key = FIELD_OF_KEY.get((section, toml_key), toml_key)
        if key not in fields:
            errors.append(f"{where}: unknown key{did_you_mean(key, fields)}")
            continue
        coerced = _coerce(value, fields[key], where, errors)
        if coerced is None:
            continue
        choices = _CHOICES.get((section, key))
        if choices and str(coerced) not in choices:
            errors.append(f"{where}: {coerced!r} is not one of {', '.join(choices)}")
            continue
        setattr(obj, key, str(coerced) if choices else coerced)
    if section == "server" and not 0 <= obj.port < 65536:  # 0 = any free port (tests, benchmarks)
        errors.append(f"server.port: {obj.port} is not a port number (0-65535)")
    if section == "server":
        errors.extend(check_budgets(obj.memory_budget))
        if obj.progress_interval < 0:
            errors.append(f"server.progress_interval: {obj.progress_interval} is negative (0 = every step)")
        _check_queue_keys(obj, values, errors)
    if section == "hotfolder":
        check_hotfolder(obj, values.get("recipes"), errors)
    if section == "plugins" and obj.timeout <= 0:
        errors.append(f"plugins.timeout: {obj.timeout} must be positive (seconds)")
    if section == "web":
        errors.extend(check_web(obj))
    return obj


def check_web(web: WebConfig) -> list[str]:
    """The web door's port and tokens (its binding: check_web_binding, once [clients] is known)."""
    errors = []
    if not 0 <= web.port < 65536:
        errors.append(f"web.port: {web.port} is not a port number (0-65535)")
    errors.extend(f"web.tokens: a token of {len(t)} characters is too short (16 at least)" for t in web.tokens if len(t) < 16)
    return errors


def check_web_binding(web: WebConfig, has_clients: bool) -> list[str]:
    """Another address than loopback needs a way in for other machines: [clients] or web.tokens."""
    if is_loopback(web.host) or has_clients or [t for t in web.tokens if t.strip()]:
        return []
    return [f"web.host: {web.host!r} lets other machines in; add a client (dawgen token add NAME) or set web.tokens"]


def _check_queue_keys(obj: ServerConfig, values: Mapping[str, Any], errors: list[str]) -> None:
    """max_queued's range; keep_finished_days and its old name journal_keep_days (one of them)."""
    if obj.max_queued < 1:
        errors.append(f"server.max_queued: {obj.max_queued} must be at least 1")
    if obj.max_upload_bytes < 0:
        errors.append(f"server.max_upload_bytes: {obj.max_upload_bytes} is negative (0 = no uploads)")
    if "journal_keep_days" in values and "keep_finished_days" in values:
        errors.append("server.journal_keep_days: the old name of server.keep_finished_days; set only keep_finished_days")
    elif "journal_keep_days" in values:
        obj.keep_finished_days = obj.journal_keep_days
    obj.journal_keep_days = obj.keep_finished_days  # one value, whichever name set it
    if obj.keep_finished_days < 0:
        errors.append(f"server.keep_finished_days: {obj.keep_finished_days} is negative")


def _coerce(value: Any, want: type, where: str, errors: list[str]) -> Any:
    if want is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if want is str and isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # bit_depth = 24
    if want is dict and not isinstance(value, dict):
        errors.append(f"{where}: expected a table, got {value!r}")
        return None
    if want is list:
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
        errors.append(f"{where}: expected a list of strings, got {value!r}")
        return None
    if want is int and isinstance(value, bool) or not isinstance(value, want):
        errors.append(f"{where}: expected {want.__name__}, got {type(value).__name__} {value!r}")
        return None
    return value

"""Checkpoints: a folder with ``config.json`` and ``model.safetensors``; never a pickle.

A checkpoint may store only what differs from its base weights (the global token, projections,
temperature, adapters and any tower weight that training changed) and is then rebuilt on top of the
package-provided base weights. The base weights are fingerprinted at save time and checked at load
time, so a delta never lands silently on different base weights. Loading is strict: missing or
unexpected keys raise :class:`CheckpointError` naming them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import platform
import site
import sys
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from .config import PRESETS, WavLinkConfig
from .errors import CheckpointError
from .model import WavLink
from .openset import read_openset

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
TOWER_PREFIXES = ("audio.encoder.", "text.model.")
# Trained models shipped with the project, loadable by name. In a clone they are in assets/; a pip
# install copies them to <prefix>/share/wavlink/ (pyproject.toml's data-files).
SHIPPED_MODELS = ("wavlink-tiny", "wavlink-tiny-aut")
UNTRAINED_SUFFIX = "-untrained"  # "tiny-untrained": the preset with random heads, said out loud


def shipped_model_dir(name: str) -> Path | None:
    """The folder of a shipped trained model (``wavlink-tiny``), in the clone or the install."""
    if name not in SHIPPED_MODELS:
        return None
    prefixes = [sys.prefix, site.USER_BASE, sys.base_prefix]
    candidates = [Path(__file__).resolve().parent.parent / "assets" / name]
    candidates += [Path(p) / "share" / "wavlink" / name for p in prefixes if p]
    return next((c for c in candidates if (c / CONFIG_NAME).is_file()), None)


def model_names() -> list[str]:
    """Every name ``load_pretrained`` takes besides a folder: shipped models first."""
    untrained = [p + UNTRAINED_SUFFIX for p in PRESETS]
    return [n for n in SHIPPED_MODELS if shipped_model_dir(n)] + untrained + list(PRESETS)


def base_state(model: WavLink) -> dict[str, torch.Tensor]:
    """Base-weight tensors of a freshly built model of the same config (what a delta sits on)."""
    fresh = WavLink(model.config, pretrained=True)
    return {k: v for k, v in fresh.state_dict().items() if k.startswith(TOWER_PREFIXES)}


def rebase_audio(model: WavLink, backbone: str) -> WavLink:
    """The same weights, re-expressed over another audio base of the same shape (e.g. ``tiny.en``).

    A model trained on a local backbone folder (an adapted encoder from ``wavlink_core.adapt``)
    saves as a delta over that folder, so it only loads where the folder exists. Rebasing onto a
    base every install has makes it portable; the delta then holds the whole audio tower, as a
    fully fine-tuned one does anyway. Where the audio tower came from is kept in ``training_info``.
    """
    old = model.config.audio.backbone
    config = model.config.replace(audio=dataclasses.replace(model.config.audio, backbone=backbone))
    rebased = WavLink(config, pretrained=True)  # raises if the base's shape differs
    rebased.load_state_dict(model.state_dict())
    info = dict(model.training_info or {})
    if old != backbone:
        info["audio_backbone_origin"] = info.get("audio_backbone_origin") or _origin(old)
    # None marks an untrained model (the demo's banner); rebasing must not make it look trained.
    rebased.training_info = info if model.training_info is not None else None
    return rebased


def audio_origin(model: WavLink) -> dict[str, Any]:
    """Where the audio tower's starting weights came from: ``{"backbone", "adaptation"}``; the
    adaptation record is None for a vanilla Whisper start."""
    info = model.training_info or {}
    return info.get("audio_backbone_origin") or _origin(model.config.audio.backbone)


def _origin(backbone: str) -> dict[str, Any]:
    # Only a local folder can hold an adaptation record (never resolve a hub id: no downloads).
    adaptation = None
    if Path(backbone).is_dir():
        from .adapt.seq2seq import read_provenance

        adaptation = read_provenance(backbone)
    return {"backbone": backbone, "adaptation": adaptation}


def fingerprint(state: dict[str, torch.Tensor]) -> str:
    """Cheap identity of a set of weights: shapes plus the first and last values of each tensor."""
    h = hashlib.sha256()
    for key in sorted(state):
        flat = state[key].detach().reshape(-1).float()
        h.update(key.encode())
        h.update(str(tuple(state[key].shape)).encode())
        h.update(torch.cat([flat[:256], flat[-256:]]).numpy().tobytes())
    return h.hexdigest()[:16]


def save_pretrained(
    model: WavLink, directory: str | Path, *, delta: bool = True, dtype: str = "float32"
) -> Path:
    """Write ``config.json`` + ``model.safetensors`` to ``directory``.

    Args:
        delta: store only tensors that differ from the base weights (needs the base weights
            installed when loading). Ignored for random-backbone models, which store everything.
        dtype: "float32" or "float16" (tower and projection weights; cast back on load).
    """
    if dtype not in ("float32", "float16"):
        raise ValueError(f"dtype={dtype!r}; choose 'float32' or 'float16'")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    random_towers = "random" in (model.config.audio.backbone, model.config.text.backbone)
    delta = delta and not random_towers
    base_fp = None
    if delta:
        base = base_state(model)
        base_fp = fingerprint(base)
        state = {k: v for k, v in state.items() if k not in base or not torch.equal(v, base[k])}
    if dtype == "float16":
        # The temperature and bias stay float32: they are scalars and exp() amplifies rounding.
        state = {k: v if v.ndim == 0 else v.half() for k, v in state.items()}
    save_file(state, str(directory / WEIGHTS_NAME), metadata={"format": "pt"})
    meta = {
        "format_version": FORMAT_VERSION,
        "model": model.config.to_dict(),
        "stores": "delta" if delta else "full",
        "base_fingerprint": base_fp,
        "dtype": dtype,
        "training": model.training_info,
        "versions": _versions(),
    }
    (directory / CONFIG_NAME).write_text(json.dumps(meta, indent=2))
    log.info("saved %d tensors (%s) to %s", len(state), meta["stores"], directory)
    return directory


def load_pretrained(name_or_path: str | Path, *, device: str | torch.device = "cpu") -> WavLink:
    """A model from a shipped model's name, a preset name or a checkpoint folder.

    Args:
        name_or_path: ``"wavlink-tiny"`` (the shipped trained model), ``"tiny-untrained"`` (the
            preset: pretrained towers, random global token and projections; ``"tiny"`` is the old
            spelling of the same), or a folder holding config.json + model.safetensors.
    """
    name = str(name_or_path)
    shipped = shipped_model_dir(name) if isinstance(name_or_path, str) else None
    if shipped is not None:
        name_or_path = shipped
    elif isinstance(name_or_path, str) and name in SHIPPED_MODELS:
        raise CheckpointError(
            f"{name!r} is a shipped trained model but its files are not installed (looked in the "
            f"repository's assets/ and <prefix>/share/wavlink/); reinstall the project with pip, "
            f"or pass a checkpoint folder"
        )
    preset = name.removesuffix(UNTRAINED_SUFFIX)
    if isinstance(name_or_path, str) and preset in PRESETS:
        hint = f"; the trained model is 'wavlink-{preset}'" if shipped_model_dir(f"wavlink-{preset}") else ""
        log.warning(
            "%r is the untrained preset: pretrained towers with a RANDOM global token and "
            "projections, so similarity scores are meaningless%s",
            name,
            hint,
        )
        # Seeded, so the untrained heads (and hence every vector) are the same on every run.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            return WavLink(PRESETS[preset]).to(device)
    directory = Path(name_or_path)
    meta = read_config(directory)
    config = WavLinkConfig.from_dict(meta["model"])
    stored = load_file(str(directory / WEIGHTS_NAME))
    delta = meta["stores"] == "delta"
    model = WavLink(config, pretrained=delta)
    expected = model.state_dict()
    if delta:
        found = fingerprint({k: v for k, v in expected.items() if k.startswith(TOWER_PREFIXES)})
        if found != meta["base_fingerprint"]:
            raise CheckpointError(
                f"{directory} stores only changes from base weights with fingerprint "
                f"{meta['base_fingerprint']}, but the installed base weights "
                f"({config.audio.backbone!r}, {config.text.backbone!r}) have {found}"
            )
    unexpected = sorted(set(stored) - set(expected))
    # A delta must carry every tensor the base weights do not provide.
    required = {k for k in expected if not (delta and k.startswith(TOWER_PREFIXES))}
    missing = sorted(required - set(stored))
    bad_shape = sorted(k for k in stored if k in expected and stored[k].shape != expected[k].shape)
    if unexpected or missing or bad_shape:
        raise CheckpointError(
            f"{directory / WEIGHTS_NAME} does not fit {config.name}: "
            f"missing {missing[:10]}, unexpected {unexpected[:10]}, wrong shape {bad_shape[:10]}"
        )
    stored = {k: v.to(expected[k].dtype) for k, v in stored.items()}
    model.load_state_dict(stored, strict=not delta)
    model.training_info = meta.get("training")
    model.openset = read_openset(directory)  # "no label fits" thresholds, when calibrated
    return model.to(device)


def read_config(directory: Path) -> dict[str, Any]:
    """``config.json`` of a checkpoint folder, with a clear error for anything else."""
    path = directory / CONFIG_NAME
    if not path.is_file() or not (directory / WEIGHTS_NAME).is_file():
        raise CheckpointError(
            f"{directory} is not a WavLink checkpoint: expected {CONFIG_NAME} and {WEIGHTS_NAME} "
            f"(or a model name: {', '.join(model_names())})"
        )
    try:
        meta = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{path} is not valid JSON: {exc}") from exc
    if meta.get("format_version") != FORMAT_VERSION or "model" not in meta:
        raise CheckpointError(
            f"{path}: format_version={meta.get('format_version')!r}, expected {FORMAT_VERSION}"
        )
    return meta


def _versions() -> dict[str, str]:
    import transformers

    from . import __version__

    return {
        "wavlink_core": __version__,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "python": platform.python_version(),
    }

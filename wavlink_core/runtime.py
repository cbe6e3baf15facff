"""Audio encoders for inference: float32 PyTorch, bfloat16 autocast, or ONNX Runtime.

``audio_encoder(model, runtime)`` returns a callable ``(mel, frames) -> (B, D)`` unit-norm tensor,
the signature of :meth:`WavLink.encode_audio`; pass it to :func:`wavlink_core.embed_audio` as
``encoder=`` (or ``--runtime`` on ``index`` and ``embed``):

- ``torch``: the model itself, float32 (the reference).
- ``torch-bf16``: the same under ``torch.autocast(bfloat16)``; about 2x faster on CPUs with AMX
  or AVX512-BF16 (slower on others), cosine >= 0.9996 to float32 on 200 real clips.
- ``onnx``: the audio path exported once per set of weights with ``torch.onnx.export``, cached
  under ``$WAVLINK_CACHE/onnx`` (default ``~/.cache/wavlink/onnx``) keyed by a hash of every
  audio weight, run in ONNX Runtime; cosine 1.000000 to float32. Faster than torch only on a
  busy machine in our measurements (docs/benchmarks.md).

int8 dynamic quantisation (ONNX Runtime ``quantize_dynamic``) is not offered: min cosine 0.976
on real clips, under the 0.999 that keeps a library's vectors comparable.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from .errors import ConfigError

if TYPE_CHECKING:
    from .model import WavLink

log = logging.getLogger(__name__)

RUNTIMES = ("torch", "torch-bf16", "onnx")
AudioEncoder = Callable[[torch.Tensor, "torch.Tensor | None"], torch.Tensor]
# Bump when the exported graph changes, so caches made by an older export are not reused.
_EXPORT_VERSION = 1
_OPSET = 17


def audio_encoder(
    model: WavLink, runtime: str = "torch", threads: int | None = None
) -> AudioEncoder:
    """The encoder that runs ``model``'s audio path on ``runtime``.

    Args:
        model: a loaded WavLink (its weights are read now; later changes are not seen by "onnx").
        runtime: ``"torch"`` (the model itself) or ``"onnx"`` (ONNX Runtime, CPU).
        threads: ONNX Runtime intra-op threads; None uses torch's thread count.

    Raises:
        ConfigError: an unknown runtime, or "onnx" without the onnxruntime package.
    """
    if runtime not in RUNTIMES:
        raise ConfigError(f"runtime={runtime!r} is not one of {RUNTIMES}")
    if runtime == "torch":
        return model.encode_audio
    if runtime == "torch-bf16":
        return functools.partial(_encode_bf16, model)
    _import_onnxruntime()  # before the export, so a missing package is named first
    return OnnxAudioEncoder(export_audio_onnx(model), threads=threads)


class OnnxAudioEncoder:
    """An exported audio path (see :func:`export_audio_onnx`) run in ONNX Runtime on the CPU.

    Args:
        path: the ``.onnx`` graph.
        threads: intra-op threads; None uses ``torch.get_num_threads()``.
    """

    def __init__(self, path: str | os.PathLike, threads: int | None = None):
        ort = _import_onnxruntime()
        self.path = Path(path)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads()
        # One graph runs at a time: inter-op threads would only compete with intra-op ones.
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(
            str(self.path), options, providers=["CPUExecutionProvider"]
        )

    def __call__(self, mel: torch.Tensor, frames: torch.Tensor | None = None) -> torch.Tensor:
        """(B, n_mels, T) log-mel (and valid frames per clip) → (B, D) unit-norm embeddings."""
        mel_np = mel.detach().cpu().float().numpy()
        if frames is None:  # every frame valid: the graph's mask is then all True
            frames_np = np.full(mel_np.shape[0], mel_np.shape[2], dtype=np.int64)
        else:
            frames_np = torch.as_tensor(frames).cpu().to(torch.int64).numpy()
        (emb,) = self.session.run(None, {"mel": mel_np, "frames": frames_np})
        return torch.from_numpy(emb)


def audio_weights_key(model: WavLink) -> str:
    """Hash of the config and every weight the audio path uses (all bytes, not a sample of them):
    a fine-tune that changes any of them gets its own exported graph."""
    h = hashlib.sha256(f"v{_EXPORT_VERSION}|{torch.__version__}|{model.config.audio}".encode())
    for prefix, module in (("audio.", model.audio), ("audio_proj.", model.audio_proj)):
        for name, t in sorted(module.state_dict().items()):
            h.update((prefix + name).encode())
            h.update(t.detach().cpu().float().contiguous().numpy().tobytes())
    return h.hexdigest()[:20]


def cache_dir() -> Path:
    """The project's cache folder (ONNX exports here, the demo's gallery embeddings and library):
    ``$WAVLINK_CACHE``, else ``$XDG_CACHE_HOME/wavlink``, else ``~/.cache/wavlink``. An empty
    variable counts as unset, so it never turns into a folder relative to where the app runs."""
    base = os.environ.get("WAVLINK_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache", "wavlink"
    )
    return Path(base)


def export_audio_onnx(model: WavLink, cache: str | os.PathLike | None = None) -> Path:
    """Export ``model``'s audio path to ``<cache>/<name>-<weights key>.onnx`` unless it is there.

    The graph takes ``mel`` (B, n_mels, T) float32 and ``frames`` (B,) int64 and returns ``emb``
    (B, D): B and T are dynamic (T even, <= 3000). It is written to a temporary file and renamed,
    so a killed export never leaves a half-written graph in the cache.
    """
    folder = Path(cache) if cache is not None else cache_dir() / "onnx"
    path = folder / f"{model.config.name}-{audio_weights_key(model)}.onnx"
    if path.is_file():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    wrapper = _AudioPath(model).eval()
    # Unequal frames, so the trace takes the masked branch (a padded batch); with every frame
    # valid the mask is all True and gives the same result as no mask.
    mel = torch.zeros(2, model.config.audio.n_mels, 200)
    frames = torch.tensor([200, 120])
    fd, tmp = tempfile.mkstemp(suffix=".onnx", dir=folder)
    os.close(fd)
    try:
        with warnings.catch_warnings(), torch.no_grad():
            # The TorchScript exporter needs neither onnx nor onnxscript, and its trace warnings
            # are about the branch chosen above, which is the one wanted.
            warnings.simplefilter("ignore")
            torch.onnx.export(
                wrapper,
                (mel, frames),
                tmp,
                dynamo=False,
                opset_version=_OPSET,
                input_names=["mel", "frames"],
                output_names=["emb"],
                dynamic_axes={"mel": {0: "batch", 2: "frames"}, "frames": {0: "batch"}},
            )
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    log.info("exported the audio path of %s to %s", model.config.name, path)
    return path


def _encode_bf16(model: WavLink, mel: torch.Tensor, frames: torch.Tensor | None = None) -> torch.Tensor:
    """``model.encode_audio`` under bfloat16 autocast (matmuls in bf16, AMX on recent Xeons)."""
    with torch.autocast(model.device.type, dtype=torch.bfloat16):
        return model.encode_audio(mel, frames).float()


class _AudioPath(torch.nn.Module):
    """``model.encode_audio`` as a module with tensor inputs only, for the exporter."""

    def __init__(self, model: WavLink):
        super().__init__()
        self.model = model

    def forward(self, mel: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        return self.model.encode_audio(mel, frames)


def _import_onnxruntime():
    """``onnxruntime``, after checking for ``onnx`` too (the exporter writes with it)."""
    try:
        import onnx  # noqa: F401
        import onnxruntime
    except ImportError as exc:
        raise ConfigError(
            f"runtime 'onnx' needs the onnxruntime and onnx packages ({exc}): "
            "pip install onnxruntime==1.31.1 onnx==1.23.2 (or use runtime 'torch')"
        ) from exc
    return onnxruntime

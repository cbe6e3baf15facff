"""WavLink: Whisper with a global token and a text encoder in one embedding space.

Kumar, Lepauloux, Hacid, "WavLink: Compact Audio-Text Embeddings with a Global Whisper Token",
arXiv 2601.15118 (ICASSP 2026).

Shapes (one vocabulary across the package):
    wave    (N,)             float32 mono 16 kHz
    mel     (B, n_mels, T)   log-mel frames, T even, <= 3000
    pooled  (B, W)           tower output before projection
    emb     (B, D)           unit-norm embedding; ``dim`` <= D is a trained Matryoshka size

The user-facing methods (``embed_audio``, ``embed_text``, ``similarity``, ``zero_shot``,
``from_pretrained``, ``save_pretrained``) live in ``inference.py`` and ``checkpoint.py`` and are
attached here, so this file stays the network alone.
"""

from __future__ import annotations

import logging
import math

import torch
import torch.nn.functional as F
from torch import nn

from .audio_tower import WhisperAudioTower
from .config import WavLinkConfig
from .errors import CheckpointError
from .matryoshka import check_dim, truncate
from .text_tower import TextTower

log = logging.getLogger(__name__)

MAX_LOGIT_SCALE = 100.0


class WavLink(nn.Module):
    """Audio tower + text tower, one linear projection each, L2-normalised embeddings.

    Args:
        config: the architecture.
        pretrained: load the base weights named by ``config.audio.backbone`` and
            ``config.text.backbone``; False builds the same structure with random weights (used
            when a checkpoint stores every weight itself).
    """

    def __init__(self, config: WavLinkConfig, *, pretrained: bool = True):
        super().__init__()
        self.config = config
        self.audio = WhisperAudioTower(config.audio)
        if pretrained and config.audio.backbone != "random":
            load_whisper_encoder(self.audio, config.audio.backbone)
        self.text = TextTower(config.text, pretrained=pretrained)
        d = config.embed_dim
        self.audio_proj = nn.Linear(self.audio.width, d, bias=config.proj_bias)
        self.text_proj = nn.Linear(self.text.width, d, bias=config.proj_bias)
        clip_proj = self.text.pretrained_projection
        if clip_proj is not None:
            if tuple(clip_proj.shape) != (d, self.text.width):
                raise CheckpointError(
                    f"CLIP text_projection is {tuple(clip_proj.shape)}; embed_dim={d} must equal "
                    f"its output width {clip_proj.shape[0]} to reuse it as the paper does"
                )
            with torch.no_grad():
                self.text_proj.weight.copy_(clip_proj)
        scale, bias = config.resolved_logit_init
        self.logit_scale = nn.Parameter(torch.tensor(float(scale)))
        self.logit_bias = None if bias is None else nn.Parameter(torch.tensor(float(bias)))
        # Filled by the checkpoint loader: what training produced these weights (None: untrained
        # projections and global token, so scores are meaningless).
        self.training_info: dict | None = None

    @property
    def device(self) -> torch.device:
        return self.logit_scale.device

    @property
    def is_trained(self) -> bool:
        return self.training_info is not None

    @property
    def matryoshka_dims(self) -> tuple[int, ...]:
        return self.config.matryoshka_dims

    def check_dim(self, dim: int | None) -> int:
        return check_dim(dim, self.config.matryoshka_dims, self.config.name)

    def scale(self) -> torch.Tensor:
        """exp(logit_scale), capped at 100 as in CLIP."""
        return self.logit_scale.exp().clamp(max=MAX_LOGIT_SCALE)

    def clamp_logit_scale(self) -> None:
        """Call after each optimizer step so the stored temperature never drifts past the cap."""
        with torch.no_grad():
            self.logit_scale.clamp_(0, math.log(MAX_LOGIT_SCALE))

    def encode_audio(
        self, mel: torch.Tensor, frames: torch.Tensor | None = None, dim: int | None = None
    ) -> torch.Tensor:
        """(B, n_mels, T) log-mel → (B, dim) unit-norm embeddings."""
        emb = F.normalize(self.audio_proj(self.audio(mel, frames)), dim=-1)
        return emb if dim is None else truncate(emb, self.check_dim(dim))

    def encode_text(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, dim: int | None = None
    ) -> torch.Tensor:
        """(B, L) tokens → (B, dim) unit-norm embeddings."""
        emb = F.normalize(self.text_proj(self.text(input_ids, attention_mask)), dim=-1)
        return emb if dim is None else truncate(emb, self.check_dim(dim))

    def forward(
        self,
        mel: torch.Tensor,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        frames: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor | None]:
        """Training forward: full-size embeddings plus the (exp'd, capped) temperature and bias."""
        return {
            "audio_emb": self.encode_audio(mel, frames),
            "text_emb": self.encode_text(input_ids, attention_mask),
            "logit_scale": self.scale(),
            "logit_bias": self.logit_bias,
        }


def load_whisper_encoder(tower: WhisperAudioTower, backbone: str) -> None:
    """Load pretrained Whisper encoder weights into ``tower`` strictly, checking the shapes."""
    from .whisper_weights import load_whisper

    wcfg, state = load_whisper(backbone, encoder_only=True)
    cfg = tower.cfg
    got = (wcfg.num_mel_bins, wcfg.d_model, wcfg.encoder_layers, wcfg.encoder_attention_heads)
    want = (cfg.n_mels, cfg.width, cfg.layers, cfg.heads)
    if got != want:
        raise CheckpointError(
            f"Whisper backbone {backbone!r} has (n_mels, width, layers, heads)={got}, "
            f"but the audio config says {want}"
        )
    tower.encoder.load_state_dict(state, strict=True)

"""The audio tower: a Whisper encoder with one learnable global token appended (WavLink §2).

Shapes:
    mel     (B, n_mels, T)    log-mel frames, T even, T <= 3000 (30 s)
    hidden  (B, T/2 + 1, W)   encoder states; the last position is the global token
    pooled  (B, W)            the global token's final state (or the mean of valid frames)

The global token follows the conv front-end and the positional embeddings, runs through every
transformer layer and the final layer norm. It gets no positional embedding of its own (the paper
is silent; a position-free token is the simplest reading of "append").

Dynamic length: a clip is encoded over only the frames it needs, by slicing Whisper's sinusoidal
position table. In a batch, shorter clips are zero-padded and their padded keys are masked, so a
clip's embedding does not depend on its neighbours in the batch. ``pad_to_30s`` callers instead
pass full 3000-frame mels with ``frames=None``: nothing is masked, exactly as in the paper.
"""

from __future__ import annotations

import torch
from torch import nn

from .config import AudioConfig

MAX_FRAMES = 3000


def whisper_encoder_config(cfg: AudioConfig):
    """The ``transformers.WhisperConfig`` of the encoder described by ``cfg``."""
    from transformers import WhisperConfig

    wcfg = WhisperConfig(
        num_mel_bins=cfg.n_mels,
        d_model=cfg.width,
        encoder_layers=cfg.layers,
        encoder_attention_heads=cfg.heads,
        encoder_ffn_dim=cfg.ffn_dim,
        max_source_positions=MAX_FRAMES // 2,
    )
    wcfg._attn_implementation = "sdpa"
    return wcfg


class WhisperAudioTower(nn.Module):
    """Whisper encoder (Hugging Face modules, so pretrained keys load unchanged) + global token."""

    def __init__(self, cfg: AudioConfig):
        super().__init__()
        from transformers.models.whisper.modeling_whisper import WhisperEncoder

        self.cfg = cfg
        self.encoder = WhisperEncoder(whisper_encoder_config(cfg))
        self.global_token = (
            nn.Parameter(torch.randn(1, 1, cfg.width) * cfg.global_token_init_std)
            if cfg.pooling == "global"
            else None
        )

    @property
    def width(self) -> int:
        return self.cfg.width

    def forward_hidden(
        self, mel: torch.Tensor, frames: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the encoder.

        Args:
            mel: (B, n_mels, T) log-mel, T even and <= 3000.
            frames: (B,) valid mel frames per clip, or None when every frame is valid.

        Returns:
            hidden: (B, S, W) final (post layer norm) states, S = T/2 (+1 with the global token).
            valid: (B, S) bool, False on padded positions.
        """
        enc = self.encoder
        batch, _, t = mel.shape
        if t % 2 or t > MAX_FRAMES:
            raise ValueError(f"mel has {t} frames; expected an even count <= {MAX_FRAMES}")
        if frames is not None:
            # Frames past a clip's end must read as the conv's own zero padding, or the last
            # valid positions would see the neighbour-dependent padding of the batch.
            in_clip = torch.arange(t, device=mel.device)[None, :] < frames.to(mel.device)[:, None]
            mel = mel * in_clip[:, None, :]  # (B, n_mels, T)
        x = nn.functional.gelu(enc.conv1(mel))
        x = nn.functional.gelu(enc.conv2(x))  # (B, W, T/2)
        x = x.permute(0, 2, 1)  # (B, T/2, W)
        positions = x.shape[1]
        x = x + enc.embed_positions.weight[:positions]
        if frames is None:
            valid = torch.ones(batch, positions, dtype=torch.bool, device=mel.device)
        else:
            # conv2 has stride 2, so clip i covers ceil(frames/2) encoder positions.
            n_pos = (frames.to(mel.device) + 1) // 2  # (B,)
            valid = torch.arange(positions, device=mel.device)[None, :] < n_pos[:, None]
        if self.global_token is not None:
            x = torch.cat([x, self.global_token.expand(batch, 1, -1).to(x.dtype)], dim=1)
            valid = torch.cat([valid, valid.new_ones(batch, 1)], dim=1)  # (B, S)
        x = nn.functional.dropout(x, p=enc.dropout, training=self.training)
        mask = None if bool(valid.all()) else valid[:, None, None, :]  # (B, 1, 1, S) keys
        for layer in enc.layers:
            x = layer(x, mask)
        return enc.layer_norm(x), valid

    def forward(self, mel: torch.Tensor, frames: torch.Tensor | None = None) -> torch.Tensor:
        """Pooled audio representation (B, W): the global token, or the mean of valid frames."""
        hidden, valid = self.forward_hidden(mel, frames)
        if self.global_token is not None:
            return hidden[:, -1]
        return mean_pool(hidden, valid)


def mean_pool(hidden: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Mean of ``hidden`` (B, S, W) over positions where ``valid`` (B, S) is True → (B, W)."""
    weights = valid.to(hidden.dtype).unsqueeze(-1)  # (B, S, 1)
    return (hidden * weights).sum(1) / weights.sum(1).clamp_min(1.0)

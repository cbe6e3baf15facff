"""Adaptation regimes of the paper's design sweep (arXiv 2601.15118 §2, Fig. 1).

=============  ===================================================================================
regime         what trains (ALWAYS also: the global token*, both projections, temperature, bias)
=============  ===================================================================================
projector      nothing inside the towers: both encoders frozen
lora           LoRA adapters (``peft``) on every attention and MLP Linear of the towers in scope
full           every weight of the towers in scope
=============  ===================================================================================

``scope=audio`` keeps the text tower frozen (only the audio tower adapts); ``scope=both`` adapts
both towers. ``train_text_head=false`` also freezes the text projection (a fine-tune that must
keep every word's text embedding where it was). (*) ``train_global_token=false`` freezes the global token too; with ``projector``
that makes the whole audio tower a fixed function, whose pooled output the data module then
caches once per clip (the "heads only" regime, minutes instead of hours on 2 CPU cores).

LoRA targets (documented choice): Whisper ``q_proj k_proj v_proj out_proj fc1 fc2`` and BERT /
MiniLM ``query key value dense`` (``dense`` = attention output, intermediate and output Linears),
i.e. every Linear of every transformer block, rank 8 as in the paper's sweep, alpha 16. The conv
stem, embeddings and layer norms stay frozen.

Saving: ``checkpoint.save_pretrained`` only knows the plain tower modules, so LoRA is merged into
the tower weights (peft's own ``LoraLayer.merge``, the step ``merge_and_unload`` performs) on a copy
of the model before saving; the checkpoint then loads with the unchanged loader.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field

import torch
from torch import nn

from ..model import WavLink
from .config import TrainConfig

log = logging.getLogger(__name__)

HEAD_PREFIXES = ("audio_proj.", "text_proj.", "logit_scale", "logit_bias")
# Whisper's positional table is a fixed sinusoid (frozen in Hugging Face's WhisperEncoder too).
ALWAYS_FROZEN = ("audio.encoder.embed_positions.",)


@dataclass
class RegimeReport:
    regime: str
    scope: str
    trainable: int
    total: int
    by_part: dict[str, int] = field(default_factory=dict)
    lora: bool = False

    def line(self) -> str:
        parts = ", ".join(f"{k} {v:,}" for k, v in self.by_part.items() if v)
        return (
            f"regime={self.regime} scope={self.scope}: {self.trainable:,} of {self.total:,} "
            f"parameters trainable ({100 * self.trainable / max(self.total, 1):.2f} %): {parts}"
        )

    def to_dict(self) -> dict:
        return {
            "regime": self.regime,
            "scope": self.scope,
            "trainable_params": self.trainable,
            "total_params": self.total,
            "trainable_by_part": self.by_part,
        }


def _lora(module: nn.Module, cfg: TrainConfig, targets: tuple[str, ...]) -> None:
    from peft import LoraConfig, inject_adapter_in_model

    lcfg = LoraConfig(
        r=cfg.lora_rank,
        lora_alpha=cfg.lora_alpha,
        lora_dropout=cfg.lora_dropout,
        target_modules=list(targets),
        bias="none",
    )
    inject_adapter_in_model(lcfg, module)


def apply_regime(model: WavLink, cfg: TrainConfig) -> RegimeReport:
    """Set ``requires_grad`` (and inject LoRA adapters) on ``model`` in place for ``cfg``."""
    audio_in, text_in = cfg.audio_weights_train, cfg.text_weights_train
    if cfg.regime == "lora":
        # Seeded so a resumed run rebuilds bit-identical adapters before loading its state.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed + 1)
            _lora(model.audio.encoder, cfg, cfg.lora_targets_audio)
            if text_in:
                _lora(model.text.model, cfg, cfg.lora_targets_text)
    for name, p in model.named_parameters():
        if name.startswith(ALWAYS_FROZEN):
            p.requires_grad_(False)
        elif name.startswith("text_proj."):
            p.requires_grad_(cfg.train_text_head)
        elif name.startswith(HEAD_PREFIXES):
            p.requires_grad_(True)
        elif name == "audio.global_token":
            p.requires_grad_(cfg.train_global_token)
        elif name.startswith("audio.encoder."):
            p.requires_grad_(audio_in and (cfg.regime == "full" or "lora_" in name))
        elif name.startswith("text.model."):
            p.requires_grad_(text_in and (cfg.regime == "full" or "lora_" in name))
        else:  # pragma: no cover - a new module the regimes do not know about
            raise RuntimeError(f"apply_regime: unknown parameter {name}")
    return count(model, cfg)


def count(model: WavLink, cfg: TrainConfig) -> RegimeReport:
    parts = {"heads": 0, "global_token": 0, "audio_tower": 0, "text_tower": 0}
    total = trainable = 0
    for name, p in model.named_parameters():
        total += p.numel()
        if not p.requires_grad:
            continue
        trainable += p.numel()
        if name == "audio.global_token":
            parts["global_token"] += p.numel()
        elif name.startswith("audio."):
            parts["audio_tower"] += p.numel()
        elif name.startswith("text."):
            parts["text_tower"] += p.numel()
        else:
            parts["heads"] += p.numel()
    return RegimeReport(cfg.regime, cfg.scope, trainable, total, parts, lora=cfg.regime == "lora")


def set_modes(model: WavLink, cfg: TrainConfig, training: bool = True) -> None:
    """Train mode (dropout) only in towers whose weights train; frozen towers run as at inference."""
    model.train(training)
    if training:
        model.audio.train(cfg.audio_weights_train)
        model.text.train(cfg.text_weights_train)


def has_lora(model: nn.Module) -> bool:
    from peft.tuners.lora import LoraLayer

    return any(isinstance(m, LoraLayer) for m in model.modules())


def merge_lora(model: nn.Module) -> nn.Module:
    """Merge every LoRA layer into its base Linear and put the base Linear back, in place.

    The same steps as peft's ``merge_and_unload`` (``LoraLayer.merge`` then swapping in
    ``get_base_layer()``), done on the module tree directly because the adapters were injected
    into plain modules (no ``PeftModel`` wrapper).
    """
    from peft.tuners.lora import LoraLayer

    names = [n for n, m in model.named_modules() if isinstance(m, LoraLayer)]
    for name in names:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        layer = getattr(parent, child)
        layer.merge()
        setattr(parent, child, layer.get_base_layer())
    return model


def export_model(model: WavLink) -> WavLink:
    """A copy of ``model`` in the plain architecture ``save_pretrained`` knows (LoRA merged)."""
    out = copy.deepcopy(model).cpu().float()
    if has_lora(out):
        merge_lora(out)
    for p in out.parameters():
        p.requires_grad_(False)
    return out.eval()

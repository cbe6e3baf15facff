"""Tests of wavlink_core.losses: hand values, Matryoshka averaging, 2-process gloo gathering."""

from __future__ import annotations

import math

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F

from wavlink_core.errors import ConfigError
from wavlink_core.losses import ClipLoss, MatryoshkaLoss, SigLipLoss, gather_features


def _unit(batch: int, dim: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(batch, dim, generator=gen), dim=-1)


def _loss(fn, a, t, scale, **kw) -> torch.Tensor:
    return fn(a, t, torch.tensor(float(scale)), **kw)["contrastive_loss"]


# ----------------------------------------------------------------------------- CLIP


def test_clip_matches_hand_value():
    c = math.sqrt(3) / 2  # t1 at 60 degrees: logits [[0.5, 0], [c, 1]] at scale 1
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    t = torch.tensor([[0.5, c], [0.0, 1.0]])
    rows = (math.log(math.exp(0.5) + 1) - 0.5) + (math.log(math.exp(c) + math.e) - 1)
    cols = (math.log(math.exp(0.5) + math.exp(c)) - 0.5) + (math.log(1 + math.e) - 1)
    expected = 0.5 * (rows / 2 + cols / 2)
    assert _loss(ClipLoss(), a, t, 1.0).item() == pytest.approx(expected, rel=1e-6)
    # A softmax is shift-invariant: the optional bias must not change the loss.
    assert _loss(ClipLoss(), a, t, 1.0, logit_bias=-3.0).item() == pytest.approx(expected, rel=1e-6)


def test_clip_aligned_large_scale_is_zero_and_symmetric():
    eye = torch.eye(4, 8)
    assert _loss(ClipLoss(), eye, eye, 100.0).item() < 1e-6
    a, t = _unit(6, 16, 0), _unit(6, 16, 1)
    swapped = _loss(ClipLoss(), t, a, 7.0).item()
    assert _loss(ClipLoss(), a, t, 7.0).item() == pytest.approx(swapped, rel=1e-6)


def test_clip_gradients_reach_both_inputs_and_scale():
    a = _unit(5, 8, 0).requires_grad_()
    t = _unit(5, 8, 1).requires_grad_()
    scale = torch.tensor(10.0, requires_grad=True)
    ClipLoss()(a, t, scale)["contrastive_loss"].backward()
    for g in (a.grad, t.grad, scale.grad):
        assert g is not None and torch.isfinite(g).all() and g.abs().sum() > 0


def test_clip_group_ids():
    a, t = _unit(6, 16, 0), _unit(6, 16, 1)
    plain = _loss(ClipLoss(), a, t, 20.0)
    unique = _loss(ClipLoss(), a, t, 20.0, group_ids=torch.arange(6))
    assert unique.item() == pytest.approx(plain.item(), rel=1e-6)
    # Two clips with the same caption, whose text embeddings differ slightly (dropout);
    # each audio happens to sit on the other copy, which hard labels punish.
    t1 = torch.tensor([1.0, 0.0, 0.0])
    t2 = F.normalize(torch.tensor([1.0, 0.2, 0.0]), dim=0)
    t3 = torch.tensor([0.0, 0.0, 1.0])
    a, t = torch.stack([t2, t1, t3]), torch.stack([t1, t2, t3])
    hard = _loss(ClipLoss(), a, t, 50.0)
    soft = _loss(ClipLoss(), a, t, 50.0, group_ids=torch.tensor([7, 7, 3]))
    assert soft.item() < hard.item()
    assert soft.item() >= math.log(2) * 2 / 3 - 1e-6  # floor: log k per row with k positives
    # Bit-identical duplicates tie with the positive, so grouping cannot change CLIP there.
    t = torch.stack([t1, t1, t3])
    assert _loss(ClipLoss(), a, t, 50.0).item() == pytest.approx(
        _loss(ClipLoss(), a, t, 50.0, group_ids=torch.tensor([7, 7, 3])).item(), rel=1e-6
    )


# ----------------------------------------------------------------------------- SigLIP


def test_siglip_matches_hand_values():
    one = torch.tensor([[1.0, 0.0]])
    # t=10, b=-10 (paper init): the positive logit is 0 -> -log sigmoid(0) = log 2.
    got = _loss(SigLipLoss(), one, one, 10.0, logit_bias=-10.0).item()
    assert got == pytest.approx(math.log(2), rel=1e-6)
    eye = torch.eye(2)
    # Diagonal logits 0 (log 2 each); off-diagonal -10 with z=-1 -> log(1 + e^-10) each; / B=2.
    expected = (2 * math.log(2) + 2 * math.log(1 + math.exp(-10))) / 2
    got = _loss(SigLipLoss(), eye, eye, 10.0, logit_bias=-10.0).item()
    assert got == pytest.approx(expected, rel=1e-6)


def test_siglip_group_ids_make_duplicate_captions_positive():
    caption = torch.tensor([1.0, 0.0])
    a = torch.tensor([[1.0, 0.0], [0.8, 0.6]])
    t = torch.stack([caption, caption])  # two clips, one identical caption
    without = _loss(SigLipLoss(), a, t, 10.0, logit_bias=-5.0)
    grouped = _loss(SigLipLoss(), a, t, 10.0, logit_bias=-5.0, group_ids=torch.tensor([4, 4]))
    assert grouped.item() < without.item()
    a.requires_grad_()
    _loss(SigLipLoss(), a, t, 10.0, logit_bias=-10.0).backward()
    assert a.grad is not None and a.grad.abs().sum() > 0


# ----------------------------------------------------------------------------- Matryoshka


def test_matryoshka_is_weighted_mean_of_renormalised_levels():
    a, t = _unit(6, 32, 0), _unit(6, 32, 1)
    inner = ClipLoss()
    mrl = MatryoshkaLoss(inner, [8, 32, 16])
    assert mrl.dims == (32, 16, 8)
    out = mrl(a, t, torch.tensor(10.0))
    levels = {
        d: _loss(inner, F.normalize(a[:, :d], dim=-1), F.normalize(t[:, :d], dim=-1), 10.0)
        for d in (32, 16, 8)
    }
    mean = sum(levels.values()).item() / 3
    assert out["contrastive_loss"].item() == pytest.approx(mean, rel=1e-6)
    for d, v in levels.items():
        assert out[f"loss_at_{d}"].item() == pytest.approx(v.item(), rel=1e-6)
        assert not out[f"loss_at_{d}"].requires_grad
    weighted = MatryoshkaLoss(inner, [8, 32], weights=[3.0, 1.0])  # sorted together with dims
    assert weighted.dims == (32, 8) and weighted.weights == (0.25, 0.75)
    expected = 0.25 * levels[32] + 0.75 * levels[8]
    got = weighted(a, t, torch.tensor(10.0))["contrastive_loss"].item()
    assert got == pytest.approx(expected.item(), rel=1e-6)
    sig = MatryoshkaLoss(SigLipLoss(), [16, 8])(a, t, torch.tensor(10.0), torch.tensor(-10.0))
    assert set(sig) == {"contrastive_loss", "loss_at_16", "loss_at_8"}


@pytest.mark.parametrize(
    ("dims", "weights", "match"),
    [
        ([], None, r"at least one.*got \[\]"),
        ([64, 0], None, r"positive integers; got 0"),
        ([64, -8], None, r"positive integers; got -8"),
        ([64, 32, 64], None, r"duplicate \[64\]"),
        ([64, 32], [1.0], r"one entry per dim \(2 .*got 1"),
        ([64, 32], [1.0, -1.0], r">= 0; got -1.0"),
        ([64, 32], [0.0, 0.0], r"not all be zero"),
    ],
)
def test_matryoshka_validation(dims, weights, match):
    with pytest.raises(ConfigError, match=match):
        MatryoshkaLoss(ClipLoss(), dims, weights)


def test_matryoshka_dim_larger_than_width():
    mrl = MatryoshkaLoss(ClipLoss(), [64, 16])
    with pytest.raises(ConfigError, match=r"dim 64 exceeds the embedding width 32"):
        mrl(_unit(2, 32, 0), _unit(2, 32, 1), torch.tensor(10.0))


# ----------------------------------------------------------------------------- distributed

SCALE, BIAS = 10.0, -10.0
# name -> (loss module, kwargs, per-rank loss equals global ("each") or averages to it ("mean"),
#          per-rank input grad = factor * single-process grad of its rows)
CASES = {
    "clip_global": (lambda: ClipLoss(), {}, "each", 2.0),
    "clip_local": (lambda: ClipLoss(local_loss=True), {}, "mean", 2.0),
    "clip_global_nograd": (lambda: ClipLoss(gather_with_grad=False), {}, "each", 1.0),
    "clip_local_groups": (lambda: ClipLoss(local_loss=True), {"group_ids": True}, "mean", 2.0),
    "clip_global_groups": (lambda: ClipLoss(), {"group_ids": True}, "each", 2.0),
    "siglip": (lambda: SigLipLoss(), {"logit_bias": BIAS}, "mean", 2.0),
    "siglip_groups": (lambda: SigLipLoss(), {"logit_bias": BIAS, "group_ids": True}, "mean", 2.0),
}
IDS = torch.tensor([0, 1, 2, 0, 3, 1, 4, 5])  # duplicates within and across ranks


def _kwargs(kw: dict, ids: torch.Tensor) -> dict:
    return {k: (ids if k == "group_ids" else v) for k, v in kw.items()}


def _dist_worker(rank, world, init_file, out_file, a, t):
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        b = a.shape[0] // world
        sl = slice(rank * b, (rank + 1) * b)
        res = {}
        for name, (make, kw, _, _) in CASES.items():
            la, lt = a[sl].clone().requires_grad_(), t[sl].clone().requires_grad_()
            loss = _loss(make(), la, lt, SCALE, **_kwargs(kw, IDS[sl]))
            loss.backward()
            res[name] = (loss.detach(), la.grad, lt.grad)
        ga, gt = gather_features(a[sl], t[sl])
        res["gathered"] = torch.equal(ga, a) and torch.equal(gt, t)
        try:
            ClipLoss()(a[: b - rank], t[: b - rank], torch.tensor(SCALE))  # ranks disagree on B
        except ConfigError as e:
            res["unequal"] = str(e)
        torch.save(res, f"{out_file}.{rank}")
        dist.barrier()  # neither rank tears down its sockets while the other still reads
    finally:
        dist.destroy_process_group()


def test_distributed_two_ranks_match_single_process(tmp_path):
    world = 2
    a, t = _unit(8, 16, 0), _unit(8, 16, 1)
    out = tmp_path / "res"
    args = (world, str(tmp_path / "init"), str(out), a, t)
    mp.spawn(_dist_worker, args=args, nprocs=world, join=True)
    ranks = [torch.load(f"{out}.{r}", weights_only=True) for r in range(world)]
    b = a.shape[0] // world
    # Ranks reduce in another order than one process does; a wrong gather is off by ~100 %.
    tol = {"rtol": 1e-4, "atol": 1e-6}
    for name, (make, kw, reduce, factor) in CASES.items():
        fa, ft = a.clone().requires_grad_(), t.clone().requires_grad_()
        ref = _loss(make(), fa, ft, SCALE, **_kwargs(kw, IDS))
        ref.backward()
        losses = torch.stack([r[name][0] for r in ranks])
        if reduce == "each":
            torch.testing.assert_close(losses, ref.detach().expand(world), msg=name, **tol)
        else:
            torch.testing.assert_close(losses.mean(), ref.detach(), msg=name, **tol)
        for rank, r in enumerate(ranks):
            sl = slice(rank * b, (rank + 1) * b)
            torch.testing.assert_close(
                r[name][1], factor * fa.grad[sl], msg=f"{name} audio grad", **tol
            )
            torch.testing.assert_close(
                r[name][2], factor * ft.grad[sl], msg=f"{name} text grad", **tol
            )
    assert all(r["gathered"] for r in ranks)
    assert all("same local batch size; got [4, 3]" in r["unequal"] for r in ranks)


def test_gather_features_is_noop_without_distributed():
    a, t = _unit(3, 4, 0), _unit(3, 4, 1)
    ga, gt = gather_features(a, t)
    assert ga is a and gt is t

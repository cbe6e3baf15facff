"""The few-shot linear head: its fit, ``head=`` in ``fit_examples``, save/load, CLI, evaluation, calibration."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from wavlink_core import FewShotClassifier, fit_examples
from wavlink_core.calibration import head_choice, tune_head
from wavlink_core.cli import main as cli
from wavlink_core.errors import CheckpointError
from wavlink_core.evaluate import main as evaluate
from wavlink_core.fewshot_head import fit_head_at, wants_head

from test_fewshot import SR, synthetic_classifier, tone, unit
from test_fewshot_eval import held_out, write_tone


def primal_gradient(x, y, t, w, b, scale, l2):
    """Gradient of the head objective in (W, b) straight from its definition (no dual trick)."""
    onehot = np.eye(len(t))[y]
    sample_w = (onehot / onehot.sum(axis=0)).sum(axis=1) / len(t)
    logits = scale * (x @ w.T + b)
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    g = scale * (p - onehot) * sample_w[:, None]
    return g.T @ x + 2 * l2 * (w - t), g.sum(axis=0) + 2 * l2 * b


def test_head_is_the_optimum_and_the_penalty_pulls_it_to_the_prompts():
    rng = np.random.default_rng(1)
    t = unit(rng.standard_normal((3, 32)))
    x = unit(rng.standard_normal((9, 32)))
    y = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2])
    w, b = fit_head_at(x, y, t, 15.0, 0.05)
    gw, gb = primal_gradient(x, y, t, w.astype(np.float64), b.astype(np.float64), 15.0, 0.05)
    assert np.abs(gw).max() < 1e-3 and np.abs(gb).max() < 1e-3  # stationary in the full space
    assert ((x @ w.T + b).argmax(axis=1) == y).all()  # random prompts, yet the examples are named
    # A strong pull leaves the text prior as it is: the head is then zero-shot.
    w, b = fit_head_at(x, y, t, 15.0, 1e4)
    np.testing.assert_allclose(w, t, atol=1e-3)
    np.testing.assert_allclose(b, 0, atol=1e-3)
    with pytest.raises(ValueError, match="l2=0"):
        fit_head_at(x, y, t, 15.0, 0.0)


def test_head_corrects_a_misleading_prompt_without_the_cache(test_model):
    clf, centres = synthetic_classifier(test_model, alpha=0.0)  # both prompts look like 'a'
    assert clf.scores(centres[1:2])[0].argmax() == 0
    from wavlink_core.fewshot_head import fit_linear_head

    head = fit_linear_head(
        clf.example_emb, clf.example_label, clf.text_emb, 15.0, (clf.dim,), l2=0.01
    )
    assert replace(clf, head=head).scores(centres[1:2])[0].argmax() == 1


def test_auto_uses_the_head_only_with_enough_examples(test_model, tmp_path):
    assert wants_head("auto", np.array([0, 0, 1, 1]), 2)
    assert not wants_head("auto", np.array([0, 0, 1]), 2)
    assert wants_head("linear", np.array([0, 1]), 5) and not wants_head("none", np.array([0]), 1)
    few = {"low": [tone(200)], "high": [tone(3000)]}
    assert fit_examples(test_model, few, sampling_rate=SR, head_min_shots=2).head is None
    many = {"low": [tone(200), tone(210, seed=1)], "high": [tone(3000), tone(3100, seed=2)]}
    clf = fit_examples(test_model, many, sampling_rate=SR, head_min_shots=2)
    assert sorted(clf.head.weights) == sorted(test_model.matryoshka_dims)
    for d in test_model.matryoshka_dims:
        res = clf.with_dim(d).classify(tone(205), sampling_rate=SR)
        assert res.dim == d and abs(sum(res.probs) - 1) < 1e-5
    with pytest.raises(ValueError, match=r"head='big'.*'auto', 'none', 'linear'"):
        fit_examples(test_model, many, sampling_rate=SR, head="big")
    with pytest.raises(ValueError, match="head_l2"):
        fit_examples(test_model, many, sampling_rate=SR, head_l2=-1)


def test_head_survives_save_and_load(test_model, tmp_path):
    clf = fit_examples(
        test_model, {"low": [tone(200)], "high": [tone(3000)]}, sampling_rate=SR, head="linear"
    )
    out = clf.save(tmp_path / "fit")
    meta = json.loads((out / "fewshot.json").read_text())
    assert meta["head"] == {"kind": "linear", "l2": clf.head.l2}
    back = FewShotClassifier.load(out, test_model)
    for d in test_model.matryoshka_dims:
        np.testing.assert_array_equal(back.head.weights[d], clf.head.weights[d])
    a, b = clf.classify(tone(400), sampling_rate=SR), back.classify(tone(400), sampling_rate=SR)
    np.testing.assert_allclose(a.probs, b.probs, rtol=1e-5)
    # A head-less fit of format 1 (before heads existed) still loads, without a head.
    plain = replace(clf, head=None).save(tmp_path / "plain")
    meta = json.loads((plain / "fewshot.json").read_text())
    (plain / "fewshot.json").write_text(json.dumps({**meta, "format_version": 1}))
    assert FewShotClassifier.load(plain, test_model).head is None
    # A head that lacks a size is refused, naming the sizes.
    from safetensors.numpy import load_file, save_file

    arrays = load_file(str(out / "fewshot.safetensors"))
    del arrays[f"head_w_{test_model.matryoshka_dims[-1]}"]
    save_file(arrays, str(out / "fewshot.safetensors"))
    with pytest.raises(CheckpointError, match="linear head does not cover"):
        FewShotClassifier.load(out, test_model)


def test_cli_head_flag_and_evaluation_head_columns(test_model, tmp_path, capsys):
    from wavlink_core import save_pretrained

    ckpt = str(save_pretrained(test_model, tmp_path / "ckpt"))
    data = tmp_path / "tones"
    for k in range(5):
        write_tone(data / "low" / f"l{k}.wav", 200 + 5 * k, seed=k)
        write_tone(data / "high" / f"h{k}.wav", 3000 + 50 * k, seed=10 + k)
    query = write_tone(tmp_path / "q.wav", 205)
    base = ["classify", str(query), "--model", ckpt, "--examples", str(data)]
    assert cli([*base, "--head", "linear"]) == 0
    assert "linear head, l2" in capsys.readouterr().out
    assert cli([*base, "--head", "none"]) == 0
    assert "training-free" in capsys.readouterr().out

    out = tmp_path / "out"
    args = ["--model", "test", "--data", str(data), "--quiet", "--out", str(out)]
    assert evaluate([*args, "--task", "fewshot", "--shots", "1,3", "--draws", "3"]) == 0
    assert json.loads((out / "results.json").read_text())["fewshot"]["head"] is None
    assert "+ head" not in (out / "results.md").read_text()
    assert (
        evaluate(
            [*args, "--task", "fewshot", "--shots", "1,3", "--draws", "3"]
            + ["--fewshot-head", "auto", "--head-l2", "0.5"]
        )
        == 0
    )
    f = json.loads((out / "results.json").read_text())["fewshot"]
    assert f["head"]["kind"] == "auto" and f["head"]["l2"] == 0.5
    for level in f["levels"].values():
        for row in level["shots"].values():
            assert 0 <= row["head_mean"] <= 1 and row["head_std"] >= 0
    # auto below its example count is the training-free blend, draw for draw
    if f["head"]["min_shots"] > 1:
        one = f["levels"]["8"]["shots"]["1"]
        assert one["head_mean"] == one["mean"]
    md = (out / "results.md").read_text()
    assert "1-shot + head %" in md and "only from" in md


def test_calibration_scores_heads_and_picks_where_they_help(test_model):
    table = tune_head(test_model, held_out(d=test_model.config.embed_dim), n=5)
    assert "none" in table and len(table) > 2
    assert all(0 <= v <= 1 for row in table.values() for v in row.values())
    fake = {
        "none": {"1-shot": 0.5, "2-shot": 0.6, "5-shot": 0.7},
        "l2=0.1": {"1-shot": 0.4, "2-shot": 0.65, "5-shot": 0.8},
        "l2=1.0": {"1-shot": 0.5, "2-shot": 0.55, "5-shot": 0.6},
    }
    assert head_choice(fake) == (0.1, 2)
    fake["l2=0.1"]["5-shot"] = 0.6
    fake["l2=0.1"]["2-shot"] = 0.9
    assert head_choice(fake) == (0.1, None)

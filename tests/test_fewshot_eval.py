"""Few-shot from the shell and in the evaluation command; corpus-validation calibration helpers."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from wavlink_core import save_pretrained
from wavlink_core.calibration import HeldOut, best_threshold, episodes, fit_openset
from wavlink_core.cli import main as cli
from wavlink_core.evaluate import main as evaluate
from wavlink_core.evaluation.fewshot import draw_examples
from wavlink_core.fewshot import DEFAULT_BETA

SR = 16000


def write_tone(path, freq, seconds=0.5, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, (0.4 * np.sin(2 * np.pi * freq * t) + 0.01 * rng.standard_normal(t.size)), SR)
    return path


@pytest.fixture(scope="module")
def ckpt(test_model, tmp_path_factory):
    return str(save_pretrained(test_model, tmp_path_factory.mktemp("ckpt")))


def test_cli_classify_with_examples_folder_and_saved_fit(ckpt, tmp_path, capsys):
    ex = tmp_path / "examples"
    for k in range(2):
        write_tone(ex / "low hum" / f"{k}.wav", 200 + 10 * k, seed=k)
        write_tone(ex / "high beep" / f"{k}.wav", 3000 + 50 * k, seed=k)
    (ex / "high beep" / "bad.wav").write_bytes(b"garbage")
    query = write_tone(tmp_path / "q.wav", 205)
    saved = tmp_path / "fit"
    rc = cli(
        [
            "classify",
            str(query),
            "--model",
            ckpt,
            "--examples",
            str(ex),
            "--dim",
            "8",
            "--save",
            str(saved),
        ]
    )
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert "skipped example" in err and "bad.wav" in err
    assert "high beep: 2" in out and "low hum: 2" in out and "dim 8" in out
    assert cli(["classify", str(query), "--model", ckpt, "--examples", str(saved)]) == 0
    out, _ = capsys.readouterr()
    assert "dim 8" in out and "low hum" in out  # the saved size is kept


def test_cli_classify_needs_labels_or_examples(ckpt, tmp_path, capsys):
    query = write_tone(tmp_path / "q.wav", 205)
    assert cli(["classify", str(query), "--model", ckpt]) == 2
    assert cli(["classify", str(query), "--model", ckpt, "--labels", "a", "--examples", "x"]) == 2
    assert "either --labels" in capsys.readouterr().err
    (tmp_path / "ex" / "dog").mkdir(parents=True)
    assert cli(["classify", str(query), "--model", ckpt, "--examples", str(tmp_path / "ex")]) == 2
    assert "'dog'" in capsys.readouterr().err


def test_draws_come_from_the_training_part_only():
    targets = np.array([0, 0, 0, 1, 1, 1, 0, 1])
    train = np.array([0, 1, 3, 4])
    rng = np.random.default_rng(0)
    for _ in range(20):
        ex = draw_examples(train, targets, 2, rng)
        assert set(ex) <= set(train) and sorted(targets[ex]) == [0, 0, 1, 1]


def test_evaluate_fewshot_task_reports_every_size_and_shot(tmp_path, capsys):
    data = tmp_path / "tones"
    for k in range(5):
        write_tone(data / "low" / f"l{k}.wav", 200 + 5 * k, seed=k)
        write_tone(data / "high" / f"h{k}.wav", 3000 + 50 * k, seed=10 + k)
    out = tmp_path / "out"
    args = ["--model", "test", "--data", str(data), "--quiet", "--out", str(out)]
    assert (
        evaluate(
            [
                *args,
                "--task",
                "zeroshot,fewshot",
                "--shots",
                "1,3",
                "--draws",
                "4",
                "--ensemble",
                "--alpha",
                "2",
            ]
        )
        == 0
    )
    res = json.loads((out / "results.json").read_text())
    f = res["fewshot"]
    assert f["alpha"] == 2.0 and f["beta"] == DEFAULT_BETA  # unset: the shipped default
    assert list(f["levels"]) == ["32", "16", "8", "4"] and f["test_clips"] == 10
    lvl = f["levels"]["8"]["shots"]
    assert list(lvl) == ["1", "3"] and len(lvl["3"]["draws"]) == 4
    assert lvl["3"]["std"] == pytest.approx(np.std(lvl["3"]["draws"]))
    assert len(res["templates"]) == 8 and " | " in res["zeroshot"]["prompts"][0]
    md = (out / "results.md").read_text()
    assert "## Few-shot classification" in md and "prompt ensemble of 8 templates" in md
    assert evaluate([*args, "--task", "fewshot", "--shots", "0"]) == 2
    assert evaluate([*args, "--task", "zeroshot,nonsense"]) == 2
    assert evaluate([*args, "--task", "openset"]) == 2  # the test preset has no calibration
    assert "openset.json" in capsys.readouterr().err


def held_out(n_classes=6, per_class=4, d=16, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_classes, d))
    emb = np.repeat(centres, per_class, axis=0) + 0.1 * rng.standard_normal(
        (n_classes * per_class, d)
    )
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    label = np.repeat(np.arange(n_classes), per_class)
    group = np.array([f"g{i // 2}" for i in range(len(label))])  # pairs of clips share a source
    return HeldOut(
        emb.astype(np.float32), label, group, tuple(f"c{i}" for i in range(n_classes)), "x", "0"
    )


def test_episodes_keep_examples_out_of_the_query_group():
    data = held_out()
    eps = episodes(data, 200, seed=0, shots=2, known_share=0.5)
    assert len(eps) == 200 and {e.known for e in eps} == {True, False}
    for e in eps:
        assert not (set(data.group[e.examples]) & {data.group[e.query]})
        assert (data.label[e.query] in e.candidates) == e.known
        assert 2 <= len(e.candidates) <= 10


def test_best_threshold_separates_and_openset_fit_uses_every_size(test_model):
    t, frr, far = best_threshold(np.array([0.6, 0.7, 0.8]), np.array([0.1, 0.2, 0.3]))
    assert 0.3 < t < 0.6 and frr == far == 0
    cal = fit_openset(test_model, held_out(d=test_model.config.embed_dim), n=60)
    assert set(cal.rules) == {"zeroshot", "fewshot"}
    assert list(cal.rules["fewshot"]) == [str(d) for d in test_model.matryoshka_dims]
    assert cal.provenance["fitted_on"].startswith("training corpus validation split")


def test_openset_rates_follow_the_thresholds(test_model):
    from pathlib import Path

    from wavlink_core.evaluation.datasets import Clip, Dataset
    from wavlink_core.evaluation.openset import evaluate_openset
    from wavlink_core.openset import OpenSetCalibration

    rng = np.random.default_rng(0)
    clips = [Clip(Path(f"{c}{i}.wav"), f"class {c}", 1 + i % 2) for c in "abcd" for i in range(4)]
    emb = rng.standard_normal((len(clips), test_model.config.embed_dim)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    data = Dataset("toy", "folder", clips)
    dims = test_model.matryoshka_dims

    def run(threshold):
        rule = {"score": "cosine", "threshold": threshold}
        rules = {m: {str(d): rule for d in dims} for m in ("zeroshot", "fewshot")}
        test_model.openset = OpenSetCalibration(rules)
        try:
            return evaluate_openset(test_model, data, emb, halves=3, shots=1)
        finally:
            test_model.openset = None

    everything_flagged = run(2.0)["levels"]["8"]
    assert everything_flagged["zeroshot"]["false_reject_rate"] == 1.0
    assert everything_flagged["fewshot"]["false_accept_rate"] == 0.0
    nothing_flagged = run(-2.0)["levels"]["8"]
    assert nothing_flagged["zeroshot"]["false_accept_rate"] == 1.0
    assert nothing_flagged["fewshot"]["false_reject_rate"] == 0.0
    test_model.openset = OpenSetCalibration(
        {"zeroshot": {"32": {"score": "cosine", "threshold": 0}}}
    )
    try:
        with pytest.raises(ValueError, match="no fewshot rule for size 32"):
            evaluate_openset(test_model, data, emb, halves=1, shots=1)
    finally:
        test_model.openset = None

"""Few-shot classification, prompt ensembles and the open-set verdict (``test`` preset, numpy clips)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import soundfile as sf

from wavlink_core import FewShotClassifier, embed_text, fit_examples, zero_shot
from wavlink_core.errors import CheckpointError
from wavlink_core.fewshot import blend_logits, class_evidence, examples_from_folder
from wavlink_core.matryoshka import truncate_np
from wavlink_core.openset import OpenSetCalibration, read_openset, write_openset
from wavlink_core.prompts import DEFAULT_TEMPLATES, label_embeddings

SR = 16000


def tone(freq: float, seconds: float = 0.5, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    return (0.4 * np.sin(2 * np.pi * freq * t) + 0.01 * rng.standard_normal(t.size)).astype(
        np.float32
    )


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def synthetic_classifier(model, alpha=1.0, beta=5.5):
    """Two labels whose text prior points the wrong way for clips near the 'b' examples."""
    rng = np.random.default_rng(0)
    d = model.config.embed_dim
    centres = unit(rng.standard_normal((2, d)))
    examples = unit(np.repeat(centres, 3, axis=0) + 0.05 * rng.standard_normal((6, d)))
    text = unit(centres[[0, 0]] + 0.01 * rng.standard_normal((2, d)))  # both prompts look like 'a'
    clf = FewShotClassifier(
        model,
        ("a", "b"),
        text.astype(np.float32),
        examples.astype(np.float32),
        np.array([0, 0, 0, 1, 1, 1]),
        tuple(f"e{i}" for i in range(6)),
        ("{}",),
        d,
        alpha,
        beta,
    )
    return clf, centres


def test_examples_outweigh_a_misleading_text_prior(test_model):
    clf, centres = synthetic_classifier(test_model)
    logits, nearest, text_cos = clf.scores(centres[1:2])
    assert logits[0].argmax() == 1 and nearest[0].argmax() == 1
    # alpha = 0 is zero-shot: the text prior alone names the wrong label.
    logits0 = replace(clf, alpha=0.0).scores(centres[1:2])[0]
    np.testing.assert_allclose(logits0[0], test_model.scale().item() * text_cos[0], rtol=1e-5)


def test_affinity_is_a_mean_so_more_examples_do_not_win_by_count():
    q = unit(np.array([[1.0, 0.0]]))
    ex = unit(np.array([[1.0, 0.1], [1.0, 0.1], [1.0, 0.1], [1.0, 0.1], [1.0, 0.1]]))
    aff, nearest = class_evidence(q, ex, np.array([0, 1, 1, 1, 1]), 2, beta=5.0)
    np.testing.assert_allclose(aff[0, 0], aff[0, 1], rtol=1e-6)
    np.testing.assert_allclose(nearest[0], ex[0] @ q[0], rtol=1e-6)
    assert blend_logits(np.zeros((1, 2)), aff, 10.0, 2.0).shape == (1, 2)
    # a class with no example (a grouped evaluation fold can lack one) gets no affinity
    aff, nearest = class_evidence(q, ex[:2], np.array([0, 0]), 2, beta=5.0)
    assert aff[0, 1] == 0 and nearest[0, 1] == -1 and np.isfinite(aff).all()


def test_fit_classify_at_every_size_and_skip_bad_files(test_model, tmp_path):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"not audio")
    clf = fit_examples(
        test_model,
        {"low": [tone(200), tone(210, seed=1)], "high": [tone(3000), str(bad)]},
        sampling_rate=SR,
    )
    assert clf.labels == ("low", "high") and len(clf.example_names) == 3
    assert [name for name, _ in clf.skipped] == [str(bad)] and "broken.wav" in clf.skipped[0][1]
    for dim in test_model.matryoshka_dims:
        res = clf.with_dim(dim).classify(tone(205), sampling_rate=SR)
        assert res.dim == dim and set(res.labels) == {"low", "high"}
        assert abs(sum(res.probs) - 1) < 1e-5 and res.probs[0] >= res.probs[1]
        assert res.trained is False and res.open_set is None


def test_label_without_usable_example_is_named(test_model, tmp_path):
    missing = tmp_path / "gone.wav"
    with pytest.raises(ValueError, match=r"label 'siren' has no usable example.*gone\.wav"):
        fit_examples(test_model, {"dog": [tone(300)], "siren": [str(missing)]}, sampling_rate=SR)
    with pytest.raises(ValueError, match="dim=7"):
        fit_examples(test_model, {"dog": [tone(300)]}, dim=7, sampling_rate=SR)


def test_save_load_round_trip_without_pickle(test_model, aut_model, tmp_path):
    clf = fit_examples(
        test_model, {"low": [tone(200)], "high": [tone(3000)]}, dim=8, sampling_rate=SR
    )
    out = clf.save(tmp_path / "fit")
    assert sorted(p.name for p in out.iterdir()) == ["fewshot.json", "fewshot.safetensors"]
    back = FewShotClassifier.load(out, test_model)
    assert back.labels == clf.labels and back.dim == 8
    a, b = clf.classify(tone(400), sampling_rate=SR), back.classify(tone(400), sampling_rate=SR)
    assert a.labels == b.labels
    np.testing.assert_allclose(a.probs, b.probs, rtol=1e-5)
    with pytest.raises(CheckpointError, match="another model"):
        FewShotClassifier.load(out, aut_model)
    meta = json.loads((out / "fewshot.json").read_text())
    meta["format_version"] = 99
    (out / "fewshot.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="format_version"):
        FewShotClassifier.load(out, test_model)


def test_examples_from_folder(tmp_path):
    for name in ("001 - Dog bark", "vacuum_cleaner"):
        (tmp_path / name).mkdir()
        sf.write(tmp_path / name / "a.wav", tone(300), SR)
    (tmp_path / "vacuum_cleaner" / "notes.txt").write_text("ignored")
    found = examples_from_folder(tmp_path)
    assert list(found) == ["dog bark", "vacuum cleaner"] and len(found["vacuum cleaner"]) == 1
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no audio files.*'empty'"):
        examples_from_folder(tmp_path)


def test_prompt_ensemble_averages_filled_templates(test_model):
    templates = ["a {} sound", "the sound of {}"]
    got = label_embeddings(test_model, ["dog", "rain"], templates, dim=16)
    for i, label in enumerate(["dog", "rain"]):
        emb = embed_text(test_model, [t.replace("{}", label) for t in templates])
        np.testing.assert_allclose(
            got[i], truncate_np(emb.mean(0, keepdims=True), 16)[0], atol=1e-5
        )
    one = zero_shot(test_model, tone(300), "dog, rain", sampling_rate=SR, templates=["a {} sound"])
    same = zero_shot(test_model, tone(300), "dog, rain", template="a {} sound", sampling_rate=SR)
    assert one == same
    ens = zero_shot(
        test_model, tone(300), "dog, rain", sampling_rate=SR, templates=DEFAULT_TEMPLATES
    )
    assert ens.prompts[0].count(" | ") == len(DEFAULT_TEMPLATES) - 1
    with pytest.raises(ValueError, match="0:>9"):
        zero_shot(test_model, tone(300), "dog", sampling_rate=SR, templates=["{}", "{0:>9}"])


def test_open_set_verdict_on_results(test_model, tmp_path):
    rules = {
        m: {str(d): {"score": "cosine", "threshold": 2.0} for d in test_model.matryoshka_dims}
        for m in ("zeroshot", "fewshot")
    }
    write_openset(OpenSetCalibration(rules, {"fitted_on": "unit test"}), tmp_path)
    cal = read_openset(tmp_path)
    assert cal.provenance == {"fitted_on": "unit test"}
    test_model.openset = cal
    try:
        res = zero_shot(test_model, tone(300), "dog, rain", sampling_rate=SR, dim=8)
        assert res.open_set.no_match and res.open_set.score == pytest.approx(res.cosine[0])
        clf = fit_examples(test_model, {"low": [tone(200)], "high": [tone(3000)]}, sampling_rate=SR)
        fs = clf.classify(tone(205), sampling_rate=SR)
        assert fs.open_set.no_match and fs.open_set.score == pytest.approx(fs.cosine[0])
        cal_low = OpenSetCalibration({"zeroshot": {"8": {"score": "margin", "threshold": -5.0}}})
        test_model.openset = cal_low
        res = zero_shot(test_model, tone(300), "dog, rain", sampling_rate=SR, dim=8)
        assert not res.open_set.no_match
        assert res.open_set.score == pytest.approx(res.cosine[0] - res.cosine[1])
    finally:
        test_model.openset = None
    (tmp_path / "openset.json").write_text('{"rules": {"zeroshot": {"8": {"score": "max"}}}}')
    with pytest.raises(CheckpointError, match="openset.json"):
        read_openset(tmp_path)

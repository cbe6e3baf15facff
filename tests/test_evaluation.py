"""wavlink_core.evaluation: metrics, dataset loaders, linear probe, and the CLI end to end.

Everything runs on synthetic data written into tmp_path and the random-weight ``test`` preset.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from wavlink_core.evaluation import FeatureCache, extract_features, metrics, probe
from wavlink_core.evaluation.datasets import detect_type, load_dataset, normalise_label

SR = 16000


def write_tone(path, freq=440.0, seconds=0.5, sr=SR, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    wave = 0.4 * np.sin(2 * np.pi * freq * t) + 0.01 * rng.standard_normal(t.size)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, wave.astype(np.float32), sr)
    return path


# ---------------------------------------------------------------- metrics


def test_perfect_similarity_gives_full_recall():
    sim = np.eye(4) + 0.01  # clip i ↔ caption i
    m = metrics.retrieval_metrics(sim, [0, 1, 2, 3])
    assert m["t2a_R@1"] == m["a2t_R@1"] == 1.0
    assert m["t2a_queries"] == m["a2t_queries"] == 4


def test_known_permutation_gives_known_ranks():
    # caption j's best-scoring clip is perm[j]; the true owner is j, scored second / third / ...
    sim = np.array([[0.9, 0.1, 0.8], [0.5, 0.7, 0.2], [0.6, 0.0, 0.3]])  # (clips, captions)
    owner = [0, 1, 2]
    # caption 0: column [0.9, 0.5, 0.6] → clip 0 first (rank 0)
    # caption 1: column [0.1, 0.7, 0.0] → clip 1 first (rank 0)
    # caption 2: column [0.8, 0.2, 0.3] → clip 2 second (rank 1)
    assert metrics.text_to_audio_ranks(sim, owner).tolist() == [0, 0, 1]
    # clip 0: row [0.9, 0.1, 0.8] → caption 0 first; clip 1: caption 1 first;
    # clip 2: row [0.6, 0.0, 0.3] → caption 2 second
    assert metrics.audio_to_text_ranks(sim, owner).tolist() == [0, 0, 1]
    rec = metrics.recall_at(np.array([0, 0, 1]), (1, 2))
    assert rec == {"R@1": pytest.approx(2 / 3), "R@2": 1.0}


def test_audio_to_text_takes_best_rank_of_own_captions():
    # 2 clips × 2 captions each: captions 0,1 belong to clip 0; 2,3 to clip 1.
    owner = [0, 0, 1, 1]
    sim = np.array(
        [
            [0.1, 0.5, 0.9, 0.2],  # clip 0: ranking 2,1,3,0 → own captions at ranks 1 and 3 → 1
            [0.4, 0.3, 0.2, 0.1],  # clip 1: ranking 0,1,2,3 → own captions at 2 and 3 → 2
        ]
    )
    assert metrics.audio_to_text_ranks(sim, owner).tolist() == [1, 2]
    # text→audio: each caption queries 2 clips
    assert metrics.text_to_audio_ranks(sim, owner).tolist() == [1, 0, 1, 1]
    m = metrics.retrieval_metrics(sim, owner, ks=(1, 2))
    assert m["a2t_R@1"] == 0.0 and m["a2t_R@2"] == 0.5
    assert m["t2a_R@1"] == 0.25 and m["t2a_R@2"] == 1.0


def test_ties_are_ranked_pessimistically():
    sim = np.zeros((3, 3))  # a model that scores everything alike gets no credit
    assert metrics.text_to_audio_ranks(sim, [0, 1, 2]).tolist() == [2, 2, 2]
    assert metrics.topk_accuracy(sim, [0, 1, 2], 1) == 0.0


def test_zero_shot_accuracy_top1_top5():
    rng = np.random.default_rng(0)
    sim = rng.standard_normal((6, 6))
    targets = sim.argmax(1)
    assert metrics.zero_shot_metrics(sim, targets)["top1"] == 1.0
    worst = sim.argmin(1)
    z = metrics.zero_shot_metrics(sim, worst)
    assert z["top1"] == 0.0 and z["top5"] == 0.0 and z["clips"] == 6  # 6th of 6 is outside top 5
    assert "top5" not in metrics.zero_shot_metrics(sim[:, :3], targets % 3)
    with pytest.raises(ValueError):
        metrics.audio_to_text_ranks(np.ones((2, 2)), [0, 0])  # clip 1 has no caption


def test_zero_shot_per_class_accuracy_and_confusion():
    # 4 clips: two dogs (one called "rain"), one rain (right), one siren (called "rain").
    sim = np.array([[0.9, 0.1, 0.0], [0.2, 0.8, 0.0], [0.1, 0.7, 0.2], [0.0, 0.6, 0.4]])
    z = metrics.zero_shot_metrics(sim, [0, 0, 1, 2], ["dog", "rain", "siren"])
    assert z["per_class"] == {"dog": 0.5, "rain": 1.0, "siren": 0.0}
    assert z["confused_with"] == {"dog": "rain", "siren": "rain"}


# ---------------------------------------------------------------- datasets


@pytest.mark.parametrize(
    "raw, want",
    [
        ("001 - Dog bark", "dog bark"),
        ("car_horn", "car horn"),
        ("10-Fire-crackling", "fire crackling"),
        ("Street_Music", "street music"),
    ],
)
def test_normalise_label(raw, want):
    assert normalise_label(raw) == want


def test_class_folders_with_numbered_prefixes(tmp_path):
    write_tone(tmp_path / "001 - Dog bark" / "a.wav")
    write_tone(tmp_path / "002 - Rain" / "b.wav")
    write_tone(tmp_path / "002 - Rain" / "c.flac")
    (tmp_path / "002 - Rain" / "notes.txt").write_text("not audio")
    ds = load_dataset(tmp_path)
    assert ds.kind == "folder" and ds.classes == ["dog bark", "rain"]
    assert len(ds.clips) == 3 and ds.targets() == [0, 1, 1]
    assert ds.template == "This is a sound of {}."


def test_esc_and_us8k_layouts(tmp_path):
    esc = tmp_path / "esc"
    write_tone(esc / "001 - Dog bark" / "1-100032-A.wav")
    write_tone(esc / "002 - Rain" / "5-17367-A.wav")
    ds = load_dataset(esc)
    assert ds.kind == "esc10" and [c.fold for c in ds.clips] == [1, 5]
    us = tmp_path / "us8k"
    write_tone(us / "car_horn" / "156194-1-0-0.wav")
    write_tone(us / "dog_bark" / "100032-3-0-0.wav")
    ds = load_dataset(us)
    assert ds.kind == "us8k" and [c.group for c in ds.clips] == ["156194", "100032"]
    assert ds.classes == ["car horn", "dog bark"]


def test_fsdd_layout(tmp_path):
    for name in ("0_george_0.wav", "0_george_7.wav", "9_jackson_4.wav", "9_jackson_49.wav"):
        write_tone(tmp_path / "recordings" / name, sr=8000)
    ds = load_dataset(tmp_path)
    assert ds.kind == "fsdd"
    assert [(c.label, c.fold, c.group) for c in ds.clips] == [
        ("zero", "test", "george"),
        ("zero", "train", "george"),
        ("nine", "test", "jackson"),
        ("nine", "train", "jackson"),
    ]
    assert ds.template == "a person saying the number {}."
    assert load_dataset(tmp_path, template="digit {}").template == "digit {}"
    with pytest.raises(ValueError):
        load_dataset(tmp_path, template="no placeholder")


def test_clotho_captions_csv(tmp_path):
    write_tone(tmp_path / "audio" / "a b.wav")
    write_tone(tmp_path / "audio" / "c.wav")
    (tmp_path / "captions.csv").write_text(
        "file_name,caption_1,caption_2,caption_3\n"
        'a b.wav,one,"two, with comma",three\n'
        "c.wav,four,five,\n"
    )
    ds = load_dataset(tmp_path)
    assert ds.kind == "clotho" and ds.has_captions and not ds.has_labels
    assert ds.clips[0].captions == ("one", "two, with comma", "three")
    assert ds.clips[1].captions == ("four", "five")  # blank caption dropped


def test_manifests_csv_and_jsonl(tmp_path):
    write_tone(tmp_path / "x" / "1.wav")
    write_tone(tmp_path / "x" / "2.wav")
    (tmp_path / "m.csv").write_text("path,label,fold\nx/1.wav,Dog_Bark,1\nx/2.wav,rain,2\n")
    ds = load_dataset(tmp_path / "m.csv")
    assert ds.kind == "manifest" and ds.classes == ["dog bark", "rain"]
    assert [c.fold for c in ds.clips] == [1, 2]
    rows = [
        {"path": "x/1.wav", "label": "a", "split": "train"},
        {"path": "x/2.wav", "label": "b", "split": "test"},
    ]
    (tmp_path / "manifest.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    assert detect_type(tmp_path) == "manifest"
    ds = load_dataset(tmp_path)
    assert [c.fold for c in ds.clips] == ["train", "test"]
    (tmp_path / "bad.csv").write_text("path,label\nmissing.wav,a\n")
    with pytest.raises(ValueError, match="do not exist"):
        load_dataset(tmp_path / "bad.csv")


def test_unknown_layout_is_explained(tmp_path):
    (tmp_path / "readme.txt").write_text("nothing here")
    with pytest.raises(ValueError, match="cannot tell the layout"):
        load_dataset(tmp_path)


# ---------------------------------------------------------------- probe


def _separable(n=60, dim=8, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    centres = rng.standard_normal((classes, dim)) * 5
    return (centres[y] + 0.1 * rng.standard_normal((n, dim))).astype(np.float32), y


def test_probe_learns_separable_problem_deterministically():
    x, y = _separable(n=150)  # 112 train clips: 2 batches x 50 epochs = 100 Adam steps
    a = probe.train_linear_probe(x[:112], y[:112], x[112:], y[112:], 3, seed=3)
    b = probe.train_linear_probe(x[:112], y[:112], x[112:], y[112:], 3, seed=3)
    assert a["accuracy"] == 1.0 and a["correct"] == 38 and a["test_clips"] == 38
    assert a == b
    c = probe.train_linear_probe(x[:112], y[:112], x[112:], y[112:], 3, seed=4, epochs=2)
    assert c != a  # the seed and the epochs matter, so the equality above is not vacuous


def test_probe_splits_follow_the_data():
    y = [0, 1] * 10
    splits, desc = probe.probe_splits(["train"] * 15 + ["test"] * 5, y)
    assert len(splits) == 1 and len(splits[0].test) == 5 and "official" in desc
    folds = [1, 2, 3, 4, 5] * 4
    (s,), desc = probe.probe_splits(folds, y)
    assert s.name == "fold 5" and len(s.test) == 4 and "train 1,2,3,4 → test 5" in desc
    splits, _ = probe.probe_splits(folds, y, cv=True)
    assert [s.name for s in splits] == [f"fold {k}" for k in range(1, 6)]
    groups = [str(i // 2) for i in range(20)]  # pairs of clips share a source recording
    splits, desc = probe.probe_splits([None] * 20, y, groups, n_splits=5, seed=0)
    assert "grouped" in desc and sorted(np.concatenate([s.test for s in splits])) == list(range(20))
    for s in splits:
        assert not {groups[i] for i in s.train} & {groups[i] for i in s.test}
    again, _ = probe.probe_splits([None] * 20, y, groups, n_splits=5, seed=0)
    assert all((a.test == b.test).all() for a, b in zip(splits, again, strict=True))


# ---------------------------------------------------------------- features and CLI


def test_features_match_embed_audio_and_are_cached(test_model, tmp_path):
    from wavlink_core import embed_audio

    paths = [
        str(write_tone(tmp_path / f"{i}.wav", 300 + 200 * i, 0.4 + 0.9 * i, seed=i))
        for i in range(3)
    ]
    cache = FeatureCache()
    emb, mean = extract_features(test_model, paths, model_key="t", cache=cache, progress=False)
    ref = embed_audio(test_model, paths)
    np.testing.assert_allclose(emb, ref, atol=1e-5)
    assert mean.shape == (3, test_model.audio.width) and len(cache) == 3
    emb2, mean2 = extract_features(
        test_model, paths[::-1], model_key="t", cache=cache, progress=False
    )
    np.testing.assert_array_equal(emb2, emb[::-1])
    np.testing.assert_array_equal(mean2, mean[::-1])


def test_cli_end_to_end_on_tones(tmp_path, capsys):
    from wavlink_core.evaluate import main

    data = tmp_path / "tones"
    for k in range(5):
        write_tone(data / "01 - Low_Hum" / f"low{k}.wav", 200 + 5 * k, 0.5, seed=k)
        write_tone(data / "02 - High_Beep" / f"high{k}.wav", 3000 + 50 * k, 0.5, seed=10 + k)
    out = tmp_path / "out"
    rc = main(
        [
            "--model",
            "test",
            "--data",
            str(data),
            "--task",
            "all",
            "--out",
            str(out),
            "--epochs",
            "30",
            "--quiet",
        ]
    )
    assert rc == 0
    res = json.loads((out / "results.json").read_text())
    dims = [str(d) for d in res["model"]["matryoshka_dims"]]
    assert dims == ["32", "16", "8", "4"] and res["model"]["trained"] is False
    assert res["data"]["clips"] == 10 and res["data"]["classes"] == 2
    assert list(res["zeroshot"]["levels"]) == dims
    assert all(v["clips"] == 10 for v in res["zeroshot"]["levels"].values())
    assert res["skipped"] == {"retrieval": "the set has no captions"}
    feats = res["probe"]["features"]
    assert list(feats) == [f"embedding@{d}" for d in dims] + ["whisper-mean"]
    assert feats["whisper-mean"]["test_clips"] == 10
    assert feats["whisper-mean"]["accuracy"] == 1.0  # 200 Hz vs 3 kHz tones: trivially separable
    md = (out / "results.md").read_text()
    assert "untrained" in md and "| 4 |" in md and "whisper-mean" in md
    assert "Zero-shot" in capsys.readouterr().out


def test_cli_retrieval_and_errors(tmp_path, capsys):
    from wavlink_core.evaluate import main

    data = tmp_path / "clotho"
    rows = []
    for i in range(3):
        write_tone(data / "audio" / f"c{i}.wav", 300 * (i + 1), 0.6, seed=i)
        rows.append(f"c{i}.wav,caption {i} a,caption {i} b")
    (data / "captions.csv").write_text("file_name,caption_1,caption_2\n" + "\n".join(rows) + "\n")
    out = tmp_path / "out"
    assert (
        main(
            [
                "--model",
                "test",
                "--data",
                str(data),
                "--task",
                "retrieval",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    res = json.loads((out / "results.json").read_text())
    lvl = res["retrieval"]["levels"]["32"]
    assert res["retrieval"]["captions"] == 6 and lvl["t2a_queries"] == 6 and lvl["a2t_queries"] == 3
    assert lvl["t2a_R@10"] == 1.0  # only 3 candidates
    assert main(["--model", "test", "--data", str(data), "--task", "zeroshot", "--quiet"]) == 2
    assert main(["--model", "test", "--data", str(tmp_path / "nope"), "--task", "all"]) == 2
    assert "no class labels" in capsys.readouterr().err

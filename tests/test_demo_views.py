"""The demo's pure formatting and layout code, without a server."""

from __future__ import annotations

import json

import numpy as np
import pytest

from demo import views
from demo.gallery import load_gallery


def test_clip_info_shows_conversion_and_cap():
    assert views.clip_info("48 kHz stereo 12.4 s", 12.4) == "48 kHz stereo 12.4 s → 16 kHz mono"
    assert "first 30 s of 95.0 s" in views.clip_info("44.1 kHz mono 95.0 s", 30.0, 95.0)


def test_bars_figure_best_on_top_and_axis_named_after_score():
    fig = views.bars_figure(["dog", "cat", "rain"], [0.7, 0.2, 0.1], "softmax", 512, k=2)
    assert list(fig.data[0].y) == ["cat", "dog"]  # plotly draws bottom-up: best last
    assert fig.layout.xaxis.title.text == "softmax probability"
    assert (
        views.bars_figure(["a"], [-0.1], "cosine", 64, 5).layout.xaxis.title.text
        == "cosine similarity"
    )


def test_best_matches():
    sim = np.array([[0.1, 0.9], [0.8, 0.2]])
    per_clip, per_cap = views.best_matches(sim, ["a.wav", "b.wav"], ["dog", "rain"])
    assert per_clip == [["a.wav", "rain", 0.9], ["b.wav", "dog", 0.8]]
    assert per_cap == [["dog", "b.wav", 0.8], ["rain", "a.wav", 0.9]]


def test_neighbours_and_overlap():
    full = np.array([1.0, 0.9, 0.8, 0.1])
    small = np.array([1.0, 0.2, 0.8, 0.9])
    rows, a, b = views.neighbour_rows(full, small, ["q", "x", "y", "z"], k=2, exclude=0)
    assert a == [1, 2] and b == [3, 2]
    assert rows[0] == [1, "x", 0.9, "z", 0.9]
    assert views.overlap_at_k(a, b) == 0.5


def test_procrustes_recovers_a_similarity_transform():
    rng = np.random.default_rng(0)
    target = rng.normal(size=(50, 2))
    theta = 1.1
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    moving = 3.0 * target @ rot * np.array([1, -1]) + 7.0  # rotated, reflected, scaled, shifted
    aligned, r, s, t = views.procrustes_align(moving, target)
    np.testing.assert_allclose(aligned, target, atol=1e-8)
    np.testing.assert_allclose(views.apply_procrustes(moving[:3], r, s, t), target[:3], atol=1e-8)


def test_bytes_per_vector():
    assert views.bytes_per_vector(512) == "2,048 B float32 · 512 B int8"


@pytest.mark.parametrize(
    "payload",
    [
        {"dims": {"512": {"esc50_acc": 0.8, "recall@10": 0.5}, "64": {"esc50_acc": 0.7}}},
        [{"dim": 512, "esc50_acc": 0.8, "recall@10": 0.5}, {"dim": 64, "esc50_acc": 0.7}],
    ],
)
def test_parse_eval_results_formats(payload):
    rows = views.parse_eval_results(json.dumps(payload))
    assert {"dim": 64, "metric": "esc50_acc", "value": 0.7} in rows
    assert len(rows) == 3
    fig = views.sizes_figure(rows)
    assert {t.name for t in fig.data} == {"esc50_acc", "recall@10"}


def test_parse_eval_results_reads_the_evaluator_format():
    payload = {
        "model": {"name": "x"},
        "data": {"name": "esc50"},
        "timing_s": {"total": 3},
        "zeroshot": {
            "chance_top1": 0.02,
            "levels": {
                "512": {"top1": 0.8, "correct": 8, "clips": 10},
                "64": {"top1": 0.7, "correct": 7, "clips": 10},
            },
        },
        "retrieval": {
            "clips": 5,
            "levels": {"512": {"t2a_R@1": 0.3, "t2a_R@5": 0.6, "t2a_medR": 2.0, "t2a_queries": 5}},
        },
        "probe": {
            "settings": {"epochs": 50},
            "features": {
                "embedding@512": {"accuracy": 0.9, "correct": 9},
                "whisper-mean": {"accuracy": 0.95},
            },
        },
    }
    rows = views.parse_eval_results(json.dumps([payload]))
    assert {"dim": 64, "metric": "esc50 zeroshot top1", "value": 0.7} in rows
    assert {"dim": 512, "metric": "esc50 retrieval t2a_R@1", "value": 0.3} in rows
    assert {"dim": 512, "metric": "esc50 probe accuracy", "value": 0.9} in rows
    # counts, timings, median ranks and the size-less whisper-mean probe are not scores by size
    assert len(rows) == 5
    fig = views.sizes_figure(rows)  # headline lines only, in percent
    assert {t.name for t in fig.data} == {
        "esc50 zeroshot top1",
        "esc50 retrieval t2a_R@1",
        "esc50 probe accuracy",
    }
    assert max(max(t.y) for t in fig.data) == 90.0


def test_rank_table_orders_by_full_size():
    header, rows = views.rank_table(
        ["a", "b"], {64: np.array([0.1, 0.5]), 512: np.array([0.9, 0.2])}
    )
    assert header == ["label", "rank @ 512", "rank @ 64", "cosine @ 512", "cosine @ 64"]
    assert rows == [["a", 1, 2, 0.9, 0.1], ["b", 2, 1, 0.2, 0.5]]


def test_model_card_is_honest_when_untrained():
    text = views.model_card({"name": "tiny"}, trained=False, training_info=None, card_text=None)
    assert "Untrained" in text and '"name": "tiny"' in text
    assert views.model_card({}, True, {}, "# shipped card") == "# shipped card"


def test_map_figure_names_every_point():
    coords = np.arange(8, dtype=float).reshape(4, 2)
    fig = views.map_figure(
        coords,
        ["a", "b", "c", "d"],
        ["x", "x", "y", "captions"],
        ["gallery", "gallery", "your clip", "caption"],
        "t",
        highlight=2,
    )
    names = [n for tr in fig.data if tr.text is not None for n in tr.text]
    assert sorted(names) == ["a", "b", "c", "d"]


def test_gallery_manifest_is_complete_and_licensed():
    g = load_gallery()
    assert 60 <= len(g) <= 150
    assert len(set(g.categories)) >= 6
    import csv
    from pathlib import Path

    folder = Path(g.paths[0]).parent
    rows = list(csv.DictReader(open(folder / "gallery.csv")))
    assert {r["licence"] for r in rows} <= {"CC0-1.0", "CC-BY-3.0", "CC-BY-SA-3.0", "GPL-2"}
    assert all(Path(p).is_file() for p in g.paths)
    assert sum(p.stat().st_size for p in folder.iterdir()) < 6e6
    attribution = (folder / "ATTRIBUTION.md").read_text()
    assert all(r["file"] in attribution for r in rows)


def test_backbone_label_counts_every_stage_and_names_the_adaptation():
    stage2 = {"steps": 474, "previous": {"steps": 2000, "previous": None}}
    vanilla = {"backbone": "tiny.en", "adaptation": None}
    assert (
        views.backbone_label(vanilla, stage2) == "Whisper tiny.en (vanilla) · WavLink 2,474 steps"
    )
    aut = {
        "backbone": "/runs/aut/backbone",
        "adaptation": {"base_backbone": "tiny.en", "steps": 800},
    }
    assert views.backbone_label(aut, None) == "Whisper-AuT (tiny.en adapted, 800 steps)"

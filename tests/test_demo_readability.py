"""What makes the demo's results readable to a newcomer (issue 14), without a server: heatmap
sizing, map palette, preset coverage, honest Sizes metrics, About's tables."""

from __future__ import annotations

import json

import numpy as np

from demo import views
from demo.eval_view import dataset_counts, trivial_reason, with_counts
from demo.gallery import load_gallery
from demo.heatmap import heatmap_figure, short_caption
from demo.label_sets import preset_for, with_gallery
from demo.markdown_tables import fill_empty_headers
from demo.palette import group_style


def test_heatmap_grows_with_its_content_and_keeps_whole_captions_on_hover():
    caps = [f"caption {i}, with a comma and some more words" for i in range(10)]
    caps[3] = caps[4]  # two identical captions still get two columns
    clips = [f"clip_{i:02d}.ogg" for i in range(10)]
    sim = np.linspace(-1, 1, 100).reshape(10, 10)
    fig = heatmap_figure(sim, clips, caps, 64)
    small = heatmap_figure(sim[:2, :2], clips[:2], caps[:2], 64)
    assert 100 * 10 <= fig.layout.width <= 1300 and fig.layout.height >= 36 * 10
    assert small.layout.width < fig.layout.width and small.layout.height < fig.layout.height
    assert len(fig.layout.xaxis.tickvals) == 10 and fig.layout.xaxis.tickangle == 0
    assert all(len(line) <= 17 for t in fig.layout.xaxis.ticktext for line in t.split("<br>"))
    assert fig.data[0].customdata[0][3][1] == caps[3]  # the full caption on hover
    assert fig.data[0].text[9][9] == "1.00"
    assert fig.layout.yaxis.ticktext[0] == "clip_00"


def test_short_caption_marks_a_cut():
    assert short_caption("rain") == "rain"
    long = short_caption("a dog barks twice, then a car passes by on a wet road at night")
    assert long.count("<br>") == 2 and long.endswith("…")


def test_map_palette_keeps_a_hundred_groups_apart():
    styles = [group_style(i) for i in range(96)]
    assert len(set(styles)) == 96
    coords = np.random.default_rng(0).normal(size=(60, 2))
    labels = [f"label {i}" for i in range(60)]
    fig = views.map_figure(coords, labels, labels, ["gallery"] * 60, "t")
    markers = {(t.marker.color, t.marker.symbol[0]) for t in fig.data}
    assert len(markers) == 60


def test_shared_ranges_hold_both_layouts():
    a, b = np.array([[0.0, 0.0], [1.0, 2.0]]), np.array([[-1.0, 0.5], [0.5, 3.0]])
    (x0, x1), (y0, y1) = views.shared_ranges(a, b)
    assert x0 < -1 and x1 > 1 and y0 < 0 and y1 > 3


def test_default_label_set_covers_the_gallery_and_common_sounds():
    g = load_gallery()
    sets = with_gallery(g.labels)
    default = {x.strip() for x in sets[views.DEFAULT_SET].split(",")}
    assert set(g.labels) <= default
    assert {"baby crying", "sneezing", "clock ticking", "dog"} <= default
    for category, label in zip(g.categories, g.labels, strict=True):
        name = preset_for(category, label, sets)
        assert label in {x.strip() for x in sets[name].split(",")}
    assert preset_for("music", "cello", sets) == "Instruments and genres"


def test_sizes_drop_recall_that_is_full_by_construction_and_name_clip_counts():
    results = [
        {"data": {"name": "clotho7", "clips": 7, "captions": 35}, "retrieval": {"levels": {
            "64": {"t2a_R@1": 0.3, "t2a_R@5": 0.9, "t2a_R@10": 1.0, "a2t_R@10": 0.8}}}},
        {"data": {"name": "esc10", "clips": 400}, "zeroshot": {"levels": {"64": {"top1": 0.5}}}},
    ]
    text = json.dumps(results)
    counts = dataset_counts(text)
    assert counts == {"clotho7": {"clips": 7, "captions": 35}, "esc10": {"clips": 400}}
    rows, dropped = with_counts(views.parse_eval_results(text), counts)
    names = {r["metric"] for r in rows}
    assert "clotho7 retrieval t2a_R@1 · 7 clips, small sample, chance 14 %" in names
    # 5 of 35 captions match each clip: 10 random captions hold one with p = 1 - C(30,10)/C(35,10)
    assert "clotho7 retrieval a2t_R@10 · 7 clips, small sample, chance 84 %" in names
    assert "esc10 zeroshot top1 · 400 clips" in names
    assert not any("t2a_R@10" in n for n in names)  # 7 clips: R@10 is always 100 %
    assert any("a2t_R@10" in n for n in names)  # 35 captions to rank: R@10 means something
    assert dropped == [trivial_reason("clotho7 retrieval t2a_R@10", counts)]
    assert "100 % by construction" in dropped[0]
    fig = views.sizes_figure(rows)  # the headline lines still found behind their count notes
    assert {t.name for t in fig.data} == {
        "clotho7 retrieval t2a_R@1 · 7 clips, small sample, chance 14 %",
        "esc10 zeroshot top1 · 400 clips",
    }


def test_about_tables_get_a_real_header_row():
    md = "intro\n\n| | |\n|---|---|\n| audio tower | Whisper |\n| text tower | MiniLM |\n"
    out = fill_empty_headers(md)
    assert out.split("\n")[2:5] == ["| item | details |", "|---|---|", "| audio tower | Whisper |"]
    kept = "| a | b |\n|---|---|\n| 1 | 2 |"
    assert fill_empty_headers(kept) == kept

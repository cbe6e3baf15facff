"""Text tower: CLIP (EOS pooling + pretrained projector), BERT and ModernBERT folders, strict loading.

Every backbone is a tiny random model saved into a temporary folder with the MiniLM tokenizer, so
the tests run offline in seconds.
"""

import re

import pytest
import torch
from safetensors.torch import load_file, save_file

from wavlink_core import CheckpointError, ConfigError, WavLink
from wavlink_core.config import AudioConfig, TextConfig, WavLinkConfig
from wavlink_core.text_tower import TextTower, minilm_path

W, LAYERS, HEADS, PROJ = 32, 2, 2, 16
TEXTS = ["a dog barks", "rain falls on a tin roof in the night"]


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(minilm_path()))


def _save(model, tokenizer, folder):
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return model.eval()


def _tiny(kind: str, tokenizer):
    import transformers as tf

    torch.manual_seed(0)
    sizes = dict(hidden_size=W, num_hidden_layers=LAYERS, num_attention_heads=HEADS,
                 intermediate_size=2 * W, max_position_embeddings=64)  # fmt: skip
    if kind == "clip":
        # MiniLM's [SEP] plays CLIP's end-of-text token, so EOS pooling finds it.
        text = dict(sizes, vocab_size=len(tokenizer), eos_token_id=tokenizer.sep_token_id)
        vision = dict(hidden_size=W, intermediate_size=W, num_hidden_layers=1,
                      num_attention_heads=HEADS, image_size=32, patch_size=16)  # fmt: skip
        return tf.CLIPModel(tf.CLIPConfig(text_config=text, vision_config=vision,
                                          projection_dim=PROJ))  # fmt: skip
    if kind == "bert":
        return tf.BertModel(tf.BertConfig(vocab_size=len(tokenizer), **sizes))
    return tf.ModernBertModel(
        tf.ModernBertConfig(
            vocab_size=len(tokenizer),
            pad_token_id=tokenizer.pad_token_id,
            local_attention=16,
            cls_token_id=tokenizer.cls_token_id,
            sep_token_id=tokenizer.sep_token_id,
            **sizes,
        )
    )


@pytest.fixture(scope="module", params=["clip", "bert", "modernbert"])
def saved(request, tokenizer, tmp_path_factory):
    """(kind, folder, the saved model in eval mode)."""
    folder = tmp_path_factory.mktemp(request.param)
    return request.param, folder, _save(_tiny(request.param, tokenizer), tokenizer, folder)


def _cfg(name: str, folder, **over) -> TextConfig:
    kind, pooling = ("clip", "eos") if name == "clip" else ("bert", "cls")
    return TextConfig(**{"backbone": str(folder), "kind": kind, "pooling": pooling, "width": W,
                         "layers": LAYERS, "heads": HEADS, "max_tokens": 32, **over})  # fmt: skip


def test_tower_pools_like_the_saved_model(saved):
    kind, folder, model = saved
    tower = TextTower(_cfg(kind, folder)).eval()
    tok = tower.tokenize(TEXTS)
    with torch.no_grad():
        got = tower(**tok)
        if kind == "clip":
            want = model.text_model(**tok).pooler_output
            torch.testing.assert_close(tower.pretrained_projection, model.text_projection.weight)
        else:
            want = model(**tok).last_hidden_state[:, 0]
    assert got.shape == (2, W)
    torch.testing.assert_close(got, want)


def test_random_init_builds_the_identical_structure(saved):
    kind, folder, _ = saved
    loaded = TextTower(_cfg(kind, folder)).state_dict()
    fresh = TextTower(_cfg(kind, folder), pretrained=False).state_dict()
    assert {k: v.shape for k, v in fresh.items()} == {k: v.shape for k, v in loaded.items()}
    assert any(not torch.equal(fresh[k], loaded[k]) for k in loaded)


def _wavlink(folder, embed_dim: int) -> WavLink:
    return WavLink(WavLinkConfig(
        audio=AudioConfig("random", 80, 64, 2, 2, 128), text=_cfg("clip", folder),
        embed_dim=embed_dim, matryoshka_dims=(embed_dim,)))  # fmt: skip


@pytest.mark.parametrize("saved", ["clip"], indirect=True)
def test_wavlink_reuses_clip_projection_and_checks_embed_dim(saved):
    _, folder, model = saved
    torch.testing.assert_close(
        _wavlink(folder, PROJ).text_proj.weight, model.text_projection.weight
    )
    with pytest.raises(CheckpointError, match=rf"embed_dim=8 must equal its output width {PROJ}"):
        _wavlink(folder, 8)


def test_missing_text_weights_fail_loudly_instead_of_random_init(saved, tokenizer, tmp_path):
    kind, _, model = saved
    _save(model, tokenizer, tmp_path)
    weights = load_file(tmp_path / "model.safetensors")
    dropped = [next(k for k in weights if re.search(r"layers?\.1\.", k))]
    dropped += ["text_projection.weight"] if kind == "clip" else []
    save_file(
        {k: v for k, v in weights.items() if k not in dropped}, tmp_path / "model.safetensors"
    )
    with pytest.raises(
        CheckpointError, match=f"{tmp_path} lacks or mis-shapes {len(dropped)} weights"
    ) as err:
        TextTower(_cfg(kind, tmp_path))
    assert all(k.split(".", 1)[-1] in str(err.value) for k in dropped)  # key prefixes may differ


def test_folder_without_weights_or_config_names_the_path(saved, tokenizer, tmp_path):
    kind, _, model = saved
    model.config.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    with pytest.raises(CheckpointError, match=f"weights from {tmp_path}"):
        TextTower(_cfg(kind, tmp_path))
    with pytest.raises(CheckpointError, match=f"looked in {tmp_path / 'nope'}"):
        TextTower(_cfg(kind, tmp_path / "nope"))


def test_config_disagreeing_with_the_backbone_is_refused(saved):
    kind, folder, _ = saved
    with pytest.raises(CheckpointError, match=r"\(width, layers, heads\)=\(32, 2, 2\)"):
        TextTower(_cfg(kind, folder, width=64))
    with pytest.raises(CheckpointError, match="max_tokens=100 exceeds the 64 positions"):
        TextTower(_cfg(kind, folder, max_tokens=100))
    wrong = "bert" if kind == "clip" else "clip"
    with pytest.raises((CheckpointError, ConfigError), match=f"kind={wrong!r}"):
        TextTower(_cfg(kind, folder, kind=wrong, pooling="mean"))


def test_pooling_must_fit_the_kind():
    with pytest.raises(ConfigError, match=r"pooling='eos' .*kind='bert'.*\('mean', 'cls'\)"):
        TextTower(TextConfig("random", "bert", "eos", 64, 2, 2, 32))


def test_mean_pooling_ignores_padding_tokens(test_model):
    tower = test_model.text
    with torch.no_grad():
        alone = tower(**tower.tokenize(TEXTS[:1]))
        batched = tower(**tower.tokenize(TEXTS))
    assert tower.tokenize(TEXTS)["attention_mask"][0].eq(0).any()  # really padded
    torch.testing.assert_close(batched[:1], alone, atol=1e-5, rtol=1e-5)

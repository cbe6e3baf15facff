import pytest
import torch

from wavlink_core import PRESETS, ConfigError, WavLink
from wavlink_core.audio_tower import mean_pool


def test_global_token_is_appended_and_pooled(test_model):
    mel = torch.randn(1, 80, 200)
    with torch.no_grad():
        hidden, valid = test_model.audio.forward_hidden(mel)
        pooled = test_model.audio(mel)
    assert hidden.shape == (1, 101, 64) and valid.all()  # 100 frame positions + the token
    torch.testing.assert_close(pooled, hidden[:, -1])


def test_global_token_changes_the_embedding(test_model):
    mel = torch.randn(1, 80, 200)
    # Not a constant shift: every layer starts with a LayerNorm, which would cancel it.
    delta = torch.randn(1, 1, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        before = test_model.encode_audio(mel)
        test_model.audio.global_token.add_(delta)
        after = test_model.encode_audio(mel)
        test_model.audio.global_token.sub_(delta)
    assert (before - after).abs().max() > 1e-3


def test_embedding_does_not_depend_on_batch_neighbours(test_model):
    short, long = torch.randn(1, 80, 300), torch.randn(1, 80, 800)
    batch = torch.zeros(2, 80, 800)
    batch[0, :, :300], batch[1] = short[0], long[0]
    with torch.no_grad():
        together = test_model.encode_audio(batch, torch.tensor([300, 800]))
        alone = test_model.encode_audio(short, torch.tensor([300]))
    torch.testing.assert_close(together[0], alone[0], atol=1e-5, rtol=1e-5)


def test_padding_without_mask_changes_the_embedding(test_model):
    # The paper pads to 30 s unmasked; the token then attends to padding. Check it does matter,
    # so the masked dynamic path above is a real difference and not a no-op.
    mel = torch.randn(1, 80, 300)
    padded = torch.nn.functional.pad(mel, (0, 500))
    with torch.no_grad():
        a = test_model.encode_audio(mel)
        b = test_model.encode_audio(padded)
    assert (a - b).abs().max() > 1e-4


def test_outputs_are_unit_norm_at_every_trained_size(test_model):
    tok = test_model.text.tokenize(["a dog barks", "rain on a roof"])
    with torch.no_grad():
        for dim in test_model.matryoshka_dims:
            t = test_model.encode_text(**tok, dim=dim)
            a = test_model.encode_audio(torch.randn(2, 80, 100), dim=dim)
            assert t.shape == a.shape == (2, dim)
            torch.testing.assert_close(t.norm(dim=-1), torch.ones(2))
            torch.testing.assert_close(a.norm(dim=-1), torch.ones(2))


def test_untrained_size_is_refused_with_the_valid_ones(test_model):
    with pytest.raises(ConfigError, match=r"dim=10 .*\(32, 16, 8, 4\)"):
        test_model.check_dim(10)


def test_forward_returns_what_the_losses_need(test_model):
    tok = test_model.text.tokenize(["a", "b c"])
    out = test_model(torch.randn(2, 80, 100), **tok)
    assert out["audio_emb"].shape == out["text_emb"].shape == (2, 32)
    assert out["logit_scale"].item() == pytest.approx(1 / 0.07, rel=1e-5)
    assert out["logit_bias"] is None
    out["audio_emb"].sum().backward()
    assert test_model.audio.global_token.grad is not None
    test_model.zero_grad()


def test_logit_scale_is_capped_at_100():
    model = WavLink(PRESETS["test"].replace(logit_scale_init=6.0))
    assert model.scale().item() == pytest.approx(100.0)
    model.clamp_logit_scale()
    assert model.logit_scale.item() == pytest.approx(torch.log(torch.tensor(100.0)).item())


def test_mean_pooling_ignores_padding():
    hidden = torch.tensor([[[1.0], [3.0], [100.0]]])
    valid = torch.tensor([[True, True, False]])
    assert mean_pool(hidden, valid).item() == pytest.approx(2.0)


def test_mean_pooled_tower_has_no_global_token():
    cfg = PRESETS["test"].replace(
        audio=PRESETS["test"].audio.__class__("random", 80, 64, 2, 2, 128, pooling="mean")
    )
    model = WavLink(cfg)
    assert model.audio.global_token is None
    assert model.encode_audio(torch.randn(1, 80, 100)).shape == (1, 32)

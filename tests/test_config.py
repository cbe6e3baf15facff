import json

import pytest

from wavlink_core import PRESETS, ConfigError, WavLinkConfig, get_preset
from wavlink_core.config import matryoshka_levels


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_roundtrip_through_json(name):
    cfg = PRESETS[name]
    again = WavLinkConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg
    assert cfg.matryoshka_dims == matryoshka_levels(cfg.embed_dim)


def test_unknown_keys_are_named():
    data = PRESETS["test"].to_dict()
    data["audio"]["widht"] = 3
    with pytest.raises(ConfigError, match="widht"):
        WavLinkConfig.from_dict(data)


def test_matryoshka_dims_sorted_and_validated():
    cfg = PRESETS["test"].replace(matryoshka_dims=(4, 32, 8))
    assert cfg.matryoshka_dims == (32, 8, 4)
    with pytest.raises(ConfigError, match="must contain embed_dim=32"):
        PRESETS["test"].replace(matryoshka_dims=(16, 8))
    with pytest.raises(ConfigError, match=r"\[64\]"):
        PRESETS["test"].replace(matryoshka_dims=(64, 32))


def test_bad_choices_list_the_valid_ones():
    with pytest.raises(ConfigError, match="clip"):
        PRESETS["test"].replace(loss="triplet")
    with pytest.raises(ConfigError, match="unknown preset 'huge'"):
        get_preset("huge")


def test_siglip_init_follows_the_paper():
    import math

    scale, bias = PRESETS["test"].replace(loss="siglip").resolved_logit_init
    assert scale == pytest.approx(math.log(10)) and bias == -10
    scale, bias = PRESETS["test"].resolved_logit_init
    assert scale == pytest.approx(math.log(1 / 0.07)) and bias is None

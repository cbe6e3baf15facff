"""Prompt templates: only `{}` is a field; hostile format specs are refused, never evaluated."""

import pytest

from wavlink_core.inference import label_prompts
from wavlink_core.templates import check_template, fill_template


def test_label_replaces_the_one_field_literally():
    assert fill_template("This is a sound of {}.", "dog") == "This is a sound of dog."
    # The label itself is never formatted: braces in it stay as typed.
    assert fill_template("a {} sound", "{0.__class__}") == "a {0.__class__} sound"


def test_doubled_braces_are_literal():
    assert fill_template("{{tag}} {}", "rain") == "{tag} rain"
    assert fill_template("{} {{}}", "rain") == "rain {}"


@pytest.mark.parametrize(
    "template, named",
    [
        ("{0:>50000000}", "{0:>50000000}"),
        ("{0.__class__.__mro__}", "{0.__class__.__mro__}"),
        ("{}{x}", "{x}"),
        ("{label}", "{label}"),
        ("{!r}", "{!r}"),
    ],
)
def test_any_other_field_is_refused_by_name(template, named):
    with pytest.raises(ValueError, match="only '{}'") as err:
        fill_template(template, "dog")
    assert named in str(err.value)


@pytest.mark.parametrize("template, holes", [("no field", 0), ("{} {}", 2), ("{{}}", 0)])
def test_exactly_one_field(template, holes):
    with pytest.raises(ValueError, match=f"exactly one .* it has {holes}"):
        check_template(template)


def test_stray_brace_is_refused_with_its_position():
    with pytest.raises(ValueError, match="unmatched '}' at character 3"):
        check_template("{}}")


def test_huge_template_is_refused_before_any_work():
    with pytest.raises(ValueError, match="at most 1000"):
        check_template("{}" + "x" * 5000)


def test_label_prompts_uses_the_safe_filler():
    labels, prompts = label_prompts("dog, rain", "{} {{ok}}")
    assert prompts == ["dog {ok}", "rain {ok}"]
    with pytest.raises(ValueError, match="only '{}'"):
        label_prompts("dog", "{0:>9999999}")

"""The method registry: what the app, the CLI and the benchmarks rely on."""

import pytest

from colorlab.errors import InvalidParameterError, UnknownMethodError
from colorlab.methods import Method, Param, get_method, list_methods, register


def test_recolor_task_lists_chang():
    assert "chang" in [m.name for m in list_methods("recolor")]
    assert all(m.task == "recolor" for m in list_methods("recolor"))


def test_unknown_method_error_lists_what_is_available():
    with pytest.raises(UnknownMethodError, match="available: .*chang"):
        get_method("recolor", "no-such-method")


def test_unknown_task_is_refused():
    with pytest.raises(UnknownMethodError, match="unknown task 'paint'"):
        get_method("paint", "chang")


def test_unknown_parameter_is_refused_naming_the_known_ones():
    with pytest.raises(InvalidParameterError, match="no parameter 'sigma'.*lattice_size"):
        get_method("recolor", "chang").resolve_params(sigma=3)


def test_parameters_are_coerced_and_range_checked():
    param = Param("steps", 10, "iterations", minimum=1, maximum=100)
    assert param.validate("20") == 20
    with pytest.raises(InvalidParameterError, match=r"\[1, 100\]"):
        param.validate(0)
    with pytest.raises(InvalidParameterError, match="must be a int"):
        param.validate("many")


@pytest.mark.parametrize(("text", "value"), [("true", True), ("No", False), ("0", False)])
def test_boolean_parameters_read_words_not_truthiness(text, value):
    assert Param("keep_luma", True, "keep lightness").validate(text) is value


def test_boolean_parameter_refuses_other_words():
    with pytest.raises(InvalidParameterError, match="true or false"):
        Param("keep_luma", True, "keep lightness").validate("maybe")


def test_choice_parameters_accept_only_their_choices():
    param = Param("space", "lab", "colour space", choices=("lab", "rgb"))
    assert param.validate("rgb") == "rgb"
    with pytest.raises(InvalidParameterError, match="one of"):
        param.validate("hsv")


def test_a_name_can_be_registered_only_once_per_task():
    chang = get_method("recolor", "chang")
    with pytest.raises(ValueError, match="already registered"):
        register(chang)
    with pytest.raises(ValueError, match="unknown task"):
        register(Method("paint", "x", "X", "", run=lambda image: image))


def test_methods_describe_themselves_for_the_ui_and_cli():
    described = get_method("recolor", "chang").to_dict()
    assert described["interactive"] is True
    assert described["params"][0]["name"] == "lattice_size"

"""`tfparity --help` and every `tfparity CMD --help`: each option explained, defaults shown, an example."""

from __future__ import annotations

import argparse

import pytest

from tfparity.benchmarks import cli


def command_parsers() -> dict[str, argparse.ArgumentParser]:
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


@pytest.mark.parametrize("name", list(cli.COMMANDS))
def test_every_option_has_help_and_the_help_ends_with_an_example(name):
    parser = command_parsers()[name]
    unexplained = [a.option_strings or a.dest for a in parser._actions if not a.help]
    assert not unexplained, f"tfparity {name}: options without help text: {unexplained}"
    text = parser.format_help()
    assert f"example: tfparity {name} " in text
    assert parser.parse_args(cli.EXAMPLES[name].split()[2:]).quiet is False  # the example is a valid command line


def test_defaults_are_shown_where_an_option_has_one():
    text = command_parsers()["compare"].format_help()
    text = " ".join(text.split())  # argparse wraps the help at the terminal's width
    assert "(default: 1000; mlp 2345, mlp_dropout 9375, cnn 20000, linear_regression 19000)" in text
    assert "(default: table)" in text and "(default: True; linear_regression False, logistic_regression False)" in text
    assert "(default: 0.5; mlp 0.001, mlp_dropout 0.001, cnn 0.0001, linear_regression 0.001, logistic" in text
    assert "(default: 0)" in text and "(default: 1e-08; mlp_dropout 1e-07)" in text  # --seed 0, --adam-epsilon
    assert "(default: softmax)" in text  # --model; a left-out config flag takes the model's own run
    assert "(default: None)" not in text and "(default: False)" not in text


def test_top_level_help_lists_commands_and_examples():
    text = cli.build_parser([]).format_help()
    for name in cli.COMMANDS:
        assert name in text and cli.EXAMPLES[name] in text

"""The screens' command text is written from the commands' own argument definitions
(``analysis.cli.command_line``): what a screen prints parses with the command's parser, and an
option the command does not have fails at once instead of on the user's terminal."""
from __future__ import annotations

import shlex

import pytest

from analysis.cli import build_parser, command_line


def _parsed(text: str):
    words = shlex.split(text)
    assert words[:3] == ["python", "-m", "analysis"]
    return build_parser(words[3]).parse_args(words[3:])


def test_values_are_written_as_the_command_reads_them():
    text = command_line("reliability", "my data.csv", instrument="public_servant", items=["q1", "q 2"],
                        reverse=["q 2"], scale_min=1.0, scale_max=5, missing="listwise", bootstrap=0, seed=None)
    assert text == ("python -m analysis reliability 'my data.csv' --instrument public_servant --items q1 'q 2' "
                    "--reverse 'q 2' --scale-min 1 --scale-max 5 --missing listwise --bootstrap 0 --json")
    args = _parsed(text)
    assert (args.data, args.items, args.reverse, args.scale_min, args.missing) == \
        ("my data.csv", ["q1", "q 2"], ["q 2"], 1.0, "listwise")


def test_flags_and_repeated_options():
    text = command_line("mixed", "study.yaml", survey="citizens", formula="y ~ x + (1 | g)", ml=True,
                        family=None, reference=["gender=female", "area=urban"])
    args = _parsed(text)
    assert args.ml is True and args.reference == ["gender=female", "area=urban"]
    assert args.formula == "y ~ x + (1 | g)" and args.survey == "citizens"
    assert "--family" not in text and "--ml" in text
    where = _parsed(command_line("topics", "c.csv", instrument="citizen", section="divide",
                                 where=["gender=female,male", "area=rural"], min_n=10))
    assert where.where == ["gender=female,male", "area=rural"] and where.min_n == 10


def test_an_option_the_command_lacks_is_refused():
    with pytest.raises(ValueError, match="no option for 'rotate'"):
        command_line("reliability", "x.csv", rotate="varimax")
    with pytest.raises(ValueError, match="unknown command"):
        command_line("fit", "x.csv")
    with pytest.raises(SystemExit):  # a value outside the command's choices does not parse
        command_line("factor", "x.csv", fm="pca")

"""cli/options.py: typer options generated from an op's pydantic model, and commands composed of groups."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from product_studio.cli.options import OptionValues, compose, op_options
from product_studio.errors import UsageError

runner = CliRunner()


def _app(**groups) -> tuple[typer.Typer, list]:
    seen: list = []

    def body(name: str = typer.Argument(...), options: OptionValues = None) -> None:
        seen.append((name, options))

    app = typer.Typer()
    app.command()(compose(body, **groups))
    app.command("other")(lambda: None)  # two commands, so the first keeps its name
    return app, seen


def test_a_field_becomes_an_option_with_its_type_default_choices_range_and_help():
    app, seen = _app(options=op_options("upscale", flags={"scale": ("--scale", "-x")}))
    helped = runner.invoke(app, ["body", "--help"], env={"COLUMNS": "200"}).output
    assert "--scale" in helped and "-x" in helped and "<2|4>" in helped and "[default: 2]" in helped
    assert "--min-long-side" in helped and "1<=x<=20000" in helped
    assert "upscale only until the longer side is at least this" in helped
    assert runner.invoke(app, ["body", "p", "-x", "4", "--min-side", "300"]).exit_code == 0
    name, values = seen[-1]
    assert name == "p" and values.given == {"scale": 4, "min_side": 300}  # options left at their default are not given
    assert values.validate("upscale") == {"scale": 4, "method": "cnn", "min_side": 300, "min_long_side": None,
                                          "max_tile_pixels": 256 * 256}
    bad = runner.invoke(app, ["body", "p", "--min-side", "0"])
    assert bad.exit_code == 2 and "--min-side" in bad.output


def test_a_bool_field_is_a_flag_pair_and_a_tuple_field_is_repeatable():
    app, seen = _app(options=op_options("anonymize"))
    assert runner.invoke(app, ["body", "p", "--no-faces", "--kinds", "phone", "--kinds", "email"]).exit_code == 0
    assert seen[-1][1].given == {"faces": False, "kinds": ("phone", "email")}
    assert runner.invoke(app, ["body", "p", "--kinds", "passport"]).exit_code == 0  # a list of str to typer ...
    with pytest.raises(typer.BadParameter) as bad:  # ... checked by the model, and named by its flag
        seen[-1][1].validate("anonymize")
    assert bad.value.param_hint == "'--kinds'"


def test_several_ops_share_an_option_and_a_stray_one_is_named():
    labels = {"inpaint": "--mask", "repair_defects": "--auto"}
    app, seen = _app(options=op_options(["inpaint", "repair_defects"], flags={"mask_path": ("--mask",)}, labels=labels))
    helped = runner.invoke(app, ["body", "--help"], env={"COLUMNS": "200"}).output
    assert "(with --auto)" in helped and "--mask: " in helped  # --threshold: --auto only; --method: described per op
    assert runner.invoke(app, ["body", "p", "--mask", "m.png", "--threshold", "0.5"]).exit_code == 0
    with pytest.raises(UsageError, match="--threshold does not apply with --mask"):
        seen[-1][1].validate("inpaint", where="with --mask")


def test_compose_refuses_an_option_declared_twice():
    def body(workers: int = typer.Option(1), batch: object = None) -> None: ...

    def batch(workers: int = typer.Option(2)) -> int: ...

    try:
        compose(body, batch=batch)
    except TypeError as exc:
        assert "'workers' is declared twice" in str(exc)
    else:
        raise AssertionError("no error")

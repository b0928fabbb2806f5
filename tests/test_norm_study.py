"""The norm_scale study: init scale x normalization, in small runs."""

import tomllib

import numpy as np
import pytest

import initlab
from initlab import cli
from initlab.experiments import norm_study
from initlab.experiments.norm_study import NORM_SCALE, norm_scale


def test_options_are_checked_before_anything_trains():
    for options, error, needle in [
        (dict(scales=(0.1, -1.0)), ValueError, "each scale must be a number > 0"),
        (dict(scales=1.0), TypeError, "list of numbers"),
        (dict(scales=(1.0, 1.0)), ValueError, "each once"),
        (dict(norms=("batch", "layer")), ValueError, "unknown norm 'layer'"),
        (dict(norms="batch"), TypeError, "list such as"),
        (dict(base="he_normall"), ValueError, "he_normal"),
        (dict(num_blocks=0), ValueError, "num_blocks must be a positive int"),
        (dict(initializers=("zeros",)), ValueError, "give scales=... and base="),
        (dict(model="mlp"), ValueError, "give norms=, num_blocks="),
        (dict(num_restarts=0), ValueError, "positive"),
    ]:
        with pytest.raises(error, match=needle):
            norm_scale(small=True, progress=False, **options)


def test_study_declares_its_options_for_the_command_line():
    assert list(NORM_SCALE.own_options) == ["scales", "norms", "base", "num_blocks",
                                            "width"]  # fmt: skip
    assert all(NORM_SCALE.option_docs.values())
    assert "initializers" not in NORM_SCALE.config_fields
    # What `initlab run norm_scale --dry-run` plans: the first norm's run.
    config = NORM_SCALE.run_config(scales=[0.5, 2.0], norms=["fixup", "batch"])
    assert config.model["norm"] == "fixup" and config.model["num_blocks"] == 8
    assert list(config.initializers) == ["fixup s=0.5", "fixup s=2"]
    assert config.num_restarts == 16 and config.steps == 500


def test_batch_norm_survives_a_scale_that_makes_the_plain_net_diverge(tmp_path):
    # At 100 x He the plain residual net's logits are astronomically large and
    # its first step is non-finite; every BatchNorm layer divides the scale
    # out, so the same init trains (only the classifier keeps its scale).
    result = norm_scale(small=True, progress=False, out_dir=tmp_path,
                        norms=("batch", "none"), scales=(100.0,))  # fmt: skip
    table = result.table.set_index("norm")
    assert table.loc["none", "diverged"] == 2 and table.loc["none", "n"] == 0
    assert table.loc["batch", "diverged"] == 0 and table.loc["batch", "n"] == 2
    assert "none: no scale" in result.text
    assert "most restarts diverge at s=100" in result.text
    assert result.extra["good_scales"] == {"batch": [100.0], "none": []}
    # Each cell's numbers are its restarts' numbers.
    out = result.outcomes
    values = out.values("test_accuracy", "batch s=100")
    assert table.loc["batch", "mean"] == pytest.approx(np.mean(values))
    assert table.loc["batch", "mean_low"] <= table.loc["batch", "mean"]
    # The same restarts (keys) in every cell: a paired comparison.
    for name in ("init_seed", "data_seed"):
        seeds = getattr(out, name)
        labels = out.initializer
        np.testing.assert_array_equal(seeds[labels == "batch s=100"],
                                      seeds[labels == "none s=100"])  # fmt: skip
    # Written: the table, the report, a config that `initlab run norm_scale
    # --config` reruns (the study's own options, not the fields it sets), and
    # each norm's run (a rerun resumes from it).
    assert (tmp_path / "norm_scale.csv").exists()
    assert (tmp_path / "report.html").exists()
    config = tomllib.loads((tmp_path / "config.toml").read_text())
    assert config["norms"] == ["batch", "none"] and config["scales"] == [100.0]
    assert "initializers" not in config and "model" not in config
    for norm in ("batch", "none"):
        assert (tmp_path / "runs" / norm / "results.parquet").exists()
    assert out.metadata["model_name"] == "resnet-2x16 (batch, none)"


def test_reading_counts_scales_within_a_point_of_the_best():
    # A hand-made table: the rule is GOOD_WITHIN of each norm's best mean, and
    # a cell where more restarts diverged than finished is not a result.
    rows = []
    for norm, means, diverged in [
        ("batch", [0.95, 0.975, 0.97, 0.90], [0, 0, 0, 0]),
        ("none", [0.96, 0.965, np.nan, 0.97], [0, 0, 4, 3]),
    ]:
        for s, m, d in zip((0.1, 1.0, 10.0, 100.0), means, diverged, strict=True):
            rows.append(dict(norm=norm, scale=s, n=4 - d, diverged=d, mean=m,
                             mean_low=m - 0.01, mean_high=m + 0.01))  # fmt: skip
    import pandas as pd

    table = pd.DataFrame(rows)
    good = norm_study._good_scales(table, higher=True)
    assert good == {"batch": [1.0, 10.0], "none": [0.1, 1.0]}
    text = norm_study._reading(table, good, "test_accuracy", True)
    assert "batch: 1-10 (1.0 decades) (best 0.975 at s=1)" in text
    assert "none: 0.1-1 (1.0 decades) (best 0.965 at s=1)" in text
    assert "most restarts diverge at s=10, 100" in text


def test_the_model_is_the_registered_resnet():
    config = NORM_SCALE.run_config(small=True, norms=["none"])
    run = initlab.engine.resolve(config)
    assert run.model.name == "resnet-none-2x16"
    assert list(run.initializers) == ["none s=1"]


def test_the_command_line_plans_it_with_its_own_options(tmp_path, capsys,
                                                       monkeypatch):  # fmt: skip
    monkeypatch.chdir(tmp_path)  # a run would write its default folder here
    argv = ["run", "norm_scale", "--small", "--dry-run", "--devices", "1",
            "--scales", "0.5,2"]  # fmt: skip
    assert cli.main(argv) == 0
    # The first norm's run: 2 scales as 2 initializers x 2 small restarts.
    out = capsys.readouterr().out
    assert "plan: " in out and "4 rows" in out, out
    assert not list(tmp_path.iterdir())  # a dry run trains and writes nothing

"""The width study: best learning rate per width under SP and µP, and its shift."""

import numpy as np
import pytest

from initlab import experiments, stats

WIDTHS = (8, 16)
RATES = [0.003, 0.03]


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    # µP at 2 widths = 2 tiny compiles, shared by every test (that SP and µP
    # are the same network at the base width is test_parametrization's).
    out = tmp_path_factory.mktemp("width")
    return experiments.run_study(
        "width", widths=WIDTHS, parametrizations=["mup"], learning_rate=RATES,
        num_restarts=3, steps=4, batch_size=32, progress=False, out_dir=out,
    )  # fmt: skip


def test_the_table_is_the_best_value_of_the_restarts_per_width(result):
    out = result.outcomes
    assert out.labels == ["µP"]
    assert set(out.coords) == {"learning_rate", "width"}
    # 2 widths x 2 learning rates x 3 restarts, evaluated after the last step
    assert len(out) == 2 * 2 * 3 and list(out.steps) == [0, 4]
    for w in WIDTHS:  # each width's restarts: every rate x restarts 0..2
        at = out.coords["width"] == w
        assert sorted(out.restart[at].tolist()) == [0, 0, 1, 1, 2, 2]
    # the two widths are different networks
    assert not np.array_equal(
        out.final["train_loss"][out.coords["width"] == 8],
        out.final["train_loss"][out.coords["width"] == 16],
    )
    again = stats.best_value(out, "train_loss", "learning_rate", within=["width"],
                             rng=result.settings["seed"])  # fmt: skip
    assert list(result.table["learning_rate"]) == list(again["learning_rate"])
    assert list(result.table["share"]) == list(again["share"])
    assert set(result.table["learning_rate"]) <= set(RATES)
    assert (result.table["best_low"] <= result.table["learning_rate"]).all()
    assert (result.table["learning_rate"] <= result.table["best_high"]).all()


def test_the_shift_is_log2_of_the_best_rates_and_the_report_is_written(result):
    table = result.table.set_index(["parametrization", "width"])
    (row,) = result.extra["shift"].itertuples()
    lo = table.loc[("µP", WIDTHS[0]), "learning_rate"]
    hi = table.loc[("µP", WIDTHS[1]), "learning_rate"]
    assert row.shift == pytest.approx(np.log2(hi / lo))
    assert row.low <= row.shift <= row.high
    assert "log2(best lr at width 16 / at 8)" in result.text
    for name in ("report.md", "best_learning_rate.csv", "results.parquet",
                 "figures/best_lr_vs_width.png", "figures/loss_vs_lr.png"):  # fmt: skip
        assert (result.out_dir / name).exists(), name
    assert sorted(p.name for p in (result.out_dir / "runs").iterdir()) == [
        "mup_w16", "mup_w8"]  # fmt: skip


@pytest.mark.parametrize(
    "options, match",
    [
        (dict(widths=[8]), "widths must be 2 or more distinct"),
        (dict(widths=[8, 0]), "each width"),
        (dict(parametrizations=["mu"]), "parametrization"),
        (dict(learning_rate=0.01), "learning_rate must be a list of 2"),
        (dict(optimizer="rmsprop"), "optimizer"),
        (dict(model="mlp"), "width study sets model itself"),
    ],
)
def test_bad_options_are_refused_before_training(options, match):
    with pytest.raises(ValueError, match=match):
        experiments.run_study("width", small=True, progress=False, **options)

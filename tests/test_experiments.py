"""Ready-made studies in their small modes, and the helpers behind the CLI."""

import numpy as np
import pytest

import initlab
from initlab import experiments


def test_parse_initializers_reads_names_lists_and_json():
    got = experiments.parse_initializers(
        ["zeros, he_normal", '{"name": "constant", "value": 0.1}', {"name": "ones"}]
    )
    assert got == ["zeros", "he_normal", {"name": "constant", "value": 0.1},
                   {"name": "ones"}]  # fmt: skip
    with pytest.raises(ValueError, match="glorot_uniform"):
        experiments.parse_initializers("glorot_unifrom")
    with pytest.raises(ValueError, match="JSON"):
        experiments.parse_initializers('{"name": ')
    with pytest.raises(ValueError, match="at least one"):
        experiments.parse_initializers(" , ")


def test_build_model_fills_sizes_from_the_task():
    digits = initlab.get_task("digits")
    assert experiments.build_model(None, digits) is None
    assert experiments.build_model("mlp", digits).name == "mlp-64-128-128-10"
    wide = experiments.build_model({"name": "mlp", "widths": [32]}, digits)
    assert wide.name == "mlp-64-32-10"
    xor = initlab.get_task("xor")  # one sigmoid output, not one per class
    assert experiments.build_model("mlp", xor).name == "mlp-2-128-128-1"
    assert experiments.build_model("cnn1d", digits).name == "cnn1d-32-32"
    with pytest.raises(ValueError, match="mlp, cnn1d"):
        experiments.build_model("transformer", digits)
    with pytest.raises(ValueError, match="allowed"):
        experiments.build_model({"name": "mlp", "depth": 3}, digits)


def test_check_options_rejects_before_anything_runs():
    experiments.check_options("zoo", initializers=["he_normal"], num_restarts=8)
    for name, options, needle in [
        ("xor", {"initializers": ["zeros"]}, "ranges"),
        ("zoo", {"task": "mnist9"}, "digits"),
        ("zoo", {"optimizer": "adamm"}, "adam"),
        ("zoo", {"num_restarts": 0}, "positive"),
        ("zoo", {"design": "random"}, "grid"),
        ("nope", {}, "zoo"),
    ]:
        # check_options itself (no study runs), then run_study, which checks too.
        with pytest.raises(ValueError, match=needle):
            experiments.check_options(name, **options)
        with pytest.raises(ValueError, match=needle):
            experiments.run_study(name, **options)


def test_symmetry_zeros_and_constant_never_differentiate_units():
    result = experiments.symmetry(task="xor", small=True, steps=50, progress=False)
    counts, initial = result.extra["distinct_units"], result.extra["initial_units"]
    hidden = sorted(counts)[0]  # the 2 hidden units of the 2-2-1 net
    labels = result.outcomes.initializer
    for label in ("zeros", "constant(0.1)"):
        assert np.all(counts[hidden][labels == label] == 1), label
        assert np.all(initial[hidden][labels == label] == 1), label
    assert np.all(counts[hidden][labels == "glorot_uniform"] == 2)
    assert "glorot_uniform" in result.text and "units" in result.text


def test_xor_reports_stuck_fractions_with_wilson_intervals(tmp_path):
    result = experiments.xor(small=True, progress=False, out_dir=tmp_path)
    table = result.table
    assert table["range"].tolist() == [1.0, 2.0]
    out = result.outcomes
    for _, row in table.iterrows():
        solved = out.values("train_solved", row["initializer"])
        assert row["n_stuck"] == np.sum(solved < 0.5)
        assert row["stuck"] == pytest.approx(row["n_stuck"] / row["n"])
        assert 0 <= row["low"] <= row["stuck"] <= row["high"] <= 1
    assert out.metadata["bias_init"] == "same"
    assert "1/2 sum of squared errors" in result.text
    assert "learning_rate=0.5" in result.text and "steps=300" in result.text
    assert (tmp_path / "xor_stuck.csv").exists() and (tmp_path / "report.md").exists()


def test_variance_full_batch_data_order_explains_nothing():
    # XOR trains full batch: the data-order seed changes nothing, so its share
    # of the variance is exactly 0 and init takes it all.
    result = experiments.variance(task="xor", initializers=["glorot_uniform"],
                                  small=True, steps=200, progress=False)  # fmt: skip
    vc = result.extra["components"]["glorot_uniform"]
    share = dict(zip(vc["components"], vc["share"], strict=True))
    assert vc["n_init"] == 4 and vc["n_data"] == 4
    assert share["data"] == 0.0
    assert share["init"] == pytest.approx(1.0)


def test_seed_grid_refuses_a_non_grid_run():
    out = initlab.Outcomes(
        initializer=np.array(["a"] * 3), restart=np.arange(3),
        init_seed=np.arange(3), data_seed=np.arange(3), steps=np.array([0]),
        curves={"m": np.zeros((3, 1))}, final={"m": np.zeros(3)},
        diverged=np.zeros(3, bool), diverged_step=-np.ones(3, int),
        steps_to_target=-np.ones(3, int),
    )  # fmt: skip
    with pytest.raises(ValueError, match="grid"):
        experiments.seed_grid(out, "a", "m")


def test_depth_he_keeps_relu_signal_lecun_halves_it(tmp_path):
    result = experiments.depth(
        initializers=["lecun_normal", "he_normal"], activations=["relu"],
        depths=[4], width=64, num_keys=4, out_dir=tmp_path,
    )  # fmt: skip
    ratio = result.table.set_index("initializer")["q_last_over_q_first"]
    # Mean field for ReLU: q_{l+1} = sigma_w^2 q_l / 2, so over 3 layers lecun
    # (sigma_w^2 = 1) gives 1/8 and he (2) gives 1; width 64 x 4 nets: loose.
    assert ratio["he_normal"] == pytest.approx(1.0, rel=0.35)
    assert ratio["lecun_normal"] == pytest.approx(1 / 8, rel=0.35)
    assert (tmp_path / "report.md").exists()
    assert list((tmp_path / "figures").glob("*.png"))


def test_every_study_is_registered_with_a_small_mode():
    for name in experiments.STUDIES:
        assert "small" in experiments.study_options(name), name


def test_resolve_initializers_labels():
    entries = ["orthogonal", {"name": "constant", "value": 0.1}]
    inits = experiments.resolve_initializers(entries)
    assert list(inits) == ["orthogonal", "constant(value=0.1)"]
    assert initlab.to_config(inits["orthogonal"]) == initlab.to_config(
        initlab.orthogonal()
    )


def test_variance_prints_the_split_the_report_writes(tmp_path):
    result = experiments.variance(task="xor", initializers=["he_normal"],
                                  small=True, steps=50, progress=False,
                                  out_dir=tmp_path)  # fmt: skip
    vc = result.extra["components"]["he_normal"]
    parts = ", ".join(
        f"{n} {s:.0%} [{lo:.0%}, {hi:.0%}]"
        for n, s, lo, hi in zip(vc["components"], vc["share"], vc["share_low"],
                                vc["share_high"], strict=True)
    )  # fmt: skip
    assert parts in (tmp_path / "report.md").read_text()
    assert experiments.seed_grid is initlab.report.seed_grid

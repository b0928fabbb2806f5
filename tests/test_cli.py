"""The `initlab` command, run in-process into tmp_path on the tiny XOR task."""

import json
import sys
import types

import numpy as np
import pytest

import initlab
from initlab import cli, experiments

# One device: this test process stays at one XLA CPU device (see conftest).
TINY = ["--task", "xor", "--restarts", "4", "--steps", "20", "--devices", "1",
        "--quiet"]  # fmt: skip


def run(*argv):
    return cli.main(["run", *argv])


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    """One real run shared by the tests that only read its output."""
    out = tmp_path_factory.mktemp("run") / "xor"
    code = run(*TINY, "--init", "zeros,glorot_uniform", "--out", str(out))
    return code, out


def test_run_writes_the_report_folder(first_run):
    code, out = first_run
    assert code == 0
    for name in ("results.parquet", "report.md", "report.html", "run.json"):
        assert (out / name).stat().st_size > 0, name
    figures = sorted((out / "figures").glob("*.png"))
    assert figures and all(f.stat().st_size > 1000 for f in figures)
    assert sorted((out / "chunks").glob("chunk-*.parquet"))
    saved = initlab.Outcomes.load(out)
    assert saved.labels == ["zeros", "glorot_uniform"]
    assert len(saved) == 8 and saved.metadata["steps"] == 20
    assert "glorot_uniform" in (out / "report.md").read_text()


def test_run_prints_the_summary_and_show_reads_it_back(first_run, capsys):
    _, out = first_run
    capsys.readouterr()
    assert cli.main(["show", str(out)]) == 0
    shown = capsys.readouterr().out
    saved = initlab.Outcomes.load(out)
    # zeros: every restart is the same network, so the mean is exact.
    zeros = saved.values("test_accuracy", "zeros")
    assert np.all(zeros == zeros[0])
    assert "zeros" in shown and "glorot_uniform" in shown
    assert f"{zeros[0]:.3f} [{zeros[0]:.3f}, {zeros[0]:.3f}]" in shown
    assert "task=xor" in shown and "steps=20" in shown


def test_rerun_resumes_from_chunks_with_identical_results(first_run, capsys):
    _, out = first_run
    chunk = sorted((out / "chunks").glob("chunk-*.parquet"))[0]
    stamp = chunk.stat().st_mtime_ns
    before = initlab.Outcomes.load(out)
    assert run(*TINY, "--init", "zeros,glorot_uniform", "--out", str(out)) == 0
    assert chunk.stat().st_mtime_ns == stamp  # reused, not recomputed
    after = initlab.Outcomes.load(out)
    for metric in before.curves:
        np.testing.assert_array_equal(before.curves[metric], after.curves[metric])


def test_ctrl_c_keeps_chunks_and_the_same_command_resumes(tmp_path, monkeypatch,
                                                         capsys):  # fmt: skip
    out = tmp_path / "interrupted"
    args = [*TINY, "--init", "zeros", "--chunk-size", "2", "--out", str(out)]

    def interrupt(*_, **__):
        raise KeyboardInterrupt

    # The interrupt lands after training (in the report): every chunk is done.
    # Patched where the zoo study (the default) looks the name up.
    monkeypatch.setattr(experiments.zoo_study, "write_report", interrupt)
    assert run(*args) == cli.EXIT_INTERRUPTED
    err = capsys.readouterr().err
    assert "2 finished chunk(s) kept" in err and "resume" in err
    monkeypatch.undo()
    stamps = {p: p.stat().st_mtime_ns for p in (out / "chunks").glob("*.parquet")}
    assert run(*args) == 0
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    assert (out / "report.html").exists()


def test_config_file_is_honoured_and_flags_override_it(tmp_path, capsys):
    config = tmp_path / "study.toml"
    config.write_text(
        'task = "xor"\nrestarts = 3\nsteps = 10\nseed = 5\ndevices = 1\n'
        'quiet = true\ninit = ["zeros", {name = "constant", value = 0.3}]\n'
    )
    out = tmp_path / "configured"
    assert run("--config", str(config), "--steps", "15", "--out", str(out)) == 0
    meta = initlab.Outcomes.load(out).metadata
    assert meta["steps"] == 15  # the flag wins
    assert meta["seed"] == 5 and meta["num_restarts"] == 3
    assert list(meta["initializers"]) == ["zeros", "constant(value=0.3)"]
    as_json = tmp_path / "study.json"
    as_json.write_text(json.dumps({"study": "zoo", "lr": 0.25}))
    options = cli._read_config(as_json)
    assert options == {"study": "zoo", "learning_rate": 0.25}


def test_list_prints_every_kind_of_name(capsys):
    assert cli.main(["list"]) == 0
    text = capsys.readouterr().out
    for name in (*initlab.KERAS_NAMES, *initlab.TASKS, *initlab.MODELS,
                 *experiments.STUDIES, "adam", "sgd"):  # fmt: skip
        assert name in text, name
    assert "U(±√(6/(fan_in+fan_out)))" in text  # formulas from the registry


@pytest.fixture
def bad_config(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("restarts = [oops\n")
    return path


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["run", "--init", "glorot_unifrom"], "glorot_uniform"),
        (["run", "--init", '{"name": "random_uniform", "bogus": 1}'], "allowed"),
        (["run", "--task", "mnist9"], "digits"),
        (["run", "nostudy"], "zoo"),
        (["run", "--optimizer", "adamm"], "adam"),
        (["run", "--restarts", "-3"], "positive int"),
        (["run", "--lr", "0"], "number > 0"),
        (["run", "--model", "transformer"], "mlp"),
        (["run", "--design", "random"], "grid"),
        (["run", "xor", "--init", "zeros"], "ranges"),
        (["run", "--config", "BAD"], "TOML"),
        (["run", "--config", "MISSING"], "cannot read"),
        (["show", "MISSING"], "no saved run"),
        (["frobnicate"], "run"),
    ],
)
def test_bad_input_exits_2_with_one_line(argv, needle, bad_config, tmp_path,
                                         capsys, monkeypatch):  # fmt: skip
    monkeypatch.chdir(tmp_path)  # the default output folder would land here
    paths = {"BAD": str(bad_config), "MISSING": str(tmp_path / "missing")}
    argv = [paths.get(a, a) for a in argv]
    assert cli.main([*argv, *(["--quiet"] if argv[0] == "run" else [])]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert needle in lines[0] and "Traceback" not in captured.err
    assert not list(tmp_path.glob("initlab-runs"))


def test_config_with_an_unknown_key_or_bad_value_exits_2(tmp_path, capsys):
    for text, needle in (("restarts = 0\n", "positive int"),
                         ("colour = 'red'\n", "unknown option 'colour'")):  # fmt: skip
        path = tmp_path / "c.toml"
        path.write_text(text)
        assert run("--config", str(path)) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and needle in err[0]


def test_bench_forwards_or_says_unavailable(monkeypatch, capsys):
    seen = {}
    fake = types.ModuleType("initlab.bench")
    fake.main = lambda argv: seen.setdefault("argv", argv) and 0
    monkeypatch.setitem(sys.modules, "initlab.bench", fake)
    monkeypatch.setattr(initlab, "bench", fake, raising=False)
    monkeypatch.setattr(cli.importlib.util, "find_spec", lambda name: object())
    assert cli.main(["bench", "--tiny", "--out", "x"]) == 0
    assert seen["argv"] == ["--tiny", "--out", "x"]
    monkeypatch.setattr(cli.importlib.util, "find_spec", lambda name: None)
    assert cli.main(["bench"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unavailable" in err[0]


def test_example_study_files_are_valid():
    from pathlib import Path

    examples = sorted((Path(__file__).parents[1] / "examples").glob("*.toml"))
    assert examples
    for path in examples:
        options = cli._read_config(path)
        study = options.pop("study", "zoo")
        for control in ("out", "quiet", "small"):
            options.pop(control, None)
        experiments.check_options(study, **options)

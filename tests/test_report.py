"""Tests of initlab.report: every file is written and every link resolves."""

import base64
import dataclasses
import itertools
import re

import numpy as np
import pandas as pd
import pytest

from initlab import report
from initlab.outcomes import Outcomes

LABELS = ["he_normal", "glorot_uniform", "zeros"]


def grid_outcomes(n_init=5, n_data=4, diverged=(22, 25), accuracy=True):
    """3 initializers x (n_init x n_data) seed grid, curves, per-example results."""
    rng = np.random.default_rng(1)
    n = n_init * n_data
    labels = np.repeat(LABELS, n)
    r = labels.size
    steps = np.arange(0, 51, 10)
    init_seed = np.tile(np.arange(n) // n_data, 3)
    data_seed = np.tile(np.arange(n) % n_data, 3)
    skill = (np.repeat([0.9, 0.85, 0.3], n) + 0.03 * rng.normal(size=n_init)[init_seed]
             + 0.01 * rng.normal(size=r))  # fmt: skip
    t = steps[None, :] / 50
    loss = 2.3 * np.exp(-3 * t * skill[:, None])
    acc = 0.1 + (skill[:, None] - 0.1) * (1 - np.exp(-5 * t))
    div = np.zeros(r, bool)
    div[list(diverged)] = True
    loss[div, 3:] = np.nan
    curves = {"train_loss": loss, "test_loss": loss * 1.1}
    final = {"train_loss": loss[:, -1], "test_loss": loss[:, -1] * 1.1}
    if accuracy:
        curves["test_accuracy"] = acc
        final["test_accuracy"] = np.where(div, np.nan, acc[:, -1])
    return Outcomes(
        initializer=labels,
        restart=np.tile(np.arange(n), 3),
        init_seed=init_seed,
        data_seed=data_seed,
        steps=steps,
        curves=curves,
        final=final,
        diverged=div,
        diverged_step=np.where(div, 30, -1),
        steps_to_target=np.full(r, -1),
        metadata={"task": "synthetic", "optimizer": {"name": "sgd", "lr": 0.1}},
        per_example={"test_correct": rng.uniform(size=(r, 40)) < skill[:, None]},
    )


def md_table_rows(md):
    lines = md.split("## Summary")[1].strip().splitlines()
    table = list(itertools.takewhile(lambda ln: ln.startswith("|"), lines))
    return table[2:]  # drop header and separator


def embedded_images(page):
    """The decoded bytes of every <img> of an HTML page (all must be data: URIs)."""
    srcs = re.findall(r'<img src="([^"]+)"', page)
    assert all(s.startswith("data:image/png;base64,") for s in srcs), srcs[:1]
    return [base64.b64decode(s.split(",", 1)[1]) for s in srcs]


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    layers = pd.DataFrame(
        [
            {"initializer": "lecun_normal", "layer": i, "statistic": "act_std",
             "value": 1.0 + i}
            for i in range(3)
        ]
    )  # fmt: skip
    path = report.write_report(grid_outcomes(), out, target=0.8, rng=0,
                               n_resamples=300, layer_stats=layers)  # fmt: skip
    return path


def test_report_folder_has_every_file(written):
    for name in ("results.parquet", "report.md", "report.html"):
        assert (written / name).stat().st_size > 0
    pngs = sorted(p.name for p in (written / "figures").glob("*.png"))
    for name in ("distributions", "ecdf", "profiles", "best_of_k",
                 "curves_train_loss", "curves_test_accuracy", "variance_he_normal",
                 "variance_zeros", "layer_act_std"):  # fmt: skip
        assert f"{name}.png" in pngs
    # dpi 100 at 6.4 x 4 in: small files
    assert all((written / "figures" / p).stat().st_size < 150_000 for p in pngs)
    back = Outcomes.load(written)
    assert len(back) == 60 and back.labels == LABELS


def test_html_embeds_every_figure_and_markdown_links_them(written):
    # The HTML is one file: every figure is embedded (byte for byte the PNG
    # written beside it), and each PNG is shown once.
    page = (written / "report.html").read_text()
    embedded = embedded_images(page)
    pngs = sorted((written / "figures").glob("*.png"))
    assert sorted(embedded) == sorted(p.read_bytes() for p in pngs)
    body = page.split("<tbody>")[1].split("</tbody>")[0]
    cells = re.findall(r"<tr[^>]*>\s*<td>([^<]*)</td>", body)
    assert cells == LABELS  # one row per initializer
    md = (written / "report.md").read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert set(links) == {f"figures/{p.name}" for p in pngs}


def test_markdown_content(written):
    md = (written / "report.md").read_text()
    rows = md_table_rows(md)
    assert [r.split("|")[1].strip() for r in rows] == LABELS
    glorot = [c.strip() for c in rows[1].split("|")[1:-1]]
    assert glorot[1:3] == ["18", "2"]  # n kept, diverged
    header = md.split("## Summary")[1].strip().splitlines()[0]
    for column in ("mean [95% CI]", "IQM [95% CI]", "success rate [95% CI]",
                   "expected best of 5"):  # fmt: skip
        assert column in header
    assert "2 of 60 restarts diverged" in md and "left out" in md
    assert "Best by IQM: he_normal" in md
    assert "glorot_uniform: seed grid not decomposed, 2 diverged" in md
    assert "he_normal (5 init x 4 data seeds)" in md
    assert "Binomial check" in md
    assert "**task**: `synthetic`" in md


def test_report_is_reproducible(tmp_path):
    out = grid_outcomes(diverged=())
    a = report.write_report(out, tmp_path / "a", rng=3, n_resamples=200)
    b = report.write_report(out, tmp_path / "b", rng=3, n_resamples=200)
    c = report.write_report(out, tmp_path / "c", rng=4, n_resamples=200)
    md = [(p / "report.md").read_text() for p in (a, b, c)]
    assert md[0] == md[1] and md[0] != md[2]
    assert "No restart diverged" in md[0]
    assert "success rate" not in md[0]  # no target given


def test_default_metric_choice():
    assert report.default_metric(grid_outcomes()) == "test_accuracy"
    assert report.default_metric(grid_outcomes(accuracy=False)) == "test_loss"
    out = grid_outcomes(accuracy=False)
    out = dataclasses.replace(out, final={"train_loss": out.final["train_loss"]})
    assert report.default_metric(out) == "train_loss"
    out = dataclasses.replace(out, final={})
    with pytest.raises(ValueError, match="no final metric"):
        report.default_metric(out)


def test_report_with_an_all_diverged_initializer(tmp_path):
    # every "zeros" restart diverged: its row reads n = 0 with "–" cells.
    out = grid_outcomes(diverged=range(40, 60))
    path = report.write_report(out, tmp_path, metric="test_loss", n_resamples=200)
    rows = md_table_rows((path / "report.md").read_text())
    zeros = [c.strip() for c in rows[2].split("|")[1:-1]]
    assert zeros[:3] == ["zeros", "0", "20"] and zeros[3] == "–"
    assert "nan" not in (path / "report.md").read_text().lower()
    page = (path / "report.html").read_text()
    assert len(embedded_images(page)) == len(list((path / "figures").glob("*.png")))


def test_report_bad_input(tmp_path):
    with pytest.raises(KeyError, match="unknown metric"):
        report.write_report(grid_outcomes(), tmp_path, metric="nope")
    empty = grid_outcomes().select(np.zeros(60, bool))
    with pytest.raises(ValueError, match="no restarts"):
        report.write_report(empty, tmp_path)


def test_report_from_a_real_engine_run(tmp_path):
    # The "done when": 3 initializers x 64 restarts, trained for real.
    import initlab
    from tests.test_engine import TASK

    inits = ["glorot_uniform", "he_normal", "zeros"]
    out = initlab.train(
        TASK, inits, num_restarts=64, steps=20, eval_every=10, progress=False
    )
    folder = initlab.write_report(out, tmp_path / "rep", target=0.6)
    assert (folder / "results.parquet").exists()
    md = (folder / "report.md").read_text()
    for label in out.labels:
        assert label in md
    html = (folder / "report.html").read_text()
    pngs = list((folder / "figures").glob("*.png"))
    assert len(pngs) >= 4 and len(embedded_images(html)) == len(pngs)
    back = Outcomes.load(folder)
    assert len(back) == 192


def test_seed_grid_and_variance_split_are_re_exported_from_stats():
    from initlab import stats

    assert report.seed_grid is stats.seed_grid
    assert report.variance_split is stats.variance_split
    from initlab.report import seed_grid, variance_split  # the old import path

    assert (seed_grid, variance_split) == (stats.seed_grid, stats.variance_split)


def summary_row(**cells):
    row = dict(initializer="he", n=4, diverged=1, mean=0.5, mean_low=0.4,
               mean_high=0.6, iqm=0.51, iqm_low=np.nan, iqm_high=np.nan,
               median=0.5, std=0.123456)  # fmt: skip
    row.update(cells)
    return row


def test_display_table_cells():
    table = pd.DataFrame(
        [summary_row(), summary_row(initializer="z", n=0, mean=np.nan, mean_low=np.nan)]
    )
    shown = report.display_table(table, confidence=0.9)
    assert list(shown.columns) == ["initializer", "n", "diverged", "mean [90% CI]",
                                   "IQM [90% CI]", "median", "std"]  # fmt: skip
    he = shown.iloc[0].tolist()
    assert he == ["he", "4", "1", "0.5 [0.4, 0.6]", "0.51", "0.5", "0.1235"]
    assert shown.iloc[1]["n"] == "0" and shown.iloc[1]["mean [90% CI]"] == "–"
    both = pd.DataFrame(
        [summary_row(success_rate=0.75, success_low=0.3, success_high=0.95,
                     best_of_3=0.7)]
    )  # fmt: skip
    shown = report.display_table(both, digits=2)
    assert shown.iloc[0]["success rate [95% CI]"] == "0.75 [0.30, 0.95]"
    assert shown.iloc[0]["expected best of 3"] == "0.70"
    assert shown.iloc[0]["mean [95% CI]"] == "0.50 [0.40, 0.60]"


@pytest.mark.parametrize(
    "table, kwargs, error, match",
    [([summary_row()], {}, TypeError, "pandas DataFrame"),
     (pd.DataFrame([summary_row()]).drop(columns="iqm"), {}, ValueError,
      r"lacks column\(s\) \['iqm'\]"),
     (pd.DataFrame([summary_row()]), {"confidence": 95}, ValueError, r"\(0, 1\)"),
     (pd.DataFrame([summary_row()]), {"digits": -1}, ValueError, ">= 0"),
     (pd.DataFrame([summary_row()]), {"digits": 2.0}, TypeError, "digits")],
)  # fmt: skip
def test_display_table_refuses(table, kwargs, error, match):
    with pytest.raises(error, match=match):
        report.display_table(table, **kwargs)


def test_report_shows_the_table_and_split_it_is_given(tmp_path):
    from initlab import stats

    out = grid_outcomes(diverged=())
    table = stats.summary_table(out, "test_accuracy", rng=11, n_resamples=100)
    split = stats.variance_split(out, "test_accuracy", rng=12, n_resamples=100)
    path = report.write_report(out, tmp_path, rng=0, n_resamples=100, table=table,
                               components=split)  # fmt: skip
    md = (path / "report.md").read_text()
    # The report shows it best first by IQM, digits from the interval widths.
    best_first = table.sort_values("iqm", ascending=False).reset_index(drop=True)
    shown = report.display_table(best_first, digits="auto", median_interval=True)
    for r, want in zip(md_table_rows(md), shown.itertuples(index=False), strict=True):
        assert [c.strip() for c in r.split("|")[1:-1]] == list(want)
    vc = split["zeros"]
    init = f"init {vc['share'][0]:.0%} [{vc['share_low'][0]:.0%}, "
    assert f"zeros (5 init x 4 data seeds): {init}" in md


def test_report_comparisons_are_stats_compare_with_best(tmp_path):
    from initlab import stats

    out = grid_outcomes(diverged=())
    path = report.write_report(out, tmp_path, rng=5, n_resamples=100)
    md = (path / "report.md").read_text()
    # write_report gives its comparisons the 4th of 5 child streams of rng.
    seed = stats.as_rng(5).spawn(5)[3]
    best, p = stats.compare_with_best(out, "test_accuracy", rng=seed, n_resamples=100)
    assert f"Best by IQM: {best}." in md
    for label, (prob, lo, hi) in p.items():
        assert f"- P({best} beats {label}) = {prob:.2f} [{lo:.2f}, {hi:.2f}]" in md


def test_report_refuses_bad_folder_and_title(tmp_path):
    with pytest.raises(TypeError, match="out_dir must be a str"):
        report.write_report(grid_outcomes(), 3)
    with pytest.raises(TypeError, match="title must be a str"):
        report.write_report(grid_outcomes(), tmp_path, title=None)


# ----- findings, digits, figures, reproduction -----------------------------------


@pytest.mark.parametrize(
    "width, want",
    [(0.004, 3), (0.0012, 4), (0.2, 2), (0.04, 2), (3.0, 0), (25.0, 0),
     (0.0096, 3), (0.0, None), (float("nan"), None), (-1.0, None)],
)  # fmt: skip
def test_decimals_follow_the_width(width, want):
    # the first significant digit of the width is the last decimal shown, one
    # more when it is 1 or 2 (0.0096 rounds to 0.01: 3 decimals)
    assert report.decimals(width) == want


def test_auto_digits_per_column_from_interval_widths():
    rows = [
        summary_row(initializer="a", mean=0.97341, mean_low=0.97101,
                    mean_high=0.97501, iqm=0.97312, iqm_low=0.97251,
                    iqm_high=0.97371, median=0.9733, std=0.0008132),
        summary_row(initializer="b", mean=0.10141, mean_low=0.10141,
                    mean_high=0.10141, iqm=0.1012, iqm_low=0.1006,
                    iqm_high=0.1018, median=0.1019, std=0.00071),
    ]  # fmt: skip
    shown = report.display_table(pd.DataFrame(rows), digits="auto")
    # mean: widths 0.004 and 0 (degenerate, ignored) -> 3 decimals; IQM:
    # widths 0.0012 -> 4 decimals; std and median like the IQM.
    assert shown.iloc[0]["mean [95% CI]"] == "0.973 [0.971, 0.975]"
    assert shown.iloc[1]["mean [95% CI]"] == "0.101 [0.101, 0.101]"
    assert shown.iloc[0]["IQM [95% CI]"] == "0.9731 [0.9725, 0.9737]"
    assert shown.iloc[0]["std"] == "0.0008" and shown.iloc[1]["median"] == "0.1019"
    with pytest.raises(ValueError, match="'auto'"):
        report.display_table(pd.DataFrame(rows), digits="many")
    assert report.column_decimals([1.0, 2.0], [1.0, 2.0]) is None


@pytest.fixture(scope="module")
def page_text(written):
    return (written / "report.md").read_text(), (written / "report.html").read_text()


def findings_of(md):
    block = md.split("## Findings")[1].split("## Summary")[0]
    return [ln[2:] for ln in block.strip().splitlines()]


def test_findings_lead_the_report(written, page_text):
    md, page = page_text
    assert md.index("## Findings") < md.index("## Summary") < md.index("## Figures")
    assert md.index("## Figures") < md.index("## Settings and reproduction")
    lines = findings_of(md)
    assert lines[0].startswith("**Best by IQM: he_normal**: test_accuracy ")
    # zeros (skill 0.3) is a working initializer here: no chance level known,
    # no one-class restarts; 2 of glorot_uniform's 20 restarts diverged.
    assert "**Failed: none**" in lines[-2]
    assert lines[-1].startswith("**Diverged: 2 of 60 restarts**: (glorot_uniform 2)")
    assert '<section id="findings">' in page and "Best by IQM: he_normal" in page


def test_findings_name_failures_and_unresolved_ties(tmp_path):
    out = grid_outcomes(diverged=range(40, 60))  # every zeros restart diverged
    # glorot_uniform as good as he_normal: the restarts cannot separate them
    final = dict(out.final)
    acc = final["test_accuracy"].copy()
    he, gl = out.initializer == "he_normal", out.initializer == "glorot_uniform"
    acc[gl] = acc[he] + np.random.default_rng(0).normal(0, 0.002, he.sum())
    final["test_accuracy"] = acc
    out = dataclasses.replace(out, final=final)
    path = report.write_report(out, tmp_path, n_resamples=200, vector=None)
    md = (path / "report.md").read_text()
    lines = findings_of(md)
    best = lines[0].split("**")[1].removeprefix("Best by IQM: ")
    other = ({"he_normal", "glorot_uniform"} - {best}).pop()
    assert lines[1].startswith(f"**Not separable from {best} with 20 restarts**")
    assert f"P({best} beats {other}) = " in lines[1]
    assert "**Failed: 1 of 3**: zeros: all 20 restarts diverged" in lines[2]
    rows = md_table_rows(md)
    assert rows[-1].split("|")[1].strip() == "zeros"  # failed ones last


def test_html_is_one_file_with_nothing_outside(page_text):
    _, page = page_text
    assert "<script" not in page and "<link" not in page and "@import" not in page
    refs = re.findall(r'(?:src|href)\s*=\s*"([^"]*)"', page)
    assert refs and all(r.startswith("data:") for r in refs)
    assert not re.search(r"https?://|url\(", page)


def test_matrix_in_html_agrees_with_the_comparison_lines(page_text):
    md, page = page_text
    lines = re.findall(r"- (P\(he_normal beats [a-z_]+\) = [0-9.]+ \[[0-9., ]+\])", md)
    assert len(lines) == 2
    hovers = re.findall(r'title="(P\([^"]+)"', page)
    # 3 x 3 matrix (zeros works here), 6 off-diagonal cells
    assert len(hovers) == 6 and set(lines) <= set(hovers)


def test_every_figure_in_both_formats(written, tmp_path):
    figures = written / "figures"
    pngs = {p.stem for p in figures.glob("*.png")}
    assert {"intervals", "improvement", "distributions", "ecdf"} <= pngs
    assert pngs == {p.stem for p in figures.glob("*.svg")}
    out = grid_outcomes(n_init=2, n_data=2, diverged=())
    path = report.write_report(out, tmp_path / "n", n_resamples=100, vector=None)
    assert list((path / "figures").glob("*.png"))
    assert not list((path / "figures").glob("*.svg"))
    with pytest.raises(ValueError, match="vector"):
        report.write_report(out, tmp_path / "x", vector="gif")
    with pytest.raises(TypeError, match="command must be a str"):
        report.write_report(out, tmp_path / "x", command=["initlab", "run"])


def test_settings_config_file_and_reproduction(tmp_path):
    import initlab

    config = initlab.TrainConfig(task="xor", initializers=LABELS, num_restarts=20,
                                 steps=50, seed=7)  # fmt: skip
    meta = {**config.to_dict(), "devices": ["cpu:0", "cpu:1"], "task_name": "xor",
            "fingerprint": "abc123", "wall_time_s": 12.345,
            "versions": {"jax": "0.10.2"},
            "plan": {"chunk_size": 20, "devices": 2, "blocks": [10, 10]},
            "mystery_key": {"b": 1}}  # fmt: skip
    small = grid_outcomes(n_init=2, n_data=2, diverged=())
    out = dataclasses.replace(small, metadata=meta)
    path = report.write_report(out, tmp_path / "a", rng=0, n_resamples=100,
                               vector=None)  # fmt: skip
    saved = initlab.TrainConfig.load(path / "config.toml")
    assert saved == initlab.TrainConfig.from_metadata(meta)
    assert saved.seed == 7 and saved.devices == 2
    md = (path / "report.md").read_text()
    settings = md.split("## Settings and reproduction")[1]
    assert "```sh\ninitlab run zoo --config config.toml\n```" in settings
    assert "- **seed**: `7`" in settings and "- **run fingerprint**: `abc123`" in md
    assert "- **devices**: `cpu:0, cpu:1`" in settings
    assert "- **plan**:\n  - **chunk_size**: `20`" in settings
    assert "- **wall time**: `12.3 s`" in settings
    assert "### Other recorded values" in settings and "**mystery_key**" in settings
    assert "rng=0" in settings
    # A recorded command is shown as it is; the config is still written.
    meta["command"] = "initlab run xor --num-restarts 20"
    out = dataclasses.replace(out, metadata=meta)
    path = report.write_report(out, tmp_path / "b", n_resamples=100, vector=None)
    assert (
        "```sh\ninitlab run xor --num-restarts 20\n```"
        in (path / "report.md").read_text()
    )
    assert (path / "config.toml").exists()


def test_no_config_file_when_it_cannot_be_rebuilt(tmp_path, written):
    import initlab
    from initlab.tasks import xor

    meta = initlab.TrainConfig(task=xor(), initializers=LABELS).to_dict()
    out = dataclasses.replace(grid_outcomes(n_init=2, n_data=2, diverged=()),
                              metadata=meta)  # fmt: skip
    path = report.write_report(out, tmp_path, n_resamples=100, vector=None)
    md = (path / "report.md").read_text()
    assert not (path / "config.toml").exists()
    assert "No config.toml: the configuration holds Python objects" in md
    # the synthetic run records no full config at all: said so, nothing written
    assert not (written / "config.toml").exists()
    assert "does not record a full TrainConfig" in (written / "report.md").read_text()

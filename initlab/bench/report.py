"""Reporting: targets, verdicts against them, and the markdown tables."""

from __future__ import annotations

TARGETS = {
    "M vs sequential JAX": 1.5,
    "M vs torch.func": 1.15,
    "M vs PyTorch loop": 3.5,
    "M fraction of matmul ceiling": 0.45,
    "T vs sequential JAX": 100.0,
    # no regression: the current initlab against an older tree, same rounds
    # (5 %: about the spread of one contender's rounds on a quiet machine)
    "M vs initlab baseline": 0.95,
    "T vs initlab baseline": 0.95,
    "memory N=1024 (GiB)": 1.5,
    "memory N=16384 chunked (GiB)": 4.0,
}

GPU_TARGETS = {
    "M N=4096 vs sequential JAX": 20.0,
    "M N=4096 fraction of the fp32 rate on M's shapes": 0.30,
    "M N=4096 bf16 fraction of the bf16 rate on M's shapes": 0.30,
    "M N=16384 without chunk_size (chunks the plan chose)": None,
}

_LEAD = "initlab (all devices)"


def _ratio(rows: dict, a: str, b: str) -> float | None:
    if a in rows and b in rows:
        return rows[a]["restart_steps_per_s"] / rows[b]["restart_steps_per_s"]
    return None


def _add(out: list, targets: dict, name: str, value, higher: bool = True) -> None:
    goal = targets[name]
    ok = None if value is None else (value >= goal if higher else value < goal)
    out.append({"target": name, "goal": goal, "value": value, "met": ok})


def _verdicts(results: dict) -> list[dict]:
    """CPU targets against the measured ratios (``None`` where not measured)."""
    out: list[dict] = []
    m = results.get("M", {}).get("contenders", {})
    t = results.get("T", {}).get("contenders", {})
    for other in ("sequential JAX", "torch.func", "PyTorch loop"):
        _add(out, TARGETS, f"M vs {other}", _ratio(m, _LEAD, other))
    _add(out, TARGETS, "M fraction of matmul ceiling",
         m.get(_LEAD, {}).get("fraction_of_ceiling"))  # fmt: skip
    _add(out, TARGETS, "T vs sequential JAX", _ratio(t, _LEAD, "sequential JAX"))
    base = "initlab baseline (all devices)"
    _add(out, TARGETS, "M vs initlab baseline", _ratio(m, _LEAD, base))
    _add(out, TARGETS, "T vs initlab baseline", _ratio(t, _LEAD, base))
    mem = results.get("memory", {})
    gib = 2**30
    for name, prefix in (("memory N=1024 (GiB)", "N=1024"),
                         ("memory N=16384 chunked (GiB)", "N=16384")):  # fmt: skip
        rss = next(
            (v.get("peak_rss_bytes") for k, v in mem.items() if k.startswith(prefix)),
            None,
        )
        _add(out, TARGETS, name, None if rss is None else rss / gib, higher=False)
    return out


def _gpu_verdicts(results: dict) -> list[dict]:
    """GPU targets (``None`` where not measured)."""
    out: list[dict] = []
    m = results.get("M4096", {}).get("contenders", {})
    _add(out, GPU_TARGETS, "M N=4096 vs sequential JAX",
         _ratio(m, "initlab", "sequential JAX"))  # fmt: skip
    _add(out, GPU_TARGETS, "M N=4096 fraction of the fp32 rate on M's shapes",
         m.get("initlab", {}).get("fraction_of_m_shapes"))  # fmt: skip
    _add(out, GPU_TARGETS, "M N=4096 bf16 fraction of the bf16 rate on M's shapes",
         m.get("initlab (bf16)", {}).get("fraction_of_m_shapes"))  # fmt: skip
    big = results.get("M16384", {}).get("contenders", {}).get("initlab")
    name = "M N=16384 without chunk_size (chunks the plan chose)"
    chunks = (big or {}).get("plan", {}).get("num_chunks")
    out.append({"target": name, "goal": None, "value": chunks,
                "met": None if big is None else True})  # fmt: skip
    return out


def _fmt(x: float | None, spec: str = ".3g") -> str:
    return "-" if x is None else format(x, spec)


def _mib(n: int | None) -> str:
    return "-" if n is None else format(n / 2**20, ".0f")


def _rate(row: dict) -> str:
    return (
        f"{_fmt(row['restart_steps_per_s'], ',.0f')} "
        f"({_fmt(row['restart_steps_per_s_min'], ',.0f')}-"
        f"{_fmt(row['restart_steps_per_s_max'], ',.0f')})"
    )


def _time_for_all(row: dict, steps: int) -> str:
    note = ""
    if row["extrapolated"]:
        note = f" (extrapolated from {row['restarts_run']} restarts"
        if row["steps_run"] < steps:
            note += f" x {row['steps_run']} steps"
        note += ")"
    return f"{_fmt(row['seconds_for_all'], '.1f')}{note}"


def _gflops(x: float | None) -> str:
    return "-" if x is None else format(x, ",.0f" if x >= 100 else ".3g")


def _pct(x: float | None) -> str:
    return "-" if x is None else format(x, ".0%")


def _plans(rows: dict) -> list[str]:
    lines = [f"- {label}: {row['plan_summary']}" for label, row in rows.items()
             if row.get("plan_summary")]  # fmt: skip
    return ["Plans chosen:", "", *lines, ""] if lines else []


def _targets(targets: list[dict]) -> list[str]:
    lines = ["### Targets", "", "| target | goal | measured | met |",
             "|---|---|---|---|"]  # fmt: skip
    for t in targets:
        name, goal = t["target"], t["goal"]
        if goal is None:
            goal_text = "runs"
        elif "memory" in name:
            goal_text = f"< {goal}"
        elif "fraction" in name:
            goal_text = f">= {goal:.0%}"
        else:
            goal_text = f">= {goal}x"
        met = {True: "yes", False: "**no**", None: "not measured"}[t["met"]]
        value = t["value"]
        shown = _fmt(value, ".0%") if "fraction" in name else _fmt(value, ".2f")
        if isinstance(value, int):
            shown = str(value)
        lines.append(f"| {name} | {goal_text} | {shown} | {met} |")
    return lines


def _schedules(r: dict) -> list[str]:
    """M's evaluation schedules side by side: the cost of each, same run."""
    rows = r["contenders"]
    once = rows.get(_LEAD)
    picked = [(label, row) for label, row in rows.items()
              if row.get("kind") == "initlab" and "all devices" in label
              and "baseline" not in label]  # fmt: skip
    if once is None or len(picked) < 2:
        return []
    lines = ["Evaluation schedules (the same restarts and steps; each evaluation "
             "passes the train and test sets forward):", "",
             "| schedule | evaluations | restart-steps/s | vs evaluating at the end |",
             "|---|---|---|---|"]  # fmt: skip
    for _, row in picked:
        if row.get("eval_schedule"):
            name = f"{row['eval_schedule']}"
        elif row.get("eval_every"):
            name = f"linear, every {row['eval_every']}"
        else:
            name = "at the end (and step 0)"
        ratio = row["restart_steps_per_s"] / once["restart_steps_per_s"]
        lines.append(f"| {name} | {row.get('evaluations') or '-'} | {_rate(row)} | "
                     f"{ratio:.2f}x |")  # fmt: skip
    return [*lines, ""]


def to_markdown(results: dict) -> str:
    """The results as markdown tables (machine, workloads, memory, targets).

    Args:
      results: what :func:`run_benchmark` or :func:`run_gpu_benchmark` returned.

    Returns:
      markdown text.

    Example:
      >>> from initlab.bench import PLANS, run_benchmark
      >>> text = to_markdown(run_benchmark(PLANS["tiny"], parts=()))  # seconds
      >>> text.startswith("Machine:")
      True
    """
    if results["plan"].get("name") == "gpu":
        return _gpu_markdown(results)
    m = results["machine"]
    v = m["versions"]
    plan = results["plan"]
    passes = plan.get("passes", 1)
    load = results.get("load_before")
    lines = [
        f"Machine: {m['cpu']}, {m['cores']} cores, "
        f"{_fmt((m['memory_bytes'] or 0) / 2**30, '.1f')} GiB; {m['platform']}; "
        f"Python {m['python']}, jax {v.get('jax')}, torch {v.get('torch') or 'absent'}"
        f". Mode `{plan['mode']}`, {passes} pass{'es' if passes > 1 else ''} x "
        f"{plan['reps']} interleaved rounds, {results['date']}, "
        f"{_fmt(results.get('wall_s'), '.0f')} s in all"
        + (f"; load average {load[0]:.2f} before, "
           f"{results.get('load_after', [0])[0]:.2f} after" if load else "")
        + ".",
        "",
    ]  # fmt: skip
    if results.get("baseline"):
        lines += [f"Baseline initlab (same rounds): `{results['baseline']}`.", ""]
    for part, title in (("M", "M: digits MLP 64-128-128-10, batch 128"),
                        ("T", "T: XOR 2-2-1, full batch")):  # fmt: skip
        if part not in results:
            continue
        r = results[part]
        lines += [
            f"### {title}, N = {r['restarts']}, {r['steps']} steps",
            "",
            f"{r['flops_per_restart_step']:,} FLOP per restart-step; matmul "
            f"ceiling {_fmt(r['matmul_ceiling_gflops'], '.0f')} GFLOP/s.",
            "",
            "| contender | restart-steps/s (median, min-max) | time for all N (s) | "
            "GFLOP/s | of ceiling | compile (s) | peak RSS (MiB) |",
            "|---|---|---|---|---|---|---|",
        ]
        for label, row in r["contenders"].items():
            rss = _mib(row["peak_rss_bytes"])
            if row["kind"] == "matmul":
                lines.append(
                    f"| {label} | - | - | {_fmt(row['gflops_median'], '.0f')} "
                    f"({_fmt(row['gflops_min'], '.0f')}-"
                    f"{_fmt(row['gflops_max'], '.0f')}) | 100% | "
                    f"{_fmt(row['compile_s'], '.2f')} | {rss} |"
                )
                continue
            lines.append(
                f"| {label} | {_rate(row)} | {_time_for_all(row, r['steps'])} | "
                f"{_fmt(row.get('gflops'), '.1f')} | "
                f"{_pct(row.get('fraction_of_ceiling'))} | "
                f"{_fmt(row['compile_s'], '.2f')} | {rss} |"
            )
        for label, why in r["skipped"].items():
            lines.append(f"| {label} | skipped: {why} | | | | | |")
        lines.append("")
        if part == "M":
            lines += _schedules(r)
        lines += _plans(r["contenders"])
    if "memory" in results:
        lines += ["### Memory: initlab.train on M (peak RSS of the process)", "",
                  "| run | peak RSS (MiB) | wall (s) |", "|---|---|---|"]  # fmt: skip
        for label, row in results["memory"].items():
            rss, wall = _mib(row.get("peak_rss_bytes")), _fmt(row.get("wall_s"), ".1f")
            lines.append(f"| {label}, {row.get('steps', '?')} steps | {rss} | {wall} |")
        lines.append("")
    lines += _targets(results["targets"])
    return "\n".join(lines) + "\n"


def _gpu_markdown(results: dict) -> str:
    m, d = results["machine"], results.get("device", {})
    v = m["versions"]
    plan = results["plan"]
    lines = [
        f"Device: {d.get('device_kind', '?')} ({d.get('platform', '?')}, "
        f"{d.get('device_count', '?')} device(s)); host {m['cpu']}, {m['cores']} "
        f"cores; Python {m['python']}, jax {v.get('jax')}, torch "
        f"{v.get('torch') or 'absent'}. Mode `{plan['mode']}`, each contender "
        f"alone on the device, {plan['reps']} runs, {results['date']}, "
        f"{_fmt(results.get('wall_s'), '.0f')} s in all.",
        "",
    ]
    if results.get("mnist1d_stand_in"):
        lines += [
            "The `mnist1d` package is not installed: the CNN and GRU trained on "
            "random data of MNIST-1D's shapes (4000 x 40 x 1, 10 classes); "
            "throughput does not depend on the values.",
            "",
        ]
    c = results["ceilings"]
    lines += ["### Ceilings (matmul rates, JAX's default precision)", "",
              "| ceiling | GFLOP/s (median, min-max) |", "|---|---|"]  # fmt: skip
    for label, row in c["contenders"].items():
        lines.append(
            f"| {label} | {_fmt(row['gflops_median'], ',.0f')} "
            f"({_fmt(row['gflops_min'], ',.0f')}-{_fmt(row['gflops_max'], ',.0f')}) |"
        )
    for label, why in c["skipped"].items():
        lines.append(f"| {label} | skipped: {why} |")
    lines.append("")
    for key in ("M4096", "M16384", "CNN", "GRU", "T"):
        if key not in results:
            continue
        r = results[key]
        flops = r["flops_per_restart_step"]
        how = "counted from the traced step" if r.get("flops_counted") else "exact"
        m_col = r.get("mlp")
        lines += [
            f"### {r['title']}, {r['steps']} steps",
            "",
            f"{_fmt(flops, ',')} FLOP per restart-step ({how}).",
            "",
            "| contender | restart-steps/s (median, min-max) | time for all N (s) | "
            "GFLOP/s | of fp32 | of bf16 | "
            + ("of M shapes | " if m_col else "")
            + "compile (s) | peak device (MiB) | peak RSS (MiB) |",
            "|---|---|---|---|---|---|" + ("---|" if m_col else "") + "---|---|---|",
        ]  # fmt: skip
        for label, row in r["contenders"].items():
            lines.append(
                f"| {label} | {_rate(row)} | {_time_for_all(row, r['steps'])} | "
                f"{_gflops(row.get('gflops'))} | "
                f"{_pct(row.get('fraction_of_fp32'))} | "
                f"{_pct(row.get('fraction_of_bf16'))} | "
                + (f"{_pct(row.get('fraction_of_m_shapes'))} | " if m_col else "")
                + f"{_fmt(row['compile_s'], '.2f')} | "
                f"{_mib(row.get('peak_device_bytes'))} | "
                f"{_mib(row.get('peak_rss_bytes'))} |"
            )  # fmt: skip
        for label, why in r["skipped"].items():
            lines.append(f"| {label} | skipped: {why} |")
        lines.append("")
        lines += _plans(r["contenders"])
    lines += _targets(results["targets"])
    return "\n".join(lines) + "\n"

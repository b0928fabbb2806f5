"""Reporting: targets, verdicts against them, and the markdown tables."""

from __future__ import annotations

TARGETS = {
    "M vs sequential JAX": 1.5,
    "M vs torch.func": 1.15,
    "M vs PyTorch loop": 3.5,
    "M fraction of matmul ceiling": 0.45,
    "T vs sequential JAX": 100.0,
    "memory N=1024 (GiB)": 1.5,
    "memory N=16384 chunked (GiB)": 4.0,
}


def _verdicts(results: dict) -> list[dict]:
    """Targets against the measured ratios (``None`` where not measured)."""
    out = []
    m = results.get("M", {}).get("contenders", {})
    t = results.get("T", {}).get("contenders", {})
    lead = m.get("initlab (all devices)", {})

    def ratio(rows, a, b):
        if a in rows and b in rows:
            return rows[a]["restart_steps_per_s"] / rows[b]["restart_steps_per_s"]
        return None

    def add(name, value, higher=True):
        goal = TARGETS[name]
        ok = None if value is None else (value >= goal if higher else value < goal)
        out.append({"target": name, "goal": goal, "value": value, "met": ok})

    for other in ("sequential JAX", "torch.func", "PyTorch loop"):
        add(f"M vs {other}", ratio(m, "initlab (all devices)", other))
    add("M fraction of matmul ceiling", lead.get("fraction_of_ceiling"))
    add("T vs sequential JAX", ratio(t, "initlab (all devices)", "sequential JAX"))
    mem = results.get("memory", {})
    gib = 2**30
    for name, prefix in (("memory N=1024 (GiB)", "N=1024"),
                         ("memory N=16384 chunked (GiB)", "N=16384")):  # fmt: skip
        rss = next(
            (v.get("peak_rss_bytes") for k, v in mem.items() if k.startswith(prefix)),
            None,
        )
        add(name, None if rss is None else rss / gib, higher=False)
    return out


def _fmt(x: float | None, spec: str = ".3g") -> str:
    return "-" if x is None else format(x, spec)


def to_markdown(results: dict) -> str:
    """The results as markdown tables (machine, workloads, memory, targets).

    Args:
      results: what :func:`run_benchmark` returned.

    Returns:
      markdown text.
    """
    m = results["machine"]
    v = m["versions"]
    lines = [
        f"Machine: {m['cpu']}, {m['cores']} cores, "
        f"{_fmt((m['memory_bytes'] or 0) / 2**30, '.1f')} GiB; {m['platform']}; "
        f"Python {m['python']}, jax {v.get('jax')}, torch {v.get('torch') or 'absent'}"
        f". Mode `{results['plan']['mode']}`, {results['plan']['reps']} interleaved "
        f"rounds, {results['date']}, {_fmt(results.get('wall_s'), '.0f')} s in all.",
        "",
    ]
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
            rss = _fmt((row["peak_rss_bytes"] or 0) / 2**20, ".0f")
            if row["kind"] == "matmul":
                lines.append(
                    f"| {label} | - | - | {_fmt(row['gflops_median'], '.0f')} "
                    f"({_fmt(row['gflops_min'], '.0f')}-"
                    f"{_fmt(row['gflops_max'], '.0f')}) | 100% | "
                    f"{_fmt(row['compile_s'], '.2f')} | {rss} |"
                )
                continue
            note = ""
            if row["extrapolated"]:
                note = f" (extrapolated from {row['restarts_run']} restarts"
                if row["steps_run"] < r["steps"]:
                    note += f" x {row['steps_run']} steps"
                note += ")"
            frac = row.get("fraction_of_ceiling")
            lines.append(
                f"| {label} | {_fmt(row['restart_steps_per_s'], ',.0f')} "
                f"({_fmt(row['restart_steps_per_s_min'], ',.0f')}-"
                f"{_fmt(row['restart_steps_per_s_max'], ',.0f')}) | "
                f"{_fmt(row['seconds_for_all'], '.1f')}{note} | "
                f"{_fmt(row['gflops'], '.1f')} | "
                f"{'-' if frac is None else format(frac, '.0%')} | "
                f"{_fmt(row['compile_s'], '.2f')} | {rss} |"
            )
        for label, why in r["skipped"].items():
            lines.append(f"| {label} | skipped: {why} | | | | | |")
        lines.append("")
    if "memory" in results:
        lines += ["### Memory: initlab.train on M (peak RSS of the process)", "",
                  "| run | peak RSS (MiB) | wall (s) |", "|---|---|---|"]  # fmt: skip
        for label, row in results["memory"].items():
            rss = row.get("peak_rss_bytes")
            lines.append(
                f"| {label}, {row.get('steps', '?')} steps | "
                f"{_fmt(None if rss is None else rss / 2**20, '.0f')} | "
                f"{_fmt(row.get('wall_s'), '.1f')} |"
            )
        lines.append("")
    lines += ["### Targets", "", "| target | goal | measured | met |",
              "|---|---|---|---|"]  # fmt: skip
    for t in results["targets"]:
        goal = (
            f"< {t['goal']}"
            if "memory" in t["target"]
            else f">= {t['goal']:.0%}"
            if "fraction" in t["target"]
            else f">= {t['goal']}x"
        )
        met = {True: "yes", False: "**no**", None: "not measured"}[t["met"]]
        lines.append(f"| {t['target']} | {goal} | {_fmt(t['value'], '.2f')} | {met} |")
    return "\n".join(lines) + "\n"

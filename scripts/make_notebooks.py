"""Builds the notebooks 01, 02, 04 and 07 from the Python source below.

Usage (from the repository root)::

    .venv/bin/python scripts/make_notebooks.py            # write the .ipynb files
    .venv/bin/python scripts/make_notebooks.py --small    # ... and run them small
    .venv/bin/python scripts/make_notebooks.py --execute 02_restart_distribution

Writing keeps the outputs of an existing notebook whose code cells are unchanged
up to layout (same syntax trees), so a markdown edit needs no re-run; a
notebook whose code changed is written without outputs and must be executed
again. ``--execute`` runs the named
notebooks in full mode (``INITLAB_SMALL`` unset) with nbclient from the
``notebooks/`` folder and saves them with their outputs; ``--small`` runs them
with ``INITLAB_SMALL=1`` and saves nothing.
"""

from __future__ import annotations

import sys

import nbformat
from notebook_builder import FOOTER, code, md, setup_source
from notebook_builder import main as _main

SETUP = setup_source()

NOTEBOOKS: dict[str, list[nbformat.NotebookNode]] = {}


# --------------------------------------------------------------------------
# 01: why not zeros.

NOTEBOOKS["01_why_not_zeros"] = [
    md("""
    # 01 · Why not start from zeros?

    **Claim.** If every hidden unit of a layer starts with the same incoming
    weights, every unit computes the same function, receives the same gradient
    and stays the same as every other unit for ever: the layer is as good as
    one unit wide. All-zero and constant starts therefore never break the
    symmetry between hidden units, and the network stays stuck; small random
    starts break it. The biases need no randomness once the kernels are random:
    zero biases are fine. (And the converse: do random biases rescue zero
    kernels?)

    We measure this with `initlab.train(..., keep_params=True)` and
    `initlab.diagnostics.distinct_units`, which counts the groups of equal
    units (kernel column plus bias, equal within 1e-6) of a layer.
    """),
    code(SETUP),
    md("""
    ## Setup

    * **Task:** scikit-learn digits (8×8 images, 1257 train / 540 test,
      standardised per pixel with the train statistics), 10 classes.
    * **Model:** MLP 64-32-32-10, tanh hidden units, softmax cross-entropy.
    * **Training:** plain SGD, learning rate 0.1, minibatch 128, 500 steps
      (small mode 60), evaluated every 50 steps (small 30).
    * **Restarts:** 32 per start (small mode 4), paired design (restart *i*
      uses init key *i* and data-order key *i* for every start), seed 0.
    * **Starts** (kernels / biases):
      1. zeros / zeros;
      2. constant 0.1 / zeros;
      3. Glorot uniform (Keras's default) / zeros (Keras's default);
      4. zeros / U(−0.1, 0.1);
      5. Glorot uniform / U(−0.1, 0.1).
    """),
    code("""
    RESTARTS = 4 if SMALL else 32
    STEPS = 60 if SMALL else 500
    EVAL_EVERY = 30 if SMALL else 50
    task = initlab.get_task("digits")
    model = initlab.models.mlp((32, 32), 64, 10, "tanh")
    common = dict(model=model, num_restarts=RESTARTS, steps=STEPS, batch_size=128,
                  learning_rate=0.1, eval_every=EVAL_EVERY, seed=0, keep_params=True,
                  progress=False)
    zero_bias = initlab.train(task, {
        "zeros / zeros": initlab.zeros(),
        "constant 0.1 / zeros": initlab.constant(0.1),
        "glorot_uniform / zeros": initlab.glorot_uniform(),
    }, **common)
    random_bias = initlab.train(task, {
        "zeros / U(-0.1, 0.1)": initlab.zeros(),
        "glorot_uniform / U(-0.1, 0.1)": initlab.glorot_uniform(),
    }, bias_init=initlab.random_uniform(-0.1, 0.1), **common)
    out = initlab.Outcomes.concatenate([zero_bias, random_bias])
    LABELS = out.labels
    seconds = zero_bias.metadata["wall_time_s"] + random_bias.metadata["wall_time_s"]
    print(f"{len(out)} restarts trained in {seconds:.0f} s")
    """),
    md("""
    ## Symmetry: distinct hidden units at the start and at the end

    For each restart and hidden layer we count distinct units (of 32) in the
    initial and the final parameters, and measure the *spread*: the largest
    difference between any two units' weights (0 means exactly equal).
    """),
    code("""
    def hidden_layers(params):
        \"\"\"[(kernel, bias), ...] of the hidden layers, restart axis first.\"\"\"
        layers = params["layers"]
        return [(np.asarray(layers[i]["kernel"][...]),
                 np.asarray(layers[i]["bias"][...])) for i in range(len(layers) - 1)]


    count = jax.jit(jax.vmap(initlab.diagnostics.distinct_units))


    def symmetry(params):
        rows = []
        for layer, (kernel, bias) in enumerate(hidden_layers(params)):
            units = np.concatenate([kernel, bias[:, None, :]], axis=1)  # (R, in+1, 32)
            spread = (units.max(-1) - units.min(-1)).max(-1)           # (R,)
            rows.append((layer, np.asarray(count(kernel, bias)), spread))
        return rows


    records = []
    for when in ("init", "final"):
        for part in (zero_bias, random_bias):
            params = part.initial_params if when == "init" else part.final_params
            for layer, n_distinct, spread in symmetry(params):
                for label in part.labels:
                    rows = part.initializer == label
                    records.append(dict(start=label, layer=f"hidden {layer + 1}",
                                        when=when, distinct_min=n_distinct[rows].min(),
                                        distinct_max=n_distinct[rows].max(),
                                        max_spread=spread[rows].max()))
    sym = pd.DataFrame(records)
    table = sym.pivot_table(index=["start", "layer"], columns="when",
                            values=["distinct_min", "distinct_max", "max_spread"],
                            aggfunc="first", sort=False)
    display(table)
    """),
    md("""
    ## Skill: test accuracy after training

    Mean, median and IQM over restarts with 95 % percentile-bootstrap intervals
    (`initlab.stats.summarize`, 2000 resamples). "Chance" is the share of the
    most common class in the test set.
    """),
    code("""
    chance = np.bincount(task.y_test).max() / len(task.y_test)
    rows = []
    for label in LABELS:
        acc = out.values("test_accuracy", label)
        s = initlab.stats.summarize(acc, rng=0)
        loss = out.values("train_loss", label)
        rows.append(dict(start=label, n=s["n"], mean=s["mean"],
                         mean_ci=f"[{s['mean_low']:.3f}, {s['mean_high']:.3f}]",
                         iqm=s["iqm"],
                         iqm_ci=f"[{s['iqm_low']:.3f}, {s['iqm_high']:.3f}]",
                         min=s["min"], max=s["max"],
                         final_train_loss=float(np.median(loss)),
                         diverged=int(out.diverged[out.initializer == label].sum())))
    skill = pd.DataFrame(rows).set_index("start")
    print(f"chance (most common class) = {chance:.3f}")
    display(skill)
    """),
    code("""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    initlab.plots.plot_curves(out, "test_accuracy", ax=axes[0])
    axes[0].axhline(chance, color="grey", ls=":", lw=1)
    axes[0].set_title("test accuracy: median and IQR over restarts")
    initlab.plots.plot_curves(out, "train_loss", ax=axes[1])
    axes[1].set_title("train loss")
    for ax in axes:
        ax.legend(fontsize=7)
    fig.tight_layout()
    plt.show()
    """),
    md("""
    ## Zero kernels with random biases: a plateau, not a dead end

    With random biases the units of zero kernels *are* distinct, yet after
    500 steps that start is still at chance. All kernels are zero, so every
    hidden activation is the same for every input and each kernel's gradient
    is a product of other zero (or input-independent) factors: the start is a
    saddle. We train the same start 10× longer (5000 steps, small mode 120;
    other settings as above) and record when test accuracy first reaches 50 %.
    """),
    code("""
    LONG = 120 if SMALL else 5_000
    escape = initlab.train(task, {"zeros / U(-0.1, 0.1)": initlab.zeros()},
                           bias_init=initlab.random_uniform(-0.1, 0.1), target=0.5,
                           **{**common, "steps": LONG, "keep_params": False,
                              "eval_every": 30 if SMALL else 100})
    reached = escape.steps_to_target >= 0
    print(f"{reached.sum()} of {len(escape)} restarts reached 50% test accuracy "
          f"within {LONG} steps")
    if reached.sum() >= 2:
        steps_hit = escape.steps_to_target[reached].astype(float)
        low, high = initlab.stats.bootstrap_ci(steps_hit, np.median, rng=0)
        print(f"step at which they did: median {np.median(steps_hit):.0f} "
              f"[95% bootstrap {low:.0f}, {high:.0f}], range {steps_hit.min():.0f}"
              f"-{steps_hit.max():.0f}")
    s = initlab.stats.summarize(escape.values("test_accuracy"), rng=0)
    print(f"test accuracy after {LONG} steps: mean {s['mean']:.4f} "
          f"[{s['mean_low']:.4f}, {s['mean_high']:.4f}]")
    fig, ax = initlab.plots.plot_curves(escape, "test_accuracy")
    ax.axhline(chance, color="grey", ls=":", lw=1)
    ax.set_title("zero kernels, random biases: a long plateau")
    plt.show()
    """),
    md("""
    ## Conclusion

    **Zeros and constants never break the symmetry.** Started from all zeros,
    both hidden layers have 1 distinct unit (of 32) at the start and after 500
    steps, with a spread of exactly 0; test accuracy is 0.101 [95 % CI 0.101,
    0.102] over 32 restarts, i.e. chance (0.102), and the train loss stays at
    2.3025 ≈ ln 10: only the output biases learn the class frequencies. A
    constant 0.1 start also keeps 1 distinct unit per layer, so it trains as
    a network one unit wide: 0.204 [0.201, 0.207].

    **Random kernels do, and zero biases are fine.** Glorot-uniform kernels
    give 32 distinct units of 32 at the start and the end, and 0.9655 [0.964,
    0.967] with zero biases against 0.9653 [0.964, 0.967] with biases from
    U(−0.1, 0.1): no difference.

    **Random biases alone are not enough.** Zero kernels with random biases
    have 32 distinct units, but every hidden activation is the same for every
    input. That start is a saddle: still at chance (0.101) after 500 steps.
    Trained 10× longer, all 32 restarts got out. They reached 50 % test
    accuracy at a median step of 3050 [2900, 3350] (range 2200–4100) and
    ended at 0.944 [0.941, 0.947] after 5000 steps. That is still below what
    Glorot reaches in 500.

    **What surprised us.** (1) After 500 SGD steps, the units of the constant
    start are still *bit-for-bit* equal (spread exactly 0.0): float rounding
    does not break the symmetry. XLA computes every column with the same
    operations, so only a real random difference can. (2) Distinct is not
    the same as useful. Biases are enough to make units different, but signal
    does not flow through zero kernels, and the plateau costs about six times
    the whole training budget of a random start. Symmetry breaking is
    necessary, not sufficient. (In the curves, the two Glorot starts and the
    two zero-kernel starts lie on top of each other.)
    """),
    code(FOOTER),
]


# --------------------------------------------------------------------------
# 02: the restart distribution.

NOTEBOOKS["02_restart_distribution"] = [
    md("""
    # 02 · One network, one dataset, many outcomes

    **Claim.** Train the same network on the same data twice from two random
    starts and you get two different models with two different skills. A
    single run is one draw from a distribution; this notebook looks at the
    whole distribution, says what multiple restarts buy (the expected best of
    *k*), and re-measures the classic XOR figure: how often a 2-2-1 sigmoid
    net gets stuck, as a function of the initial weight range.
    """),
    code(SETUP),
    md("""
    ## Part 1 · The distribution over restarts (digits MLP)

    * **Task:** scikit-learn digits, 1257 train / 540 test, standardised.
    * **Model:** MLP 64-64-10, ReLU, softmax cross-entropy.
    * **Init:** Glorot uniform kernels (Keras's default), zero biases.
    * **Training:** SGD, learning rate 0.1, minibatch 128, 500 steps
      (≈ 51 epochs; small mode 40 steps), evaluated every 100 steps.
    * **Restarts:** 512 (small mode 16), paired design: restart *i* has its own
      init key and its own minibatch order (both vary), seed 0.
    """),
    code("""
    RESTARTS = 16 if SMALL else 512
    digits = initlab.get_task("digits")
    dist = initlab.train(digits, {"glorot_uniform": initlab.glorot_uniform()},
                         model=initlab.models.mlp((64,), 64, 10), num_restarts=RESTARTS,
                         steps=40 if SMALL else 500, batch_size=128, learning_rate=0.1,
                         eval_every=20 if SMALL else 100, seed=0, progress=False)
    acc = dist.values("test_accuracy")
    M = len(digits.y_test)
    print(f"{len(dist)} restarts in {dist.metadata['wall_time_s']:.0f} s "
          f"({dist.diverged.sum()} diverged)")
    s = initlab.stats.summarize(acc, rng=0)
    summary = pd.DataFrame({
        "estimate": [s["mean"], s["median"], s["iqm"], s["std"], s["min"], s["max"]],
        "95% low": [s["mean_low"], s["median_low"], s["iqm_low"], np.nan, np.nan,
                    np.nan],
        "95% high": [s["mean_high"], s["median_high"], s["iqm_high"], np.nan, np.nan,
                     np.nan],
    }, index=["mean", "median", "IQM", "std", "worst", "best"])
    display(summary)
    print(f"worst to best restart: {round((s['max'] - s['min']) * M)} of {M} test "
          f"images; std = {s['std'] * M:.1f} images")
    """),
    code("""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    initlab.plots.plot_distributions(dist, "test_accuracy", ax=axes[0])
    axes[0].set_title(f"test accuracy of {len(acc)} restarts")
    initlab.plots.plot_ecdf(dist, "test_accuracy", ax=axes[1])
    axes[1].set_title("empirical CDF")
    fig.tight_layout()
    plt.show()
    """),
    md("""
    ### How much of the spread is skill?

    Jordan (2024): if each test image were an independent coin with its own
    probability of being classified right, the accuracy would vary across
    restarts with std √(Σ p_j (1 − p_j)) / M. An observed/predicted ratio near
    1 says the restarts differ by per-image noise rather than by being better or
    worse models (`initlab.stats.binomial_check`).
    """),
    code("""
    correct = dist.per_example["test_correct"][~dist.diverged]
    check = initlab.stats.binomial_check(correct)
    print({k: round(v, 5) if isinstance(v, float) else v for k, v in check.items()})
    p_img = dist.per_example["test_correct"].mean(0)
    print(f"test images every restart gets right: {np.mean(p_img == 1):.1%}; "
          f"always wrong: {np.mean(p_img == 0):.1%}; in between: "
          f"{np.mean((p_img > 0) & (p_img < 1)):.1%}")
    """),
    md("""
    ### What restarts buy: the expected best of *k*

    `initlab.stats.best_of_k_ci`: the exact expected maximum of *k* draws from
    the empirical distribution, with a bootstrap band (2000 resamples). Picking
    the best restart *by test accuracy* is an oracle that peeks at the test
    set; a user has to pick by something else. The honest curve picks, among
    *k* random restarts, the one with the lowest final **training** loss and
    reports its test accuracy (Monte Carlo, 20 000 draws of *k* per point,
    without replacement).
    """),
    code("""
    ks = [k for k in (1, 2, 4, 8, 16, 32, 64) if k <= len(acc) // 2]
    est, low, high = initlab.stats.best_of_k_ci(acc, ks, rng=0)
    train_loss = dist.values("train_loss")
    rng = np.random.default_rng(0)
    honest = []
    for k in ks:
        draws = np.argsort(rng.random((20_000, len(acc))), axis=1)[:, :k]
        pick = draws[np.arange(len(draws)), np.argmin(train_loss[draws], axis=1)]
        honest.append(acc[pick].mean())
    best = pd.DataFrame({"k": ks, "oracle best (test)": est, "95% low": low,
                         "95% high": high, "picked by train loss": honest})
    display(best)
    fig, ax = initlab.plots.plot_best_of_k(dist, "test_accuracy", ks=ks, rng=0)
    ax.plot(ks, honest, "s--", color="C3", label="picked by lowest train loss")
    ax.legend(fontsize=8)
    plt.show()
    r = np.corrcoef(train_loss, acc)[0, 1]
    print(f"correlation of final train loss with test accuracy: {r:.3f}")
    """),
    md("""
    ## Part 2 · XOR: how often does a 2-2-1 net get stuck?

    The classic figures (DESIGN.md): about **17 %** of restarts stuck for
    weights and biases from U(−1, 1) and about **32 %** for U(−2, 2) after
    10 000 epochs; a colleague measured 14.6 % and 28.4 % with 500 restarts.

    * **Task / model:** the four XOR points; 2-2-1 net with sigmoid hidden
      and output units (`initlab.get_task("xor")`).
    * **Init:** weights **and biases** from U(−a, a) (`bias_init="same"`),
      a ∈ {0.1, 0.25, 0.5, 1, 1.5, 2, 3}.
    * **Loss:** ½ Σ over the 4 examples of (y − t)² (a sum, not a mean).
    * **Training:** full-batch gradient descent (SGD on all 4 points),
      learning rate 0.5, 10 000 epochs; small mode 400 epochs.
    * **Stuck** = after training some output is on the wrong side of 0.5
      (the task's `solved` metric is 0).
    * **Restarts:** 1000 per range (small mode 32), seed 0, restart *i* gets the
      same key for every range (the draws are rescaled versions of each other).
    """),
    code("""
    XOR_RESTARTS = 32 if SMALL else 1_000
    EPOCHS = 400 if SMALL else 10_000
    RANGES = [0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0]
    EARLY = 4      # the 4th evaluation: epoch 2000 (small mode 80)
    xor = initlab.get_task("xor")
    xor_common = dict(num_restarts=XOR_RESTARTS, steps=EPOCHS, batch_size=4,
                      learning_rate=0.5, eval_every=EPOCHS // 20, seed=0,
                      progress=False)


    def uniform_inits(ranges):
        return {f"U(-{a:g}, {a:g})": initlab.random_uniform(-a, a) for a in ranges}


    sweep = initlab.train(xor, uniform_inits(RANGES), bias_init="same", **xor_common)
    print(f"{len(sweep)} XOR restarts in {sweep.metadata['wall_time_s']:.0f} s; "
          f"settings: lr {sweep.metadata['learning_rate']}, batch "
          f"{sweep.metadata['batch_size']} (full), {sweep.metadata['steps']} epochs")


    def stuck_table(out, **extra):
        rows = []
        for label in out.labels:
            solved = out.values("train_solved", label, include_diverged=True)
            stuck = np.nan_to_num(1.0 - solved, nan=1.0)   # diverged counts as stuck
            rate, low, high = initlab.stats.success_rate(stuck, 1.0)
            rows_of = out.initializer == label
            diverged = int(out.diverged[rows_of].sum())
            early = np.nan_to_num(out.curves["train_solved"][rows_of, EARLY], nan=0.0)
            rows.append(dict(init=label, **extra, n=len(stuck), stuck=rate,
                             low=low, high=high, diverged=diverged,
                             **{f"unsolved at {out.steps[EARLY]}": 1 - early.mean()}))
        return pd.DataFrame(rows)


    stuck = stuck_table(sweep, biases="like weights", lr=0.5)
    stuck.insert(1, "a", RANGES)
    display(stuck)
    """),
    code("""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    ax = axes[0]
    ax.errorbar(stuck.a, stuck.stuck, yerr=[stuck.stuck - stuck.low,
                stuck.high - stuck.stuck], fmt="o-", capsize=3,
                label="measured (Wilson 95%)")
    ax.plot([1, 2], [0.17, 0.32], "k*", ms=12, label="classic ~17% / ~32%")
    ax.plot([1, 2], [0.146, 0.284], "kx", ms=8, label="colleague, 500 restarts")
    ax.set(xlabel="init range a: weights and biases ~ U(-a, a)",
           ylabel=f"fraction stuck after {EPOCHS:,} epochs", ylim=(0, None))
    ax.legend(fontsize=8)
    ax = axes[1]
    for i, label in enumerate(sweep.labels):
        rows = sweep.initializer == label
        unsolved = 1 - np.nan_to_num(sweep.curves["train_solved"][rows], nan=0).mean(0)
        ax.plot(sweep.steps, unsolved, color=plt.cm.viridis(i / len(RANGES)),
                label=label)
    ax.set(xlabel="epoch", ylabel="fraction not (yet) solved", ylim=(0, 1.02))
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    plt.show()
    """),
    md("""
    ### The settings matter

    Two changes the classic number is sensitive to, at a = 1 and a = 2 (same
    restarts, epochs and keys; 1000 restarts each, small mode 32):
    **zero biases** (kernels from U(−a, a), biases 0), and the **sum of squares
    without the ½**, which doubles every gradient and is therefore the same
    as learning rate 1.0 on the ½ loss. The last column is the fraction not yet
    solved at epoch 2000. Restart *i* has the same keys in every run, so the
    runs can also be compared restart by restart.
    """),
    code("""
    zero_b = initlab.train(xor, uniform_inits([1.0, 2.0]), **xor_common)
    no_half = initlab.train(xor, uniform_inits([1.0, 2.0]), bias_init="same",
                            **{**xor_common, "learning_rate": 1.0})
    settings = pd.concat([
        stuck[stuck.a.isin([1.0, 2.0])].drop(columns="a"),
        stuck_table(zero_b, biases="zero", lr=0.5),
        stuck_table(no_half, biases="like weights", lr="1.0 (= sum without 1/2)"),
    ], ignore_index=True)
    display(settings.sort_values(["init", "biases"], kind="stable"))


    def stuck_of(out, label):
        rows = out.initializer == label              # restarts 0..n-1, in order
        return np.nan_to_num(1 - out.final["train_solved"][rows], nan=1.0) > 0.5


    # Restart i has the same keys in every run: compare restart by restart.
    for label in ("U(-1, 1)", "U(-2, 2)"):
        ref = stuck_of(sweep, label)
        for name, out in (("zero biases", zero_b), ("lr 1.0", no_half)):
            other = stuck_of(out, label)
            print(f"{label}, baseline vs {name}: stuck in both {np.sum(ref & other)}, "
                  f"only baseline {np.sum(ref & ~other)}, only {name} "
                  f"{np.sum(~ref & other)} (of {len(ref)})")
    """),
    md("""
    ## Conclusion

    **One network, many skills.** 512 restarts of the same 64-64-10 MLP on the
    same digits split end with a mean test accuracy of 0.9712 [95 % bootstrap
    CI 0.9708, 0.9716], median 0.9722 [0.9704, 0.9722] and IQM 0.9713 [0.9709,
    0.9718]. The std is 0.0047, i.e. 2.5 of 540 test images; the worst restart
    scores 0.9556 and the best 0.9833, 15 images apart.

    **Most of that spread is per-image noise, not skill.** The observed std is
    1.04 times the binomial prediction (Jordan 2024). 87.0 % of test images are
    right in every restart, 0.2 % are always wrong, and 12.8 % flip between
    restarts.

    **What restarts buy.** The expected best of k by test accuracy climbs from
    0.9712 (k = 1) to 0.9790 [0.9783, 0.9796] at k = 16 and 0.9813 [0.9802,
    0.9821] at k = 64. That curve selects on the test set. Picking the restart
    with the lowest final train loss instead gives 0.9710 to 0.9716 for every
    k, i.e. nothing (correlation of train loss with test accuracy: −0.06).
    Here more restarts buy a better-looking number, not a better model.

    **XOR: the classic figures hold with their settings** (weights and biases
    from U(−a, a), ½ SSE, full batch, lr 0.5, 10 000 epochs, 1000 restarts
    each). 17.4 % [Wilson 15.2 %, 19.9 %] of restarts are stuck for a = 1 and
    32.7 % [29.9 %, 35.7 %] for a = 2; the classic ~17 % and ~32 % lie inside
    both intervals. The colleague's 14.6 % and 28.4 % (500 restarts) fall just
    below them. With zero biases we measure 14.6 % [12.6 %, 16.9 %] at a = 1,
    the same as the colleague's number, but we cannot tell which settings
    they used. The stuck fraction is U-shaped in a: 95.5 % at a = 0.1,
    25.2 % at 0.25, a minimum of 9.3 % [7.7 %, 11.3 %] at 0.5, then 17.4 %,
    26.6 %, 32.7 % and 42.1 % at a = 1, 1.5, 2 and 3. At a ≤ 0.5, "stuck" mostly
    means "not yet": the fraction unsolved is still falling at epoch 10 000,
    because a near-symmetric start sits on a plateau (as in notebook 01).
    Above a = 1, the curves are flat after about 3000 epochs, so those
    restarts are really stuck.

    **What surprised us.** DESIGN.md warns that zero biases, or the sum
    without the ½, "give very different rates". After 10 000 epochs they do
    not. Doubling the gradient gives 17.2 % and 32.4 % (vs 17.4 % and 32.7 %),
    and at a = 1 the same restarts get stuck: 171 in both runs, 3 only at lr 0.5
    and 1 only at lr 1.0. Whether a start gets stuck is a property of the start;
    the learning rate only changes how fast the others finish (unsolved at epoch
    2000: 18.6 % vs 23.8 %). Zero biases change *which* restarts get stuck
    (at a = 1, only 64 are stuck in both runs; 110 only with random biases and 82
    only with zero biases), yet the rate barely moves: 14.6 % vs 17.4 % at
    a = 1 and 31.9 % vs 32.7 % at a = 2. The settings matter for any single
    restart, much less for the rate. And in Part 1, choosing the best of
    many restarts was an illusion.
    """),
    code(FOOTER),
]


# --------------------------------------------------------------------------
# 04: reproducibility and the sources of randomness.

NOTEBOOKS["04_reproducibility_and_sources"] = [
    md("""
    # 04 · Reproducibility, and where the randomness comes from

    **Claims.**
    1. A fixed seed gives bit-identical initial weights, final weights and
       outcomes, run after run.
    2. Training many restarts at once (vmapped) gives the same restarts as
       training each one alone, up to float rounding.
    3. SGD has two sources of randomness, the initial weights and the order of
       the minibatches. Summers & Dinneen (2021) found that **each source alone
       produces about the same spread** of outcomes as both together. Does it
       hold here?
    4. Summers & Dinneen's explanation: training is so unstable that a change
       of one unit in the last place (one ulp, ~1e-8 relative) in **one**
       initial weight grows until the two runs are as different as two
       unrelated restarts. Does it here?
    """),
    code(SETUP),
    md("""
    ## Setup (all parts)

    * **Task:** scikit-learn digits (1257 train / 540 test, standardised).
    * **Model:** MLP 64-32-10, ReLU, softmax cross-entropy.
    * **Init:** Glorot uniform kernels, zero biases.
    * **Training:** SGD, learning rate 0.1, minibatch **64** (a new random
      order every epoch from the restart's data key), 300 steps
      (≈ 15 epochs; small mode 40), evaluated every 100 steps (small 20).
    * **Keys:** restart *i* draws its weights with
      `fold_in(fold_in(key(seed), 0), init_seed_i)` and its minibatch order with
      `fold_in(fold_in(key(seed), 1), data_seed_i)`; the design decides the
      seeds. Seed 0 unless stated.
    """),
    code("""
    STEPS = 40 if SMALL else 300
    EVAL_EVERY = 20 if SMALL else 100
    task = initlab.get_task("digits")
    model = initlab.models.mlp((32,), 64, 10)
    common = dict(model=model, steps=STEPS, batch_size=64, learning_rate=0.1,
                  eval_every=EVAL_EVERY, progress=False)
    GLOROT = {"glorot_uniform": initlab.glorot_uniform()}


    def leaves(tree):
        return [np.asarray(x) for x in jax.tree.leaves(tree)]


    def identical(a, b):
        \"\"\"Every array of two Outcomes (curves, params) equal bit for bit.\"\"\"
        same = [np.array_equal(a.curves[k], b.curves[k], equal_nan=True)
                for k in a.curves]
        same += [np.array_equal(x, y) for x, y in zip(leaves(a.initial_params),
                                                    leaves(b.initial_params))]
        same += [np.array_equal(x, y) for x, y in zip(leaves(a.final_params),
                                                    leaves(b.final_params))]
        return all(same)
    """),
    md("""
    ## 1 · Same seed, same bits

    Two runs of 8 restarts (small mode 4) with seed 0, and one with seed 1.
    """),
    code("""
    N_REPRO = 4 if SMALL else 8
    run_a = initlab.train(task, GLOROT, num_restarts=N_REPRO, seed=0, keep_params=True,
                          **common)
    run_b = initlab.train(task, GLOROT, num_restarts=N_REPRO, seed=0, keep_params=True,
                          **common)
    run_c = initlab.train(task, GLOROT, num_restarts=N_REPRO, seed=1, keep_params=True,
                          **common)
    print("seed 0 vs seed 0: bit-identical weights (initial and final) and curves:",
          identical(run_a, run_b))
    print("  tidy tables equal:", run_a.to_dataframe().equals(run_b.to_dataframe()))
    print("seed 0 vs seed 1: bit-identical:", identical(run_a, run_c))
    print("final test accuracy, seed 0:", run_a.final["test_accuracy"].round(4))
    print("final test accuracy, seed 1:", run_c.final["test_accuracy"].round(4))
    """),
    md("""
    ## 2 · Vmapped together = trained alone

    Restart *i* of the vmapped run above against restart *i* trained on its
    own (`first_restart=i, num_restarts=1`: same keys, a batch of one). Its
    keys do not depend on how many restarts run together, so the initial
    weights must be bit-identical; after training, XLA may have reordered sums
    differently for a different batch shape, so we allow a float tolerance
    (`np.allclose`, rtol 1e-5, atol 1e-6) and report the largest difference.
    """),
    code("""
    N_ALONE = 1 if SMALL else 4
    rows = []
    for i in range(N_ALONE):
        alone = initlab.train(task, GLOROT, num_restarts=1, first_restart=i, seed=0,
                              keep_params=True, **common)
        init_same = all(np.array_equal(x[i], y[0]) for x, y in
                        zip(leaves(run_a.initial_params), leaves(alone.initial_params)))
        final_diff = max(np.max(np.abs(x[i] - y[0])) for x, y in
                         zip(leaves(run_a.final_params), leaves(alone.final_params)))
        close = all(np.allclose(x[i], y[0], rtol=1e-5, atol=1e-6) for x, y in
                    zip(leaves(run_a.final_params), leaves(alone.final_params)))
        metric_diff = max(abs(run_a.final[k][i] - alone.final[k][0])
                          for k in alone.final)
        bits = all(np.array_equal(x[i], y[0]) for x, y in
                   zip(leaves(run_a.final_params), leaves(alone.final_params)))
        rows.append(dict(restart=i, initial_bit_identical=init_same,
                         final_bit_identical=bits, final_allclose=close,
                         max_abs_param_diff=final_diff,
                         max_abs_metric_diff=metric_diff))
    display(pd.DataFrame(rows))
    """),
    md("""
    ## 3 · Two sources of randomness

    * **fixed_data:** only the init varies (init seed *i*, data order 0);
    * **fixed_init:** only the data order varies (init seed 0, data order *i*);
    * **paired:** both vary (init *i*, data order *i*).

    64 restarts each (small mode 6), trained **1200 steps** (≈ 61 epochs;
    small mode 60) and evaluated every 100, so we can watch the spread as
    training goes on. Intervals for the std: 95 % percentile bootstrap over
    restarts (2000 resamples).

    And a **grid** of 16 inits × 16 data orders at the standard 300 steps
    (small mode 3 × 3): restart *r* has init seed r // 16 and data order
    r % 16, so each init meets every data order. A two-way random-effects
    ANOVA (`initlab.stats.variance_components`) splits its variance into init,
    data order and interaction + residual, with a two-way (rows and columns)
    bootstrap.

    Outcomes: final test accuracy and final test loss.
    """),
    code("""
    N_DESIGN = 6 if SMALL else 64
    LONG = 60 if SMALL else 1_200
    G = 3 if SMALL else 16
    long_args = {**common, "steps": LONG, "eval_every": 20 if SMALL else 100}
    designs = {d: initlab.train(task, GLOROT, num_restarts=N_DESIGN, design=d, seed=0,
                                **long_args)
               for d in ("fixed_data", "fixed_init", "paired")}
    grid = initlab.train(task, GLOROT, num_restarts=G * G, design="grid", grid_data=G,
                         seed=0, **common)
    assert (grid.init_seed == np.arange(G * G) // G).all()


    def sd(a, axis=-1):
        return np.std(a, axis=axis, ddof=1)


    rows = []
    for metric in ("test_accuracy", "test_loss"):
        for design, out in designs.items():
            for j, step in enumerate(out.steps):
                if step == 0:
                    continue                   # fixed_init has no spread at step 0
                v = out.curves[metric][~out.diverged, j]
                low, high = initlab.stats.bootstrap_ci(v, sd, rng=0)
                rows.append(dict(metric=metric, design=design, step=step, n=len(v),
                                 mean=v.mean(), std=sd(v), std_low=low, std_high=high))
    spread = pd.DataFrame(rows)
    display(spread[spread.step.isin([STEPS, LONG])].set_index(["metric", "step",
                                                               "design"]))
    last = spread[spread.step == LONG].set_index(["metric", "design"])["std"]
    for metric in ("test_accuracy", "test_loss"):
        print(f"{metric} after {LONG} steps: std(only init) / std(only data order) = "
              f"{last[metric, 'fixed_data'] / last[metric, 'fixed_init']:.2f}")
    """),
    code("""
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
    for ax, metric in zip(axes[:2], ("test_accuracy", "test_loss")):
        for i, (design, part) in enumerate(spread[spread.metric == metric]
                                           .groupby("design", sort=False)):
            ax.plot(part.step, part["std"], "o-", ms=3, color=f"C{i}", label=design)
            ax.fill_between(part.step, part.std_low, part.std_high, color=f"C{i}",
                            alpha=0.2)
        ax.axvline(STEPS, color="grey", ls=":", lw=1)
        ax.set(title=f"std of {metric} over restarts (95% bootstrap)",
               xlabel="SGD step", ylabel="std", ylim=(0, None))
        ax.legend(fontsize=8)
    vc_rows = []
    for metric in ("test_accuracy", "test_loss"):
        values = grid.final[metric].reshape(G, G)      # (init seed, data order)
        vc = initlab.stats.variance_components(values, rng=0)
        for name, share, lo, hi, var in zip(vc["components"], vc["share"],
                                            vc["share_low"], vc["share_high"],
                                            vc["variance"]):
            vc_rows.append(dict(metric=metric, component=name, variance=var,
                                share=share, share_low=lo, share_high=hi))
        if metric == "test_accuracy":
            initlab.plots.plot_variance_components(vc, ax=axes[2])
            axes[2].set_title(f"grid {G}×{G}, {STEPS} steps: test accuracy")
    fig.tight_layout()
    plt.show()
    components = pd.DataFrame(vc_rows)
    display(components)
    """),
    md("""
    ## 4 · One ulp in one weight

    Two models identical to the one above except that their init function
    moves **one** first-layer kernel entry to the next float32 towards +∞
    (`jnp.nextafter`): a `PureModel` wrapping the MLP's init. Entry [28, 0]
    connects a central pixel to hidden unit 0; entry [0, 0] connects the
    top-left pixel, which is blank (exactly 0 after standardisation) in every
    digits image. Each twin trains with the same keys as the base model (32
    restarts, small mode 4, paired design, **1200 steps**, evaluated every 20),
    so
    the pair differs in one weight by one ulp at step 0. We follow
    |Δ train loss| between the twins over training and, at the end, the
    share of test images on which they disagree about correctness; for
    scale, the same for two *unrelated* restarts (restarts *i* and *i* + 1).
    """),
    code("""
    N_TWINS = 4 if SMALL else 32
    PIXEL = 28


    def nudged_model(pixel):
        def init(key, kernel_init=None, bias_init=None):
            params = model.init(key, kernel_init, bias_init)

            def nudge(path, leaf):
                if jax.tree_util.keystr(path).startswith("['layers'][0]['kernel']"):
                    return leaf.at[pixel, 0].set(jnp.nextafter(leaf[pixel, 0], jnp.inf))
                return leaf

            return jax.tree_util.tree_map_with_path(nudge, params)

        return initlab.PureModel(f"mlp-64-32-10-nudged-{pixel}", init, model.apply)


    TWIN_STEPS = 40 if SMALL else 1_200
    twin_args = {**common, "steps": TWIN_STEPS, "eval_every": 5 if SMALL else 20}
    base = initlab.train(task, GLOROT, num_restarts=N_TWINS, seed=0, keep_params=True,
                         **twin_args)
    twins = {p: initlab.train(task, GLOROT, num_restarts=N_TWINS, seed=0,
                              keep_params=True,
                              **{**twin_args, "model": nudged_model(p)})
             for p in (PIXEL, 0)}
    gaps = {}
    for pixel, twin in twins.items():
        n_diff = sum(int(np.sum(x != y)) for x, y in zip(leaves(base.initial_params),
                                                       leaves(twin.initial_params)))
        change = np.abs(leaves(twin.initial_params)[1][:, pixel, 0]
                        - leaves(base.initial_params)[1][:, pixel, 0])
        gaps[pixel] = np.abs(twin.curves["train_loss"] - base.curves["train_loss"])
        flips = np.mean(twin.per_example["test_correct"]
                        != base.per_example["test_correct"], axis=1)
        low, high = initlab.stats.bootstrap_ci(flips, np.mean, rng=0)
        final_w = max(np.max(np.abs(x - y)) for x, y in zip(leaves(base.final_params),
                                                           leaves(twin.final_params)))
        print(f"entry [{pixel}, 0]: {n_diff} initial weights differ over {N_TWINS} "
              f"pairs, by {change.min():.1e} to {change.max():.1e}; after {TWIN_STEPS} "
              f"steps: max |Δ weight| {final_w:.1e}, median |Δ train loss| "
              f"{np.median(gaps[pixel][:, -1]):.1e}, twins disagree on "
              f"{flips.mean():.2%} [95% {low:.2%}, {high:.2%}] of test images")
    unrelated = np.abs(np.roll(base.curves["train_loss"], 1, axis=0)
                       - base.curves["train_loss"])
    other = np.mean(np.roll(base.per_example["test_correct"], 1, axis=0)
                    != base.per_example["test_correct"], axis=1)
    low, high = initlab.stats.bootstrap_ci(other, np.mean, rng=0)
    print(f"unrelated restarts: median |Δ train loss| "
          f"{np.median(unrelated[:, -1]):.1e}, disagree on {other.mean():.2%} "
          f"[95% {low:.2%}, {high:.2%}] of test images")
    """),
    code("""
    fig, ax = plt.subplots()
    for data, name, color in ((gaps[PIXEL], f"twins: entry [{PIXEL}, 0] one ulp apart",
                               "C0"),
                              (unrelated, "unrelated restarts", "C1")):
        data = np.maximum(data, 1e-10)      # identical values -> 1e-10 on a log axis
        q25, q50, q75 = np.percentile(data, [25, 50, 75], axis=0)
        ax.plot(base.steps, q50, color=color, label=f"{name} (median, IQR)")
        ax.fill_between(base.steps, q25, q75, color=color, alpha=0.2)
    ax.set(yscale="log", xlabel="SGD step", ylabel="|Δ train loss| (floor 1e-10)",
           title="How far apart do one-ulp twins drift?")
    ax.legend()
    plt.show()
    """),
    md("""
    ## Conclusion

    **1. Same seed, same bits.** Two runs of 8 restarts with seed 0 have
    bit-identical initial weights, final weights, learning curves and tidy
    tables (`np.array_equal`); seed 1 gives different ones.

    **2. Vmapped = alone, within float tolerance.** Restarts 0 to 3 trained
    alone (`first_restart=i, num_restarts=1`) start from bit-identical weights.
    After 300 steps they are not bit-identical to the same restarts trained
    together, but they pass `np.allclose` (rtol 1e-5, atol 1e-6): the largest
    weight difference is 1.2e-7 to 3.0e-7, and the final metrics differ by at
    most 3e-8. The reason is that a different batch shape lets XLA order sums
    differently.

    **3. Here the init dominates; Summers & Dinneen's "about the same spread"
    does not hold.** After 1200 steps, the std of test accuracy over 64
    restarts is 0.0045 [95 % CI 0.0038, 0.0050] with only the init varying,
    0.0013 [0.0012, 0.0015] with only the data order varying, and 0.0049
    [0.0042, 0.0055] with both: a ratio of 3.4. For test loss the three are
    0.0220 [0.0188, 0.0246], 0.0029 [0.0027, 0.0032] and 0.0217 [0.0186,
    0.0243]: a ratio of 7.5. The 16 × 16 grid (300 steps) agrees. The init
    explains 0.89 [0.80, 0.93] of the test-accuracy variance, the data order
    0.005 [0, 0.037], and interaction + residual 0.11 [0.06, 0.18]. For test
    loss the init share is 0.99 [0.97, 0.99]. Varying both sources gives the
    same spread as varying the init alone. The data-order spread grows slowly
    with training (test-loss std 0.0012 at step 300, 0.0029 at step 1200) but
    stays far below the init's.

    **4. One ulp stays one ulp (almost).** Twins that differ by one ulp in
    kernel entry [28, 0] are still twins after 1200 steps. Their largest
    weight difference is 6e-6, the median |Δ train loss| is 1.9e-9, and they
    disagree on 0.00 % [0, 0] of test images. Two unrelated restarts differ
    by 1e-3 in loss and disagree on 2.31 % [2.08 %, 2.55 %] of test images.

    **What surprised us.** (1) We expected chaos and found stability. This
    small MLP, trained with plain SGD (no batch norm, no augmentation, 61
    epochs), amplifies a 1e-8 perturbation only to ~1e-6. That is also why the
    data order matters so little here, and why the vmapped and one-at-a-time
    runs agree to 1e-7. Summers & Dinneen trained ResNets on CIFAR-10 for much
    longer, so do not read this as a contradiction in general. Read it as a
    reason to measure the split in your own setting, which the grid design
    makes cheap. (2) Our first one-ulp experiment nudged entry [0, 0] and
    nothing happened at all. That weight connects the top-left pixel, which
    is blank in every digits image, so it never receives a gradient and never
    touches the output; it is still exactly one ulp off after 1200 steps.
    """),
    code(FOOTER),
]


# --------------------------------------------------------------------------
# 07: restarts beyond SGD.

NOTEBOOKS["07_stochastic_search"] = [
    md("""
    # 07 · Restarts beyond SGD: hill climbing and annealing on a rugged landscape

    **Claim.** Random restarts are not a deep-learning trick: they are the
    oldest remedy for local optima in any local search. If one run finds the
    global optimum with probability *p*, and runs are independent, then at
    least one of *k* restarts finds it with probability **1 − (1 − p)^k**.
    Simulated annealing is the other classic remedy: one long run that is
    allowed to go downhill early on.

    We test both on a landscape small enough to enumerate, so that the global
    optimum, every local optimum and the exact *p* of a hill climber are known,
    and the searches themselves only ever call the fitness function.
    """),
    code(setup_source(devices="    pass  # one device: nothing here is sharded")),
    md("""
    ## Setup

    * **Landscape:** an NK landscape (Kauffman & Levin 1987; Kauffman 1993).
      A genome is *N* bits; locus *i* contributes a value looked up in its own
      table of 2^(K+1) numbers drawn from U(0, 1), indexed by its own bit and
      the bits of *K* other loci chosen at random; fitness is the mean of the
      *N* contributions. *K* sets the ruggedness (K = 0: one smooth peak;
      K = N − 1: a random landscape). Full mode **N = 18, K = 5** (262 144
      genomes), small mode N = 10, K = 3. Landscape key `jax.random.key(0)`.
    * **Neighbourhood:** flip one bit (*N* neighbours). A local optimum is a
      genome no neighbour beats.
    * **Hill climbing:** steepest ascent: evaluate all *N* neighbours, move to
      the best if it is better, stop when none is. Start uniform at random.
      Cost = 1 + N evaluations per iteration (the last iteration finds nothing).
    * **Simulated annealing** (Kirkpatrick et al. 1983): propose a random
      one-bit flip, accept with probability min(1, exp(Δf / T)); T falls
      geometrically from T0 = 0.05 to T1 = 0.001 over L steps; the result is the
      best genome seen. Cost = L + 1 evaluations.
    * **Restarts** are vmapped over keys `fold_in(key(seed), i)`; success =
      the run's result is the global optimum (same genome).
    """),
    code("""
    N, K = (10, 3) if SMALL else (18, 5)
    N_CLIMBS = 2_048 if SMALL else 32_768       # independent hill climbs
    N_ANNEAL = 256 if SMALL else 2_048          # annealing runs per length
    LENGTHS = [100, 1_000] if SMALL else [300, 1_000, 3_000, 10_000]
    T0, T1 = 0.05, 0.001


    def make_nk(key, n, k):
        \"\"\"Neighbours (n, k+1), own locus first, and tables (n, 2^(k+1)).\"\"\"
        k_nbrs, k_tab = jax.random.split(key)

        def others(key, i):
            pool = jnp.delete(jnp.arange(n), i, assume_unique_indices=True)
            return jax.random.choice(key, pool, (k,), replace=False)

        picked = jax.vmap(others)(jax.random.split(k_nbrs, n), jnp.arange(n))
        nbrs = jnp.concatenate([jnp.arange(n)[:, None], picked], axis=1)
        return nbrs, jax.random.uniform(k_tab, (n, 2 ** (k + 1)))


    NBRS, TABLES = make_nk(jax.random.key(0), N, K)
    PLACE = 2 ** jnp.arange(K + 1)


    def fitness(bits):
        \"\"\"bits (N,) int32 in {0, 1} -> mean of the N locus contributions.\"\"\"
        idx = jnp.sum(bits[NBRS] * PLACE, axis=-1)
        return jnp.mean(TABLES[jnp.arange(N), idx])


    def to_bits(i):
        return (i[..., None] >> jnp.arange(N)) & 1


    def to_int(bits):
        return jnp.sum(bits << jnp.arange(N), axis=-1)


    # Ground truth by enumeration (the searches below never see this table).
    every = jnp.arange(2**N)
    F = jax.jit(jax.vmap(lambda i: fitness(to_bits(i))))(every)
    FLIPS = 1 << jnp.arange(N)
    GLOBAL = int(jnp.argmax(F))
    neighbour_f = F[every[:, None] ^ FLIPS]                  # (2^N, N)
    local_optima = np.asarray(jnp.all(F[:, None] > neighbour_f, axis=1))
    print(f"N={N}, K={K}: {2**N:,} genomes, {local_optima.sum():,} local optima; "
          f"global optimum f={float(F[GLOBAL]):.4f} (genome {GLOBAL:0{N}b}), "
          f"median f={float(jnp.median(F)):.4f}")
    lo_f = np.sort(np.asarray(F)[local_optima])[::-1]
    print("fitness of the 5 best local optima:", np.round(lo_f[:5], 4))
    """),
    md("""
    ### The exact success probability of one hill climb

    Steepest ascent is deterministic given its start, so *p* is the fraction
    of the 2^N starts whose climb ends at the global optimum (the size of its
    basin of attraction). We climb from every genome at once on the enumerated
    table.
    """),
    code("""
    @jax.jit
    def climb_table(start):
        \"\"\"Steepest ascent on the enumerated table from each start (ints).\"\"\"

        def body(state):
            s, _ = state
            nf = F[s[:, None] ^ FLIPS]
            j = jnp.argmax(nf, axis=1)
            better = nf[jnp.arange(s.size), j] > F[s]
            return jnp.where(better, s ^ FLIPS[j], s), jnp.any(better)

        return jax.lax.while_loop(lambda st: st[1], body, (start, True))[0]


    ends = np.asarray(climb_table(every))
    P_EXACT = float(np.mean(ends == GLOBAL))
    basins = pd.Series(ends).value_counts()
    print(f"p = P(one climb from a uniform start ends at the global optimum) "
          f"= {P_EXACT:.5f} ({int(P_EXACT * 2**N):,} of {2**N:,} starts)")
    print(f"the global optimum's basin ranks #{basins.index.get_loc(GLOBAL) + 1} "
          f"of {len(basins):,} basins by size; the largest holds "
          f"{basins.iloc[0] / 2**N:.4f} of the starts")
    """),
    md("""
    ## Random-restart hill climbing, vmapped over seeds

    Each climb uses only `fitness`; `N_CLIMBS` of them run in one `jit(vmap)`.
    """),
    code("""
    def climb(key):
        \"\"\"One steepest-ascent climb from a random start.

        Returns (start genome as int, end genome bits, end fitness, evaluations).
        \"\"\"
        bits = jax.random.bernoulli(key, 0.5, (N,)).astype(jnp.int32)
        flip = jnp.eye(N, dtype=jnp.int32)

        def body(state):
            bits, f, evals, _ = state
            neighbours = jnp.abs(bits[None, :] - flip)      # (N, N): one flip each
            nf = jax.vmap(fitness)(neighbours)
            j = jnp.argmax(nf)
            better = nf[j] > f
            return (jnp.where(better, neighbours[j], bits), jnp.maximum(f, nf[j]),
                    evals + N, better)

        state = (bits, fitness(bits), jnp.int32(1), jnp.bool_(True))
        end, f, evals, _ = jax.lax.while_loop(lambda s: s[3], body, state)
        return to_int(bits), end, f, evals


    keys = jax.vmap(jax.random.fold_in, (None, 0))(jax.random.key(1),
                                                   jnp.arange(N_CLIMBS))
    t = time.perf_counter()
    starts, end_bits, end_f, evals = jax.jit(jax.vmap(climb))(keys)
    end_int = np.asarray(to_int(end_bits))
    print(f"{N_CLIMBS:,} climbs in {time.perf_counter() - t:.1f} s; "
          f"{np.mean(np.asarray(evals)):.0f} evaluations per climb on average")
    # The function-based climbs end where the table-based climbs end.
    agree = np.mean(end_int == ends[np.asarray(starts)])
    print(f"same end as the enumerated climb from the same start: {agree:.4%}")
    hits = end_int == GLOBAL
    p_hat, p_lo, p_hi = initlab.stats.success_rate(hits.astype(float), 1.0)
    print(f"empirical p = {p_hat:.4f} [95% Wilson {p_lo:.4f}, {p_hi:.4f}] "
          f"vs exact {P_EXACT:.4f}")
    """),
    md("""
    ### Does 1 − (1 − p)^k hold?

    Split the climbs into disjoint groups of *k*; a group succeeds when any of
    its climbs found the global optimum. Each group is one "experiment with *k*
    restarts", so the observed fraction gets a Wilson interval. The prediction
    uses the exact *p* (line) and the empirical *p*'s interval (band).
    """),
    code("""
    ks = [1, 2, 4, 8, 16, 32, 64, 128] if SMALL else [1, 2, 4, 8, 16, 32, 64, 128,
                                                      256]
    rows = []
    for k in ks:
        groups = hits[: (N_CLIMBS // k) * k].reshape(-1, k).any(axis=1)
        rate, low, high = initlab.stats.success_rate(groups.astype(float), 1.0)
        rows.append(dict(k=k, groups=groups.size, observed=rate, low=low, high=high,
                         predicted=1 - (1 - P_EXACT) ** k,
                         pred_low=1 - (1 - p_lo) ** k, pred_high=1 - (1 - p_hi) ** k))
    restarts = pd.DataFrame(rows)
    display(restarts)
    k95 = int(np.ceil(np.log(0.05) / np.log(1 - P_EXACT)))
    print(f"restarts needed for a 95% chance: k = {k95} "
          f"(~{k95 * np.mean(np.asarray(evals)):,.0f} evaluations, "
          f"{k95 * np.mean(np.asarray(evals)) / 2**N:.1%} of the whole space)")

    fig, ax = plt.subplots()
    kk = np.logspace(0, np.log10(ks[-1]), 200)
    ax.plot(kk, 1 - (1 - P_EXACT) ** kk, color="k", lw=1,
            label="1 − (1 − p)^k, exact p")
    ax.fill_between(kk, 1 - (1 - p_lo) ** kk, 1 - (1 - p_hi) ** kk, color="k",
                    alpha=0.15, label="same, p's 95% interval")
    ax.errorbar(restarts.k, restarts.observed,
                yerr=[restarts.observed - restarts.low,
                      restarts.high - restarts.observed],
                fmt="o", color="C0", capsize=3, label="observed (Wilson 95%)")
    ax.set(xscale="log", xlabel="restarts k", ylabel="P(global optimum found)",
           title=f"Random-restart hill climbing, NK N={N} K={K}")
    ax.legend(loc="upper left")
    plt.show()
    """),
    md("""
    ## Simulated annealing, vmapped over seeds

    `N_ANNEAL` runs per length *L*, one `jit(vmap(lax.scan))` per length.
    """),
    code("""
    def anneal(key, length):
        \"\"\"One annealing run of `length` proposals: the best genome seen.\"\"\"
        k_start, k_run = jax.random.split(key)
        bits = jax.random.bernoulli(k_start, 0.5, (N,)).astype(jnp.int32)
        temps = T0 * (T1 / T0) ** (jnp.arange(length) / max(length - 1, 1))
        f = fitness(bits)

        def step(state, inputs):
            bits, f, best, best_f = state
            temp, key = inputs
            k_flip, k_acc = jax.random.split(key)
            j = jax.random.randint(k_flip, (), 0, N)
            cand = bits.at[j].set(1 - bits[j])
            cf = fitness(cand)
            accept = jax.random.uniform(k_acc) < jnp.exp((cf - f) / temp)
            bits, f = jnp.where(accept, cand, bits), jnp.where(accept, cf, f)
            improved = f > best_f
            return (bits, f, jnp.where(improved, bits, best),
                    jnp.maximum(f, best_f)), None

        run_keys = jax.random.split(k_run, length)
        (_, _, best, best_f), _ = jax.lax.scan(step, (bits, f, bits, f),
                                               (temps, run_keys))
        return to_int(best), best_f


    sa_rows = {}
    for length in LENGTHS:
        keys = jax.vmap(jax.random.fold_in, (None, 0))(jax.random.key(2 + length),
                                                       jnp.arange(N_ANNEAL))
        t = time.perf_counter()
        best, best_f = jax.jit(jax.vmap(lambda k, L=length: anneal(k, L)))(keys)
        found = np.asarray(best) == GLOBAL
        rate, low, high = initlab.stats.success_rate(found.astype(float), 1.0)
        sa_rows[length] = dict(L=length, evaluations=length + 1, p=rate, low=low,
                               high=high, median_best_f=float(np.median(best_f)),
                               seconds=time.perf_counter() - t)
    anneal_table = pd.DataFrame(sa_rows.values())
    mean_climb = float(np.mean(np.asarray(evals)))
    anneal_table["climbs_same_budget"] = anneal_table.evaluations / mean_climb
    anneal_table["p_restarted_climbing_same_budget"] = 1 - (1 - P_EXACT) ** (
        anneal_table.evaluations / mean_climb)
    display(anneal_table)
    """),
    md("""
    ### Equal budgets: restarted climbing vs annealing

    The fair comparison counts fitness evaluations. Restarted hill climbing
    with *k* climbs costs about *k* × (mean evaluations per climb); *k* annealing
    runs of length *L* cost *k* (L + 1). Points are single annealing runs with
    Wilson intervals; dashed lines restart them (1 − (1 − p_L)^k).
    """),
    code("""
    fig, ax = plt.subplots()
    budget = np.logspace(np.log10(mean_climb), np.log10(2**N), 200)
    ax.plot(budget, 1 - (1 - P_EXACT) ** (budget / mean_climb), color="k",
            label="restarted hill climbing (exact p)")
    for i, row in enumerate(anneal_table.itertuples()):
        color = f"C{i + 1}"
        ax.errorbar(row.evaluations, row.p, yerr=[[row.p - row.low],
                    [row.high - row.p]], fmt="o", color=color, capsize=3,
                    label=f"annealing L={row.L:,}")
        b = budget[budget >= row.evaluations]
        ax.plot(b, 1 - (1 - row.p) ** (b / row.evaluations), "--", color=color, lw=1)
    ax.axvline(2**N, color="grey", lw=0.8, ls=":")
    ax.text(2**N, 0.02, " 2^N", color="grey", ha="right")
    ax.set(xscale="log", xlabel="fitness evaluations", ylim=(0, 1.02),
           ylabel="P(global optimum found)", title="Equal budgets")
    ax.legend(fontsize=8, loc="upper left")
    plt.show()
    """),
    md("""
    ## Conclusion

    **1 − (1 − p)^k holds.** On this NK landscape (N = 18, K = 5: 433 local
    optima among 262 144 genomes), a steepest-ascent climb from a random start
    reaches the global optimum with exact probability p = 0.0269 (7062
    starts). The 32 768 vmapped climbs, which only called the fitness function,
    ended exactly where the enumeration predicted for 100 % of starts. They
    found the optimum in 2.82 % [95 % Wilson 2.65 %, 3.01 %] of climbs. For
    every k from 1 to 256, the prediction 1 − (1 − p)^k lies inside the Wilson
    interval of the observed success rate of disjoint groups of k climbs (e.g.
    k = 32: observed 0.606 [0.575, 0.635], predicted 0.583). Reaching 95 %
    takes k = 110 restarts, about 10 600 evaluations, or 4 % of the whole
    space.

    **Annealing lost to restarts at every budget.** One annealing run found the
    optimum in 6.6 % [5.6, 7.8] of runs with L = 300 steps, 12.9 % [11.5, 14.4]
    with 1000, 24.7 % [22.8, 26.6] with 3000 and 51.6 % [49.5, 53.8] with
    10 000. Restarted hill climbing with the same number of evaluations reaches
    8.2 %, 24.7 %, 57.2 % and 94.1 %. At a fixed budget, restarting short
    annealing runs also beat running one long one.

    **What surprised us.** (1) The global optimum's basin is only the 3rd
    largest, and two other local optima lie within 0.001 of its fitness
    (0.7905 vs 0.7900 and 0.7895). By fitness the searches do much better than
    the strict "same genome" criterion says: the median best fitness of the
    3000-step annealing runs is 0.7895. (2) The textbook remedy, annealing,
    was the worse use of evaluations here. We did not tune its schedule (one
    geometric schedule, T from 0.05 to 0.001), so read this as "restarts are a
    strong baseline", not "annealing is bad".
    """),
    code(FOOTER),
]


# --------------------------------------------------------------------------
# Building and executing: notebook_builder.


def main(argv: list[str] | None = None) -> int:
    return _main(NOTEBOOKS, __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())

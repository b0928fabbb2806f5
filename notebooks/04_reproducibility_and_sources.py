# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 04 · Reproducibility, and where the randomness comes from
#
# **Claims.**
# 1. A fixed seed gives bit-identical initial weights, final weights and
#    outcomes, run after run.
# 2. Training many restarts at once (vmapped) gives the same restarts as
#    training each one alone, up to float rounding.
# 3. SGD has two sources of randomness, the initial weights and the order of
#    the minibatches. Summers & Dinneen (2021) found that **each source alone
#    produces about the same spread** of outcomes as both together. Does it
#    hold here?
# 4. Summers & Dinneen's explanation: training is so unstable that a change
#    of one unit in the last place (one ulp, ~1e-8 relative) in **one**
#    initial weight grows until the two runs are as different as two
#    unrelated restarts. Does it here?

# %%
import os
import time

SMALL = os.environ.get("INITLAB_SMALL") == "1"  # the test suite's small mode
import initlab

if not SMALL:
    initlab.use_cpu_devices()  # one XLA CPU device per core (~1.7x on 2 cores)
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import display

# %config InlineBackend.figure_format = "png"
plt.rcParams.update({"figure.dpi": 80, "figure.figsize": (6.4, 3.8)})
pd.set_option("display.precision", 4)
T_START = time.perf_counter()

# %% [markdown]
# ## Setup (all parts)
#
# * **Task:** scikit-learn digits (1257 train / 540 test, standardised).
# * **Model:** MLP 64-32-10, ReLU, softmax cross-entropy.
# * **Init:** Glorot uniform kernels, zero biases.
# * **Training:** SGD, learning rate 0.1, minibatch **64** (a new random
#   order every epoch from the restart's data key), 300 steps
#   (≈ 15 epochs; small mode 40), evaluated every 100 steps (small 20).
# * **Keys:** restart *i* draws its weights with
#   `fold_in(fold_in(key(seed), 0), init_seed_i)` and its minibatch order with
#   `fold_in(fold_in(key(seed), 1), data_seed_i)`; the design decides the
#   seeds. Seed 0 unless stated.

# %%
STEPS = 40 if SMALL else 300
EVAL_EVERY = 20 if SMALL else 100
task = initlab.get_task("digits")
model = initlab.models.mlp((32,), 64, 10)
common = dict(
    model=model,
    steps=STEPS,
    batch_size=64,
    learning_rate=0.1,
    eval_every=EVAL_EVERY,
    progress=False,
)
GLOROT = {"glorot_uniform": initlab.glorot_uniform()}


def leaves(tree):
    return [np.asarray(x) for x in jax.tree.leaves(tree)]


def identical(a, b):
    """Every array of two Outcomes (curves, params) equal bit for bit."""
    same = [np.array_equal(a.curves[k], b.curves[k], equal_nan=True) for k in a.curves]
    same += [
        np.array_equal(x, y)
        for x, y in zip(leaves(a.initial_params), leaves(b.initial_params), strict=True)
    ]
    same += [
        np.array_equal(x, y)
        for x, y in zip(leaves(a.final_params), leaves(b.final_params), strict=True)
    ]
    return all(same)


# %% [markdown]
# ## 1 · Same seed, same bits
#
# Two runs of 8 restarts (small mode 4) with seed 0, and one with seed 1.

# %%
N_REPRO = 4 if SMALL else 8
run_a = initlab.train(
    task, GLOROT, num_restarts=N_REPRO, seed=0, keep_params=True, **common
)
run_b = initlab.train(
    task, GLOROT, num_restarts=N_REPRO, seed=0, keep_params=True, **common
)
run_c = initlab.train(
    task, GLOROT, num_restarts=N_REPRO, seed=1, keep_params=True, **common
)
print(
    "seed 0 vs seed 0: bit-identical weights (initial and final) and curves:",
    identical(run_a, run_b),
)
print("  tidy tables equal:", run_a.to_dataframe().equals(run_b.to_dataframe()))
print("seed 0 vs seed 1: bit-identical:", identical(run_a, run_c))
print("final test accuracy, seed 0:", run_a.final["test_accuracy"].round(4))
print("final test accuracy, seed 1:", run_c.final["test_accuracy"].round(4))

# %% [markdown]
# ## 2 · Vmapped together = trained alone
#
# Restart *i* of the vmapped run above against restart *i* trained on its
# own (`first_restart=i, num_restarts=1`: same keys, a batch of one). Its
# keys do not depend on how many restarts run together, so the initial
# weights must be bit-identical; after training, XLA may have reordered sums
# differently for a different batch shape, so we allow a float tolerance
# (`np.allclose`, rtol 1e-5, atol 1e-6) and report the largest difference.

# %%
N_ALONE = 1 if SMALL else 4
rows = []
for i in range(N_ALONE):
    alone = initlab.train(
        task,
        GLOROT,
        num_restarts=1,
        first_restart=i,
        seed=0,
        keep_params=True,
        **common,
    )
    init_same = all(
        np.array_equal(x[i], y[0])
        for x, y in zip(
            leaves(run_a.initial_params), leaves(alone.initial_params), strict=True
        )
    )
    final_diff = max(
        np.max(np.abs(x[i] - y[0]))
        for x, y in zip(
            leaves(run_a.final_params), leaves(alone.final_params), strict=True
        )
    )
    close = all(
        np.allclose(x[i], y[0], rtol=1e-5, atol=1e-6)
        for x, y in zip(
            leaves(run_a.final_params), leaves(alone.final_params), strict=True
        )
    )
    metric_diff = max(abs(run_a.final[k][i] - alone.final[k][0]) for k in alone.final)
    bits = all(
        np.array_equal(x[i], y[0])
        for x, y in zip(
            leaves(run_a.final_params), leaves(alone.final_params), strict=True
        )
    )
    rows.append(
        dict(
            restart=i,
            initial_bit_identical=init_same,
            final_bit_identical=bits,
            final_allclose=close,
            max_abs_param_diff=final_diff,
            max_abs_metric_diff=metric_diff,
        )
    )
display(pd.DataFrame(rows))

# %% [markdown]
# ## 3 · Two sources of randomness
#
# * **fixed_data:** only the init varies (init seed *i*, data order 0);
# * **fixed_init:** only the data order varies (init seed 0, data order *i*);
# * **paired:** both vary (init *i*, data order *i*).
#
# 64 restarts each (small mode 6), trained **1200 steps** (≈ 61 epochs;
# small mode 60) and evaluated every 100, so we can watch the spread as
# training goes on. Intervals for the std: 95 % percentile bootstrap over
# restarts (2000 resamples).
#
# And a **grid** of 16 inits × 16 data orders at the standard 300 steps
# (small mode 3 × 3): restart *r* has init seed r // 16 and data order
# r % 16, so each init meets every data order. A two-way random-effects
# ANOVA (`initlab.stats.variance_components`) splits its variance into init,
# data order and interaction + residual, with a two-way (rows and columns)
# bootstrap.
#
# Outcomes: final test accuracy and final test loss.

# %%
N_DESIGN = 6 if SMALL else 64
LONG = 60 if SMALL else 1_200
G = 3 if SMALL else 16
long_args = {**common, "steps": LONG, "eval_every": 20 if SMALL else 100}
designs = {
    d: initlab.train(task, GLOROT, num_restarts=N_DESIGN, design=d, seed=0, **long_args)
    for d in ("fixed_data", "fixed_init", "paired")
}
grid = initlab.train(
    task, GLOROT, num_restarts=G * G, design="grid", grid_data=G, seed=0, **common
)
assert (grid.init_seed == np.arange(G * G) // G).all()


def sd(a, axis=-1):
    return np.std(a, axis=axis, ddof=1)


rows = []
for metric in ("test_accuracy", "test_loss"):
    for design, out in designs.items():
        for j, step in enumerate(out.steps):
            if step == 0:
                continue  # fixed_init has no spread at step 0
            v = out.curves[metric][~out.diverged, j]
            low, high = initlab.stats.bootstrap_ci(v, sd, rng=0)
            rows.append(
                dict(
                    metric=metric,
                    design=design,
                    step=step,
                    n=len(v),
                    mean=v.mean(),
                    std=sd(v),
                    std_low=low,
                    std_high=high,
                )
            )
spread = pd.DataFrame(rows)
display(spread[spread.step.isin([STEPS, LONG])].set_index(["metric", "step", "design"]))
last = spread[spread.step == LONG].set_index(["metric", "design"])["std"]
for metric in ("test_accuracy", "test_loss"):
    print(
        f"{metric} after {LONG} steps: std(only init) / std(only data order) = "
        f"{last[metric, 'fixed_data'] / last[metric, 'fixed_init']:.2f}"
    )

# %%
fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
for ax, metric in zip(axes[:2], ("test_accuracy", "test_loss"), strict=True):
    for i, (design, part) in enumerate(
        spread[spread.metric == metric].groupby("design", sort=False)
    ):
        ax.plot(part.step, part["std"], "o-", ms=3, color=f"C{i}", label=design)
        ax.fill_between(
            part.step, part.std_low, part.std_high, color=f"C{i}", alpha=0.2
        )
    ax.axvline(STEPS, color="grey", ls=":", lw=1)
    ax.set(
        title=f"std of {metric} over restarts (95% bootstrap)",
        xlabel="SGD step",
        ylabel="std",
        ylim=(0, None),
    )
    ax.legend(fontsize=8)
vc_rows = []
for metric in ("test_accuracy", "test_loss"):
    values = grid.final[metric].reshape(G, G)  # (init seed, data order)
    vc = initlab.stats.variance_components(values, rng=0)
    for name, share, lo, hi, var in zip(
        vc["components"],
        vc["share"],
        vc["share_low"],
        vc["share_high"],
        vc["variance"],
        strict=True,
    ):
        vc_rows.append(
            dict(
                metric=metric,
                component=name,
                variance=var,
                share=share,
                share_low=lo,
                share_high=hi,
            )
        )
    if metric == "test_accuracy":
        initlab.plots.plot_variance_components(vc, ax=axes[2])
        axes[2].set_title(f"grid {G}×{G}, {STEPS} steps: test accuracy")
fig.tight_layout()
plt.show()
components = pd.DataFrame(vc_rows)
display(components)

# %% [markdown]
# ## 4 · One ulp in one weight
#
# Two models identical to the one above except that their init function
# moves **one** first-layer kernel entry to the next float32 towards +∞
# (`jnp.nextafter`): a `PureModel` wrapping the MLP's init. Entry [28, 0]
# connects a central pixel to hidden unit 0; entry [0, 0] connects the
# top-left pixel, which is blank (exactly 0 after standardisation) in every
# digits image. Each twin trains with the same keys as the base model (32
# restarts, small mode 4, paired design, **1200 steps**, evaluated every 20),
# so
# the pair differs in one weight by one ulp at step 0. We follow
# |Δ train loss| between the twins over training and, at the end, the
# share of test images on which they disagree about correctness; for
# scale, the same for two *unrelated* restarts (restarts *i* and *i* + 1).

# %%
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
base = initlab.train(
    task, GLOROT, num_restarts=N_TWINS, seed=0, keep_params=True, **twin_args
)
twins = {
    p: initlab.train(
        task,
        GLOROT,
        num_restarts=N_TWINS,
        seed=0,
        keep_params=True,
        **{**twin_args, "model": nudged_model(p)},
    )
    for p in (PIXEL, 0)
}
gaps = {}
for pixel, twin in twins.items():
    n_diff = sum(
        int(np.sum(x != y))
        for x, y in zip(
            leaves(base.initial_params), leaves(twin.initial_params), strict=True
        )
    )
    change = np.abs(
        leaves(twin.initial_params)[1][:, pixel, 0]
        - leaves(base.initial_params)[1][:, pixel, 0]
    )
    gaps[pixel] = np.abs(twin.curves["train_loss"] - base.curves["train_loss"])
    flips = np.mean(
        twin.per_example["test_correct"] != base.per_example["test_correct"], axis=1
    )
    low, high = initlab.stats.bootstrap_ci(flips, np.mean, rng=0)
    final_w = max(
        np.max(np.abs(x - y))
        for x, y in zip(
            leaves(base.final_params), leaves(twin.final_params), strict=True
        )
    )
    print(
        f"entry [{pixel}, 0]: {n_diff} initial weights differ over {N_TWINS} "
        f"pairs, by {change.min():.1e} to {change.max():.1e}; after {TWIN_STEPS} "
        f"steps: max |Δ weight| {final_w:.1e}, median |Δ train loss| "
        f"{np.median(gaps[pixel][:, -1]):.1e}, twins disagree on "
        f"{flips.mean():.2%} [95% {low:.2%}, {high:.2%}] of test images"
    )
unrelated = np.abs(
    np.roll(base.curves["train_loss"], 1, axis=0) - base.curves["train_loss"]
)
other = np.mean(
    np.roll(base.per_example["test_correct"], 1, axis=0)
    != base.per_example["test_correct"],
    axis=1,
)
low, high = initlab.stats.bootstrap_ci(other, np.mean, rng=0)
print(
    f"unrelated restarts: median |Δ train loss| "
    f"{np.median(unrelated[:, -1]):.1e}, disagree on {other.mean():.2%} "
    f"[95% {low:.2%}, {high:.2%}] of test images"
)

# %%
fig, ax = plt.subplots()
for data, name, color in (
    (gaps[PIXEL], f"twins: entry [{PIXEL}, 0] one ulp apart", "C0"),
    (unrelated, "unrelated restarts", "C1"),
):
    data = np.maximum(data, 1e-10)  # identical values -> 1e-10 on a log axis
    q25, q50, q75 = np.percentile(data, [25, 50, 75], axis=0)
    ax.plot(base.steps, q50, color=color, label=f"{name} (median, IQR)")
    ax.fill_between(base.steps, q25, q75, color=color, alpha=0.2)
ax.set(
    yscale="log",
    xlabel="SGD step",
    ylabel="|Δ train loss| (floor 1e-10)",
    title="How far apart do one-ulp twins drift?",
)
ax.legend()
plt.show()

# %% [markdown]
# ## Conclusion
#
# **1. Same seed, same bits.** Two runs of 8 restarts with seed 0 have
# bit-identical initial weights, final weights, learning curves and tidy
# tables (`np.array_equal`); seed 1 gives different ones.
#
# **2. Vmapped = alone, within float tolerance.** Restarts 0 to 3 trained
# alone (`first_restart=i, num_restarts=1`) start from bit-identical weights.
# After 300 steps they are not bit-identical to the same restarts trained
# together, but they pass `np.allclose` (rtol 1e-5, atol 1e-6): the largest
# weight difference is 1.2e-7 to 3.0e-7, and the final metrics differ by at
# most 3e-8. The reason is that a different batch shape lets XLA order sums
# differently.
#
# **3. Here the init dominates; Summers & Dinneen's "about the same spread"
# does not hold.** After 1200 steps, the std of test accuracy over 64
# restarts is 0.0045 [95 % CI 0.0038, 0.0050] with only the init varying,
# 0.0013 [0.0012, 0.0015] with only the data order varying, and 0.0049
# [0.0042, 0.0055] with both: a ratio of 3.4. For test loss the three are
# 0.0220 [0.0188, 0.0246], 0.0029 [0.0027, 0.0032] and 0.0217 [0.0186,
# 0.0243]: a ratio of 7.5. The 16 × 16 grid (300 steps) agrees. The init
# explains 0.89 [0.80, 0.93] of the test-accuracy variance, the data order
# 0.005 [0, 0.037], and interaction + residual 0.11 [0.06, 0.18]. For test
# loss the init share is 0.99 [0.97, 0.99]. Varying both sources gives the
# same spread as varying the init alone. The data-order spread grows slowly
# with training (test-loss std 0.0012 at step 300, 0.0029 at step 1200) but
# stays far below the init's.
#
# **4. One ulp stays one ulp (almost).** Twins that differ by one ulp in
# kernel entry [28, 0] are still twins after 1200 steps. Their largest
# weight difference is 6e-6, the median |Δ train loss| is 1.9e-9, and they
# disagree on 0.00 % [0, 0] of test images. Two unrelated restarts differ
# by 1e-3 in loss and disagree on 2.31 % [2.08 %, 2.55 %] of test images.
#
# **What surprised us.** (1) We expected chaos and found stability. This
# small MLP, trained with plain SGD (no batch norm, no augmentation, 61
# epochs), amplifies a 1e-8 perturbation only to ~1e-6. That is also why the
# data order matters so little here, and why the vmapped and one-at-a-time
# runs agree to 1e-7. Summers & Dinneen trained ResNets on CIFAR-10 for much
# longer, so do not read this as a contradiction in general. Read it as a
# reason to measure the split in your own setting, which the grid design
# makes cheap. (2) Our first one-ulp experiment nudged entry [0, 0] and
# nothing happened at all. That weight connects the top-left pixel, which
# is blank in every digits image, so it never receives a gradient and never
# touches the output; it is still exactly one ulp off after 1200 steps.

# %%
print(
    f"notebook ran in {time.perf_counter() - T_START:.0f} s "
    f"({'small' if SMALL else 'full'} mode, {jax.device_count()} device(s))"
)

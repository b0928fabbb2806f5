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
# # 07 · Restarts beyond SGD: hill climbing and annealing on a rugged landscape
#
# **Claim.** Random restarts are not a deep-learning trick: they are the
# oldest remedy for local optima in any local search. If one run finds the
# global optimum with probability *p*, and runs are independent, then at
# least one of *k* restarts finds it with probability **1 − (1 − p)^k**.
# Simulated annealing is the other classic remedy: one long run that is
# allowed to go downhill early on.
#
# We test both on a landscape small enough to enumerate, so that the global
# optimum, every local optimum and the exact *p* of a hill climber are known,
# and the searches themselves only ever call the fitness function.

# %%
import os
import time

SMALL = os.environ.get("INITLAB_SMALL") == "1"  # the test suite's small mode
import initlab

if not SMALL:
    pass  # one device: nothing here is sharded
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
# ## Setup
#
# * **Landscape:** an NK landscape (Kauffman & Levin 1987; Kauffman 1993).
#   A genome is *N* bits; locus *i* contributes a value looked up in its own
#   table of 2^(K+1) numbers drawn from U(0, 1), indexed by its own bit and
#   the bits of *K* other loci chosen at random; fitness is the mean of the
#   *N* contributions. *K* sets the ruggedness (K = 0: one smooth peak;
#   K = N − 1: a random landscape). Full mode **N = 18, K = 5** (262 144
#   genomes), small mode N = 10, K = 3. Landscape key `jax.random.key(0)`.
# * **Neighbourhood:** flip one bit (*N* neighbours). A local optimum is a
#   genome no neighbour beats.
# * **Hill climbing:** steepest ascent: evaluate all *N* neighbours, move to
#   the best if it is better, stop when none is. Start uniform at random.
#   Cost = 1 + N evaluations per iteration (the last iteration finds nothing).
# * **Simulated annealing** (Kirkpatrick et al. 1983): propose a random
#   one-bit flip, accept with probability min(1, exp(Δf / T)); T falls
#   geometrically from T0 = 0.05 to T1 = 0.001 over L steps; the result is the
#   best genome seen. Cost = L + 1 evaluations.
# * **Restarts** are vmapped over keys `fold_in(key(seed), i)`; success =
#   the run's result is the global optimum (same genome).

# %%
N, K = (10, 3) if SMALL else (18, 5)
N_CLIMBS = 2_048 if SMALL else 32_768  # independent hill climbs
N_ANNEAL = 256 if SMALL else 2_048  # annealing runs per length
LENGTHS = [100, 1_000] if SMALL else [300, 1_000, 3_000, 10_000]
T0, T1 = 0.05, 0.001


def make_nk(key, n, k):
    """Neighbours (n, k+1), own locus first, and tables (n, 2^(k+1))."""
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
    """bits (N,) int32 in {0, 1} -> mean of the N locus contributions."""
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
neighbour_f = F[every[:, None] ^ FLIPS]  # (2^N, N)
local_optima = np.asarray(jnp.all(F[:, None] > neighbour_f, axis=1))
print(
    f"N={N}, K={K}: {2**N:,} genomes, {local_optima.sum():,} local optima; "
    f"global optimum f={float(F[GLOBAL]):.4f} (genome {GLOBAL:0{N}b}), "
    f"median f={float(jnp.median(F)):.4f}"
)
lo_f = np.sort(np.asarray(F)[local_optima])[::-1]
print("fitness of the 5 best local optima:", np.round(lo_f[:5], 4))


# %% [markdown]
# ### The exact success probability of one hill climb
#
# Steepest ascent is deterministic given its start, so *p* is the fraction
# of the 2^N starts whose climb ends at the global optimum (the size of its
# basin of attraction). We climb from every genome at once on the enumerated
# table.


# %%
@jax.jit
def climb_table(start):
    """Steepest ascent on the enumerated table from each start (ints)."""

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
print(
    f"p = P(one climb from a uniform start ends at the global optimum) "
    f"= {P_EXACT:.5f} ({int(P_EXACT * 2**N):,} of {2**N:,} starts)"
)
print(
    f"the global optimum's basin ranks #{basins.index.get_loc(GLOBAL) + 1} "
    f"of {len(basins):,} basins by size; the largest holds "
    f"{basins.iloc[0] / 2**N:.4f} of the starts"
)


# %% [markdown]
# ## Random-restart hill climbing, vmapped over seeds
#
# Each climb uses only `fitness`; `N_CLIMBS` of them run in one `jit(vmap)`.


# %%
def climb(key):
    """One steepest-ascent climb from a random start.

    Returns (start genome as int, end genome bits, end fitness, evaluations).
    """
    bits = jax.random.bernoulli(key, 0.5, (N,)).astype(jnp.int32)
    flip = jnp.eye(N, dtype=jnp.int32)

    def body(state):
        bits, f, evals, _ = state
        neighbours = jnp.abs(bits[None, :] - flip)  # (N, N): one flip each
        nf = jax.vmap(fitness)(neighbours)
        j = jnp.argmax(nf)
        better = nf[j] > f
        return (
            jnp.where(better, neighbours[j], bits),
            jnp.maximum(f, nf[j]),
            evals + N,
            better,
        )

    state = (bits, fitness(bits), jnp.int32(1), jnp.bool_(True))
    end, f, evals, _ = jax.lax.while_loop(lambda s: s[3], body, state)
    return to_int(bits), end, f, evals


keys = jax.vmap(jax.random.fold_in, (None, 0))(jax.random.key(1), jnp.arange(N_CLIMBS))
t = time.perf_counter()
starts, end_bits, end_f, evals = jax.jit(jax.vmap(climb))(keys)
end_int = np.asarray(to_int(end_bits))
print(
    f"{N_CLIMBS:,} climbs in {time.perf_counter() - t:.1f} s; "
    f"{np.mean(np.asarray(evals)):.0f} evaluations per climb on average"
)
# The function-based climbs end where the table-based climbs end.
agree = np.mean(end_int == ends[np.asarray(starts)])
print(f"same end as the enumerated climb from the same start: {agree:.4%}")
hits = end_int == GLOBAL
p_hat, p_lo, p_hi = initlab.stats.success_rate(hits.astype(float), 1.0)
print(
    f"empirical p = {p_hat:.4f} [95% Wilson {p_lo:.4f}, {p_hi:.4f}] "
    f"vs exact {P_EXACT:.4f}"
)

# %% [markdown]
# ### Does 1 − (1 − p)^k hold?
#
# Split the climbs into disjoint groups of *k*; a group succeeds when any of
# its climbs found the global optimum. Each group is one "experiment with *k*
# restarts", so the observed fraction gets a Wilson interval. The prediction
# uses the exact *p* (line) and the empirical *p*'s interval (band).

# %%
ks = [1, 2, 4, 8, 16, 32, 64, 128] if SMALL else [1, 2, 4, 8, 16, 32, 64, 128, 256]
rows = []
for k in ks:
    groups = hits[: (N_CLIMBS // k) * k].reshape(-1, k).any(axis=1)
    rate, low, high = initlab.stats.success_rate(groups.astype(float), 1.0)
    rows.append(
        dict(
            k=k,
            groups=groups.size,
            observed=rate,
            low=low,
            high=high,
            predicted=1 - (1 - P_EXACT) ** k,
            pred_low=1 - (1 - p_lo) ** k,
            pred_high=1 - (1 - p_hi) ** k,
        )
    )
restarts = pd.DataFrame(rows)
display(restarts)
k95 = int(np.ceil(np.log(0.05) / np.log(1 - P_EXACT)))
print(
    f"restarts needed for a 95% chance: k = {k95} "
    f"(~{k95 * np.mean(np.asarray(evals)):,.0f} evaluations, "
    f"{k95 * np.mean(np.asarray(evals)) / 2**N:.1%} of the whole space)"
)

fig, ax = plt.subplots()
kk = np.logspace(0, np.log10(ks[-1]), 200)
ax.plot(kk, 1 - (1 - P_EXACT) ** kk, color="k", lw=1, label="1 − (1 − p)^k, exact p")
ax.fill_between(
    kk,
    1 - (1 - p_lo) ** kk,
    1 - (1 - p_hi) ** kk,
    color="k",
    alpha=0.15,
    label="same, p's 95% interval",
)
ax.errorbar(
    restarts.k,
    restarts.observed,
    yerr=[restarts.observed - restarts.low, restarts.high - restarts.observed],
    fmt="o",
    color="C0",
    capsize=3,
    label="observed (Wilson 95%)",
)
ax.set(
    xscale="log",
    xlabel="restarts k",
    ylabel="P(global optimum found)",
    title=f"Random-restart hill climbing, NK N={N} K={K}",
)
ax.legend(loc="upper left")
plt.show()


# %% [markdown]
# ## Simulated annealing, vmapped over seeds
#
# `N_ANNEAL` runs per length *L*, one `jit(vmap(lax.scan))` per length.


# %%
def anneal(key, length):
    """One annealing run of `length` proposals: the best genome seen."""
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
        return (bits, f, jnp.where(improved, bits, best), jnp.maximum(f, best_f)), None

    run_keys = jax.random.split(k_run, length)
    (_, _, best, best_f), _ = jax.lax.scan(step, (bits, f, bits, f), (temps, run_keys))
    return to_int(best), best_f


sa_rows = {}
for length in LENGTHS:
    keys = jax.vmap(jax.random.fold_in, (None, 0))(
        jax.random.key(2 + length), jnp.arange(N_ANNEAL)
    )
    t = time.perf_counter()
    best, best_f = jax.jit(jax.vmap(lambda k, L=length: anneal(k, L)))(keys)
    found = np.asarray(best) == GLOBAL
    rate, low, high = initlab.stats.success_rate(found.astype(float), 1.0)
    sa_rows[length] = dict(
        L=length,
        evaluations=length + 1,
        p=rate,
        low=low,
        high=high,
        median_best_f=float(np.median(best_f)),
        seconds=time.perf_counter() - t,
    )
anneal_table = pd.DataFrame(sa_rows.values())
mean_climb = float(np.mean(np.asarray(evals)))
anneal_table["climbs_same_budget"] = anneal_table.evaluations / mean_climb
anneal_table["p_restarted_climbing_same_budget"] = 1 - (1 - P_EXACT) ** (
    anneal_table.evaluations / mean_climb
)
display(anneal_table)

# %% [markdown]
# ### Equal budgets: restarted climbing vs annealing
#
# The fair comparison counts fitness evaluations. Restarted hill climbing
# with *k* climbs costs about *k* × (mean evaluations per climb); *k* annealing
# runs of length *L* cost *k* (L + 1). Points are single annealing runs with
# Wilson intervals; dashed lines restart them (1 − (1 − p_L)^k).

# %%
fig, ax = plt.subplots()
budget = np.logspace(np.log10(mean_climb), np.log10(2**N), 200)
ax.plot(
    budget,
    1 - (1 - P_EXACT) ** (budget / mean_climb),
    color="k",
    label="restarted hill climbing (exact p)",
)
for i, row in enumerate(anneal_table.itertuples()):
    color = f"C{i + 1}"
    ax.errorbar(
        row.evaluations,
        row.p,
        yerr=[[row.p - row.low], [row.high - row.p]],
        fmt="o",
        color=color,
        capsize=3,
        label=f"annealing L={row.L:,}",
    )
    b = budget[budget >= row.evaluations]
    ax.plot(b, 1 - (1 - row.p) ** (b / row.evaluations), "--", color=color, lw=1)
ax.axvline(2**N, color="grey", lw=0.8, ls=":")
ax.text(2**N, 0.02, " 2^N", color="grey", ha="right")
ax.set(
    xscale="log",
    xlabel="fitness evaluations",
    ylim=(0, 1.02),
    ylabel="P(global optimum found)",
    title="Equal budgets",
)
ax.legend(fontsize=8, loc="upper left")
plt.show()

# %% [markdown]
# ## Conclusion
#
# **1 − (1 − p)^k holds.** On this NK landscape (N = 18, K = 5: 433 local
# optima among 262 144 genomes), a steepest-ascent climb from a random start
# reaches the global optimum with exact probability p = 0.0269 (7062
# starts). The 32 768 vmapped climbs, which only called the fitness function,
# ended exactly where the enumeration predicted for 100 % of starts. They
# found the optimum in 2.82 % [95 % Wilson 2.65 %, 3.01 %] of climbs. For
# every k from 1 to 256, the prediction 1 − (1 − p)^k lies inside the Wilson
# interval of the observed success rate of disjoint groups of k climbs (e.g.
# k = 32: observed 0.606 [0.575, 0.635], predicted 0.583). Reaching 95 %
# takes k = 110 restarts, about 10 600 evaluations, or 4 % of the whole
# space.
#
# **Annealing lost to restarts at every budget.** One annealing run found the
# optimum in 6.6 % [5.6, 7.8] of runs with L = 300 steps, 12.9 % [11.5, 14.4]
# with 1000, 24.7 % [22.8, 26.6] with 3000 and 51.6 % [49.5, 53.8] with
# 10 000. Restarted hill climbing with the same number of evaluations reaches
# 8.2 %, 24.7 %, 57.2 % and 94.1 %. At a fixed budget, restarting short
# annealing runs also beat running one long one.
#
# **What surprised us.** (1) The global optimum's basin is only the 3rd
# largest, and two other local optima lie within 0.001 of its fitness
# (0.7905 vs 0.7900 and 0.7895). By fitness the searches do much better than
# the strict "same genome" criterion says: the median best fitness of the
# 3000-step annealing runs is 0.7895. (2) The textbook remedy, annealing,
# was the worse use of evaluations here. We did not tune its schedule (one
# geometric schedule, T from 0.05 to 0.001), so read this as "restarts are a
# strong baseline", not "annealing is bad".

# %%
print(
    f"notebook ran in {time.perf_counter() - T_START:.0f} s "
    f"({'small' if SMALL else 'full'} mode, {jax.device_count()} device(s))"
)

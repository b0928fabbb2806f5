"""Two local processes under jax.distributed, each training its slice of restarts."""

import os
import socket
import subprocess
import sys
import textwrap

import numpy as np

import initlab

WORKER = textwrap.dedent(
    """
    import sys, jax, initlab
    from tests.test_engine import TASK
    port, pid, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    jax.distributed.initialize(f"127.0.0.1:{port}", num_processes=2, process_id=pid,
                               initialization_timeout=120)
    assert jax.process_count() == 2
    per = 3
    part = initlab.train(TASK, ["glorot_uniform", "he_normal"], num_restarts=per,
                         first_restart=pid * per, progress=False)
    part.save(out)
    jax.distributed.shutdown()
    """
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_split_restarts_like_one(tmp_path):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    port = str(free_port())
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WORKER,
                port,
                str(i),
                str(tmp_path / f"p{i}.parquet"),
            ],
            cwd=root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for i in range(2)
    ]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-3000:]
    parts = [initlab.Outcomes.load(tmp_path / f"p{i}.parquet") for i in range(2)]
    from tests.test_engine import TASK

    whole = initlab.train(TASK, ["glorot_uniform", "he_normal"], num_restarts=6,
                          progress=False)  # fmt: skip
    for label in whole.labels:
        merged = np.concatenate(
            [p.final["test_loss"][p.initializer == label] for p in parts]
        )
        np.testing.assert_allclose(
            merged, whole.final["test_loss"][whole.initializer == label],
            rtol=1e-5, atol=1e-5,
        )  # fmt: skip
    restarts = np.concatenate([p.restart[p.initializer == "he_normal"] for p in parts])
    np.testing.assert_array_equal(restarts, np.arange(6))

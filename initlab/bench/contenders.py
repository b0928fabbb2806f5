"""Workers: each contender in its own process (this file run as a script).

The contenders live in ``jax_contenders.py`` and ``torch_contenders.py``
beside this file; a worker loads the one module its kind needs from its
path, so a torch worker never imports JAX (or initlab) into its RSS, and a
baseline worker (``spec["pythonpath"]``: an older initlab tree first on its
path) runs the current contenders against that initlab. Protocol on stdin /
stdout: the worker says ``ready`` (compile seconds, where it runs), then
answers ``run`` with one repetition's numbers and ``exit`` with its peak RSS
and peak device memory.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_TAG = "@@bench "  # prefix of protocol lines on a worker's stdout

# kind -> the module beside this file that defines it
_MODULES = {
    "initlab": "jax_contenders", "jax_seq": "jax_contenders",
    "matmul": "jax_contenders", "flops": "jax_contenders",
    "torch_loop": "torch_contenders", "torch_func": "torch_contenders",
}  # fmt: skip
_NEEDS_TORCH = ("torch_loop", "torch_func")


def _load(kind: str):
    """The contender class of ``kind``, from its module's file (see above)."""
    if kind not in _MODULES:
        raise ValueError(f"unknown contender kind {kind!r}; known: {sorted(_MODULES)}")
    name = f"_initlab_bench_{_MODULES[kind]}"
    if name not in sys.modules:  # registered first: dataclasses look it up
        path = Path(__file__).with_name(f"{_MODULES[kind]}.py")
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name].KINDS[kind]


def _peak_rss_bytes() -> int:
    """This process's peak resident set (VmHWM), in bytes."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _worker(spec: dict) -> int:
    """Worker side: set up, report, then answer ``run`` / ``exit`` from stdin."""

    def say(obj: dict) -> None:
        sys.stdout.write(_TAG + json.dumps(obj) + "\n")
        sys.stdout.flush()

    def error(err: Exception) -> str:
        return f"{type(err).__name__}: {err}"[:2000]

    try:
        contender = _load(spec["kind"])(spec)
        compile_s = contender.setup()
        say({"ready": True, "compile_s": compile_s,
             "info": getattr(contender, "info", {})})  # fmt: skip
    except Exception as err:  # noqa: BLE001 - reported to the parent, which skips it
        say({"ready": False, "error": error(err)})
        return 1
    for line in sys.stdin:
        command = line.strip()
        if command == "run":
            try:
                say(contender.run())
            except Exception as err:  # noqa: BLE001 - the parent drops the row
                say({"error": error(err)})
        elif command == "exit":
            device = None
            with contextlib.suppress(Exception):
                device = contender.peak_device_bytes()
            say({"peak_rss_bytes": _peak_rss_bytes(), "peak_device_bytes": device})
            return 0
    return 0


class _Remote:
    """Parent side of one worker process."""

    def __init__(self, name: str, spec: dict, timeout: float):
        self.name, self.spec, self.timeout = name, spec, timeout
        # stderr to a file: a chatty worker can't fill a pipe and block.
        self.errors = tempfile.TemporaryFile("w+")
        root = str(Path(__file__).resolve().parents[2])  # the repository
        first = [spec.get("pythonpath"), root, os.environ.get("PYTHONPATH")]
        path = os.pathsep.join(filter(None, first))
        # OMP_WAIT_POLICY: an idle worker's OpenMP threads (PyTorch's) sleep
        # between rounds instead of spinning on the cores the busy one needs.
        env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=path,
                   OMP_WAIT_POLICY="PASSIVE")  # fmt: skip
        env.update(spec.get("env", {}))
        # Run this file as a script, not ``-m initlab.bench``: a torch worker
        # then never imports the initlab package (and JAX) into its RSS.
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--worker", json.dumps(spec)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.errors,
            text=True,
            env=env,
        )
        hello = self._read()
        if not hello.get("ready"):
            self.close()
            raise RuntimeError(hello.get("error", "worker failed to start"))
        self.compile_s = hello["compile_s"]
        self.info = hello.get("info", {})
        self.peak_device_bytes: int | None = None

    def _read(self) -> dict:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                self.errors.seek(0)
                err = self.errors.read()[-2000:]
                return {"ready": False, "error": f"worker exited: {err}"}
            if line.startswith(_TAG):
                return json.loads(line[len(_TAG) :])
        return {"ready": False, "error": "timed out"}

    def run(self) -> dict:
        self.proc.stdin.write("run\n")
        self.proc.stdin.flush()
        out = self._read()
        if "seconds" not in out:
            raise RuntimeError(f"{self.name}: {out.get('error')}")
        return out

    def close(self) -> int | None:
        """Ends the worker; returns its peak RSS (``peak_device_bytes`` is set)."""
        rss = None
        if self.proc.poll() is None:
            with contextlib.suppress(OSError, ValueError):
                self.proc.stdin.write("exit\n")
                self.proc.stdin.flush()
                bye = self._read()
                rss = bye.get("peak_rss_bytes")
                self.peak_device_bytes = bye.get("peak_device_bytes")
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=30)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout, self.errors):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        return rss


if __name__ == "__main__":
    # Run as a script (a worker): this folder must not shadow top-level modules.
    if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
        sys.path.pop(0)
    # ``python contenders.py --worker SPEC`` (see _Remote), not the package's main:
    # a torch worker must not import initlab (and JAX).
    raise SystemExit(_worker(json.loads(sys.argv[sys.argv.index("--worker") + 1])))

"""PyTorch contenders (each in a worker process that never imports JAX).

Loaded by the worker from this file's path (see ``contenders._load``). The
training sets come from ``.npz`` files the parent wrote. Models: the MLPs of
M and T, MNIST-1D's ConvBase and its bidirectional GRU written out step by
step (``torch.func.vmap`` has no batching rule for cuDNN's fused GRU; the
written-out cell is the same arithmetic as initlab's). On a GPU (CUDA) the
contenders run there, else on the CPU.
"""

from __future__ import annotations

import copy
import functools
import math
import os
import time


def _load_arrays(path: str):
    """The training set the parent saved."""
    import numpy as np

    with np.load(path) as data:
        return data["x"], data["y"]


def _device():
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize()


def _info(device) -> dict:
    import torch

    if device.type == "cuda":
        return {"platform": "gpu", "device_kind": torch.cuda.get_device_name(device),
                "torch": torch.__version__}  # fmt: skip
    return {"platform": "cpu", "device_kind": "cpu", "torch": torch.__version__}


def _mlp(sizes, hidden: str, output: str):
    import torch

    layers: list = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(torch.nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU() if hidden == "relu" else torch.nn.Sigmoid())
    if output == "sigmoid_half_sse":
        layers.append(torch.nn.Sigmoid())
    return torch.nn.Sequential(*layers)


def _conv_base():
    """MNIST-1D's ConvBase: Conv1d(1, 25, 5, 2, 1), Conv1d(25, 25, 3, 2, 1) x 2."""
    import torch

    nn = torch.nn
    return nn.Sequential(
        nn.Conv1d(1, 25, 5, 2, 1), nn.ReLU(), nn.Conv1d(25, 25, 3, 2, 1), nn.ReLU(),
        nn.Conv1d(25, 25, 3, 2, 1), nn.ReLU(), nn.Flatten(), nn.Linear(125, 10),
    )  # fmt: skip


def _gru_base():
    """MNIST-1D's GRUBase (bidirectional, every step's output to the head)."""
    return _bigru_class()()


@functools.cache
def _bigru_class(length: int = 40, hidden: int = 6, classes: int = 10):
    """The module class, made once (``stack_module_state`` wants one class)."""
    import torch

    class BiGRU(torch.nn.Module):
        def __init__(self):
            super().__init__()
            bound = 1.0 / math.sqrt(hidden)

            def param(*shape):
                return torch.nn.Parameter(torch.empty(*shape).uniform_(-bound, bound))

            self.w_i = param(2, 1, 3 * hidden)
            self.b_i = param(2, 3 * hidden)
            self.w_h = param(2, hidden, 3 * hidden)
            self.b_h = param(2, 3 * hidden)
            self.head = torch.nn.Linear(2 * hidden * length, classes)

        def forward(self, x):  # x (batch, length, 1)
            outs = []
            for d in range(2):
                xs = x if d == 0 else x.flip(1)
                gi = xs @ self.w_i[d] + self.b_i[d]  # (batch, length, 3 hidden)
                h = x.new_zeros(x.shape[0], hidden)
                steps = []
                for t in range(length):
                    gh = h @ self.w_h[d] + self.b_h[d]
                    i_r, i_z, i_n = gi[:, t].chunk(3, dim=-1)
                    h_r, h_z, h_n = gh.chunk(3, dim=-1)
                    r = torch.sigmoid(i_r + h_r)
                    z = torch.sigmoid(i_z + h_z)
                    n = torch.tanh(i_n + r * h_n)
                    h = (1 - z) * n + z * h
                    steps.append(h)
                seq = torch.stack(steps, 1)
                outs.append(seq if d == 0 else seq.flip(1))
            return self.head(torch.cat(outs, -1).reshape(x.shape[0], -1))

    return BiGRU


def _model(spec: dict):
    kind = spec.get("torch_model", "mlp")
    if kind == "conv":
        return _conv_base()
    if kind == "gru":
        return _gru_base()
    return _mlp(spec["sizes"], spec["hidden"], spec["output"])


def _inputs(spec: dict, x):
    """The arrays as the torch model reads them (Conv1d: channels first)."""
    if spec.get("torch_model") == "conv":
        return x.transpose(1, 2).contiguous()  # (N, 40, 1) -> (N, 1, 40)
    return x


def _loss(output: str):
    import torch

    if output == "ce":
        return torch.nn.functional.cross_entropy
    return lambda out, t: 0.5 * ((out[:, 0] - t) ** 2).sum()


def _data(spec: dict, device):
    import torch

    x, y = _load_arrays(spec["data"])
    x = _inputs(spec, torch.as_tensor(x, dtype=torch.float32)).to(device)
    y = torch.as_tensor(y)
    y = (y.long() if spec["output"] == "ce" else y.float()).to(device)
    return x, y


def _peak(device) -> int | None:
    import torch

    if device.type != "cuda":
        return None
    return int(torch.cuda.max_memory_allocated(device))


class TorchLoop:
    """A plain PyTorch training loop, one restart after another (SGD)."""

    def __init__(self, spec: dict):
        self.spec = spec

    def setup(self) -> float:
        import torch

        torch.set_num_threads(os.cpu_count() or 1)
        self.device = _device()
        self.info = _info(self.device)
        self.x, self.y = _data(self.spec, self.device)
        self.loss = _loss(self.spec["output"])
        t0 = time.perf_counter()
        self._train(0, min(self.spec["steps"], 20))  # warm up allocator, kernels
        return time.perf_counter() - t0

    def _train(self, restart: int, steps: int) -> float:
        import torch

        s = self.spec
        torch.manual_seed(restart)
        net = _model(s).to(self.device)
        opt = torch.optim.SGD(net.parameters(), lr=s["lr"])
        gen = torch.Generator().manual_seed(restart)
        n, batch = len(self.x), s["batch"]
        per_epoch = n // batch
        order = torch.arange(n)
        for step in range(steps):
            if batch < n:
                pos = step % per_epoch
                if pos == 0:
                    order = torch.randperm(n, generator=gen).to(self.device)
                idx = order[pos * batch : (pos + 1) * batch]
                x, y = self.x[idx], self.y[idx]
            else:
                x, y = self.x, self.y
            opt.zero_grad(set_to_none=True)
            loss = self.loss(net(x), y)
            loss.backward()
            opt.step()
        return loss.item()

    def run(self) -> dict:
        s = self.spec
        budget = s.get("budget_s", math.inf)
        t0 = time.perf_counter()
        done = 0
        while done < s["subset"] and (done == 0 or time.perf_counter() - t0 < budget):
            self._train(done, s["steps"])
            done += 1
        return {"seconds": time.perf_counter() - t0, "restarts_run": done}

    def peak_device_bytes(self) -> int | None:
        return _peak(self.device)


class TorchFunc:
    """``torch.func`` ensembling: stacked params, ``vmap(grad(functional_call))``.

    SGD as one ``_foreach_add_`` over the stacked parameters; Adam as
    ``torch.optim.Adam`` over them (element-wise, so per restart).
    """

    def __init__(self, spec: dict):
        self.spec = spec

    def setup(self) -> float:
        import torch

        torch.set_num_threads(os.cpu_count() or 1)
        self.device = _device()
        self.info = _info(self.device)
        self.x, self.y = _data(self.spec, self.device)
        from torch.func import stack_module_state

        # The restarts' initial parameters, built once on the host (N small
        # modules) and moved as stacked tensors; each run trains a copy.
        torch.manual_seed(0)
        models = [_model(self.spec) for _ in range(self.spec["subset"])]
        params, buffers = stack_module_state(models)
        self.params = {k: v.detach().to(self.device) for k, v in params.items()}
        self.buffers = {k: v.detach().to(self.device) for k, v in buffers.items()}
        self.base = copy.deepcopy(models[0]).to("meta")
        del models
        t0 = time.perf_counter()
        self._train(min(self.spec["steps"], 20))
        _sync(self.device)
        return time.perf_counter() - t0

    def _train(self, steps: int, budget: float = math.inf) -> int:
        """Trains all restarts; stops early (at an epoch's end) past ``budget`` s."""
        import torch
        from torch.func import functional_call, grad_and_value

        s = self.spec
        n_models = s["subset"]
        params = {k: v.clone() for k, v in self.params.items()}
        base, buffers, loss = self.base, self.buffers, _loss(s["output"])

        def loss_fn(p, b, x, y):
            return loss(functional_call(base, (p, b), (x,)), y)

        n, batch, lr = len(self.x), s["batch"], s["lr"]
        full = batch >= n
        dims = (0, 0, None, None) if full else (0, 0, 0, 0)
        step_fn = torch.vmap(grad_and_value(loss_fn), in_dims=dims)
        adam = None
        if s.get("optimizer", "sgd") == "adam":
            adam = torch.optim.Adam(list(params.values()), lr=lr)
        gen = torch.Generator(device=self.device).manual_seed(0)
        per_epoch = max(1, n // batch)
        t0 = time.perf_counter()
        for step in range(steps):
            pos = step % per_epoch
            if pos == 0 and step and time.perf_counter() - t0 > budget:
                return step
            if full:
                x, y = self.x, self.y
            else:
                if pos == 0:  # one permutation per restart: argsort of uniforms
                    order = torch.rand(n_models, n, generator=gen,
                                       device=self.device).argsort(dim=1)  # fmt: skip
                idx = order[:, pos * batch : (pos + 1) * batch]
                x, y = self.x[idx], self.y[idx]
            grads, value = step_fn(params, buffers, x, y)
            with torch.no_grad():
                if adam is None:
                    torch._foreach_add_(
                        list(params.values()), list(grads.values()), alpha=-lr
                    )
                else:
                    for p, g in zip(params.values(), grads.values(), strict=True):
                        p.grad = g
                    adam.step()
        assert torch.isfinite(value).all()  # waits for the device
        return steps

    def run(self) -> dict:
        t0 = time.perf_counter()
        steps = self._train(self.spec["steps"], self.spec.get("budget_s", math.inf))
        _sync(self.device)
        return {
            "seconds": time.perf_counter() - t0,
            "restarts_run": self.spec["subset"],
            "steps_run": steps,
        }

    def peak_device_bytes(self) -> int | None:
        return _peak(self.device)


KINDS = {"torch_loop": TorchLoop, "torch_func": TorchFunc}

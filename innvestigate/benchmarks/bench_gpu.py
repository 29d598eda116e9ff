"""Analyzer throughput on a GPU, side by side with Zennit (PyTorch) in the same run.

The protocol of the issue's GPU goal: VGG16 with random weights, 224×224×3 inputs,
batch 64, float32, explaining each sample's largest logit. Our side runs Keras 3 on
JAX (``jax.jit`` of the whole analysis); the anchor is Zennit's ``EpsilonPlusFlat``
(ε on dense layers, Z⁺ on convolutions, flat on the first layer: the same rules as our
``lrp.sequential_preset_a_flat``) and ``EpsilonAlpha2Beta1Flat`` (our
``lrp.sequential_preset_b_flat``) with its VGG canonizer, plus a plain PyTorch gradient.
Every timed call starts from a host (numpy) batch and ends with the explanation back on
the host, on both sides. Each side runs in its own process, one after the other, so
neither holds GPU memory while the other runs.

Usage::

    python benchmarks/bench_gpu.py [--batch 64] [--size 224] [--repeats 20] [--sides jax zennit]
        [--out gpu.json]

    # one side only (what the driver above runs in a subprocess)
    KERAS_BACKEND=jax python benchmarks/bench_gpu.py --side jax

Prints a Markdown table (pasted into BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

OURS = [
    "gradient.baseline",
    "gradient",
    "deconvnet",
    "lrp.epsilon",
    "lrp.sequential_preset_a_flat",
    "lrp.sequential_preset_b_flat",
    "lrp.alpha_2_beta_1",
]
ZENNIT = ["torch gradient", "zennit EpsilonPlusFlat", "zennit EpsilonAlpha2Beta1Flat"]


def _inputs(batch, size):
    return np.random.default_rng(0).random((batch, size, size, 3), dtype=np.float32)


def _timed(call, repeats):
    t0 = time.perf_counter()
    call()
    setup = time.perf_counter() - t0
    runs = []
    for _ in range(repeats):
        t = time.perf_counter()
        call()
        runs.append(time.perf_counter() - t)
    return setup, float(np.median(runs))


def run_keras(args):
    import keras

    import innvestigate

    keras.utils.set_random_seed(0)
    model = keras.applications.VGG16(
        weights=None, input_shape=(args.size, args.size, 3), classifier_activation=None
    )
    x = _inputs(args.batch, args.size)
    device = _keras_device()
    rows = []
    for name in args.analyzers:
        analyzer = innvestigate.create_analyzer(name, model)
        # _timed calls the lambdas within this iteration; the defaults bind this iteration's values.
        setup, run = _timed(lambda analyzer=analyzer: analyzer.analyze(x), args.repeats)
        # The same analysis on a batch already on the device, the result left there.
        xs = [keras.ops.convert_to_tensor(x)]
        indices = analyzer._selection_indices(None, args.batch)
        _, resident = _timed(
            lambda analyzer=analyzer, xs=xs, indices=indices: _synchronize(
                analyzer._analyze_batch(xs, indices)
            ),
            args.repeats,
        )
        rows.append(
            {
                "side": f"innvestigate ({keras.backend.backend()})",
                "method": name,
                "setup_s": setup,
                "run_s": run,
                "resident_run_s": resident,
            }
        )
        print(
            f"  {name}: {args.batch / run:.1f} images/s ({args.batch / resident:.1f} on the device), setup {setup:.1f} s",
            file=sys.stderr,
            flush=True,
        )
    return device, rows


def _synchronize(tensors):
    import keras

    if keras.backend.backend() == "jax":
        import jax

        return jax.block_until_ready(tensors)
    if keras.backend.backend() == "torch":
        import torch

        if torch.cuda.is_available():
            torch.cuda.synchronize()
    return tensors


def _keras_device():
    import keras

    if keras.backend.backend() == "jax":
        import jax

        return str(jax.devices()[0].device_kind)
    if keras.backend.backend() == "torch":
        import torch

        return torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    return "unknown"


def run_zennit(args):
    import torch
    import torchvision
    from zennit.attribution import Gradient
    from zennit.composites import EpsilonAlpha2Beta1Flat, EpsilonPlusFlat
    from zennit.torchvision import VGGCanonizer

    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(0)
    model = torchvision.models.vgg16(weights=None).eval().to(dev)
    for p in model.parameters():
        p.requires_grad_(False)
    x_host = np.ascontiguousarray(_inputs(args.batch, args.size).transpose(0, 3, 1, 2))

    def max_logit(out):
        return torch.nn.functional.one_hot(out.argmax(1), out.shape[1]).to(out.dtype)

    x_dev = torch.from_numpy(x_host).to(dev)

    def sync(t):
        if dev.type == "cuda":
            torch.cuda.synchronize()
        return t

    def gradient(x):
        x = x.requires_grad_(True)
        out = model(x)
        (g,) = torch.autograd.grad(out, x, grad_outputs=max_logit(out))
        return g

    rows = []
    setup, run = _timed(
        lambda: gradient(torch.from_numpy(x_host).to(dev)).cpu().numpy(), args.repeats
    )
    _, resident = _timed(lambda: sync(gradient(x_dev.clone())), args.repeats)
    rows.append(
        {
            "side": "PyTorch",
            "method": "torch gradient",
            "setup_s": setup,
            "run_s": run,
            "resident_run_s": resident,
        }
    )
    for label, composite_cls in [
        ("zennit EpsilonPlusFlat", EpsilonPlusFlat),
        ("zennit EpsilonAlpha2Beta1Flat", EpsilonAlpha2Beta1Flat),
    ]:
        composite = composite_cls(canonizers=[VGGCanonizer()])
        with Gradient(model=model, composite=composite) as attributor:
            setup, run = _timed(
                lambda: attributor(torch.from_numpy(x_host).to(dev), max_logit)[1].cpu().numpy(),
                args.repeats,
            )
            _, resident = _timed(lambda: sync(attributor(x_dev, max_logit)[1]), args.repeats)
        rows.append(
            {
                "side": "Zennit",
                "method": label,
                "setup_s": setup,
                "run_s": run,
                "resident_run_s": resident,
            }
        )
        print(
            f"  {label}: {args.batch / run:.1f} images/s ({args.batch / resident:.1f} on the device)",
            file=sys.stderr,
            flush=True,
        )
    name = torch.cuda.get_device_name(0) if dev.type == "cuda" else "cpu"
    return name, rows


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--analyzers", nargs="+", default=OURS)
    parser.add_argument(
        "--sides",
        nargs="+",
        default=["jax", "zennit"],
        help="jax, torch (our engine on Keras' torch backend), zennit",
    )
    parser.add_argument(
        "--side-timeout", type=float, default=300, help="seconds before a side is given up"
    )
    parser.add_argument("--side", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()

    if args.side is not None:  # child process: one side, JSON on stdout
        device, rows = run_zennit(args) if args.side == "zennit" else run_keras(args)
        json.dump({"device": device, "rows": rows}, sys.stdout)
        return

    results = []
    devices = {}
    for side in args.sides:
        env = dict(os.environ)
        if side in ("jax", "torch"):
            env["KERAS_BACKEND"] = side
        env.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
        cmd = [
            sys.executable,
            __file__,
            "--side",
            side,
            "--batch",
            str(args.batch),
            "--size",
            str(args.size),
            "--repeats",
            str(args.repeats),
            "--analyzers",
            *args.analyzers,
        ]
        print(f"[{side}] {' '.join(cmd[1:])}", file=sys.stderr, flush=True)
        try:
            proc = subprocess.run(
                cmd, env=env, stdout=subprocess.PIPE, text=True, timeout=args.side_timeout
            )
        except subprocess.TimeoutExpired:
            print(f"[{side}] gave up after {args.side_timeout:.0f} s", file=sys.stderr)
            continue
        if proc.returncode != 0:
            print(f"[{side}] failed with exit code {proc.returncode}", file=sys.stderr)
            continue
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        devices[side] = out["device"]
        for row in out["rows"]:
            row.update(
                batch=args.batch,
                size=args.size,
                device=out["device"],
                images_per_s=args.batch / row["run_s"],
                images_per_s_on_device=args.batch / row["resident_run_s"],
            )
            results.append(row)

    anchors = {
        r["side"]: r for r in results if r["method"] in ("gradient.baseline", "torch gradient")
    }
    print(f"\nVGG16, {args.size}x{args.size}, batch {args.batch}, float32; devices: {devices}\n")
    print(
        "| side | method | images/s, numpy in and out | images/s, on the device | time / gradient pass (on the device, same framework) | setup (first call) s |"
    )
    print("|---|---|---:|---:|---:|---:|")
    for r in results:
        anchor = anchors.get(r["side"]) or anchors.get("PyTorch")
        ratio = r["resident_run_s"] / anchor["resident_run_s"]
        print(
            f"| {r['side']} | {r['method']} | {r['images_per_s']:.0f} | {r['images_per_s_on_device']:.0f} | {ratio:.2f} | {r['setup_s']:.1f} |"
        )
    if args.out:
        tmp = args.out + ".tmp"
        with open(tmp, "w") as f:
            json.dump(results, f, indent=1)
        os.replace(tmp, args.out)


if __name__ == "__main__":
    main()

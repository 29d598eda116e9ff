"""Thesis Fig. V.4: setup and run time of Deconvnet, LRP-Epsilon and LRP-* on 512 images.

The thesis times the three methods on VGG16 (ImageNet, 224x224) for 512 images, setup
(graph building) and run separately, against the LRP-Toolbox. The LRP-Toolbox is not
available here; the comparison is with iNNvestigate 2.1.2 (the thesis' library; tf.keras
2.14 in graph mode, in its own interpreter, see ``tools/innvestigate_crosscheck/README.md``)
when that interpreter exists. Both sides build ``VGG16(weights=None)`` (no ImageNet
weights offline; the cost of a pass does not depend on the weights) and analyse the same
uniform random images, batch by batch, explaining the largest logit.

    KERAS_BACKEND=tensorflow python innvestigate/benchmarks/fig_v4_runtime.py --out DIR
        [--images 512] [--batch 16] [--size 224] [--interpreter-212 .venv-inn212/bin/python]

Writes ``DIR/fig_v4_runtime.csv`` (one row per library and method: setup and run wall
and CPU seconds) and ``DIR/fig_v4_runtime.png`` (CPU seconds, log scale, as Fig. V.4). Rows already in the CSV are kept and not
measured again (``--resume`` is the default; ``--fresh`` starts over), so an interrupted
run continues where it stopped.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# (name in both libraries, label of Fig. V.4)
METHODS = [
    ("deconvnet", "Deconvnet"),
    ("lrp.epsilon", "LRP-Epsilon"),
    ("lrp.sequential_preset_a_flat", "LRP-*"),
]
FIELDS = [
    "library",
    "method",
    "label",
    "images",
    "batch",
    "size",
    "setup_s",
    "run_s",
    "setup_cpu_s",
    "run_cpu_s",
    "images_per_s",
    "backend",
]
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def images(n, size, seed=0):
    import numpy as np

    return np.random.default_rng(seed).random((n, size, size, 3), dtype="float32")


def time_method(create, analyze, x, batch):
    """Setup = create + first batch (graph building / tracing); run = all images after it."""
    t, c = time.perf_counter(), time.process_time()
    analyzer = create()
    analyze(analyzer, x[:batch])
    setup, setup_cpu = time.perf_counter() - t, time.process_time() - c
    t, c = time.perf_counter(), time.process_time()
    for start in range(0, len(x), batch):
        analyze(analyzer, x[start : start + batch])
    return setup, time.perf_counter() - t, setup_cpu, time.process_time() - c


def run_ours(methods, n, batch, size):
    import keras

    import innvestigate

    keras.utils.set_random_seed(0)
    model = keras.applications.VGG16(
        weights=None, input_shape=(size, size, 3), classifier_activation=None
    )
    x = images(n, size)
    rows = []
    for name, label in methods:
        s, r, sc, rc = time_method(
            lambda name=name: innvestigate.create_analyzer(name, model),
            lambda a, xb: a.analyze(xb),
            x,
            batch,
        )
        rows.append(
            dict(
                library="ours",
                method=name,
                label=label,
                setup_s=s,
                run_s=r,
                setup_cpu_s=sc,
                run_cpu_s=rc,
                backend=keras.backend.backend(),
            )
        )
        print(f"ours {label}: setup {s:.1f} s, run {r:.1f} s", flush=True)
    return rows


def run_212(methods, n, batch, size):
    """The iNNvestigate 2.1.2 side; runs inside the 2.1.2 interpreter (``--side 212``)."""
    import tensorflow as tf

    tf.compat.v1.disable_eager_execution()
    import innvestigate

    tf.keras.utils.set_random_seed(0)
    model = tf.keras.applications.VGG16(
        weights=None, input_shape=(size, size, 3), classifier_activation=None
    )
    x = images(n, size)
    rows = []
    for name, label in methods:
        s, r, sc, rc = time_method(
            lambda name=name: innvestigate.create_analyzer(name, model),
            lambda a, xb: a.analyze(xb),
            x,
            batch,
        )
        rows.append(
            dict(
                library="innvestigate 2.1.2",
                method=name,
                label=label,
                setup_s=s,
                run_s=r,
                setup_cpu_s=sc,
                run_cpu_s=rc,
                backend=f"tf.keras {tf.__version__} graph mode",
            )
        )
        print(f"2.1.2 {label}: setup {s:.1f} s, run {r:.1f} s", file=sys.stderr, flush=True)
    return rows


def read_rows(path):
    if not os.path.exists(path):
        return []
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def write_rows(path, rows):
    tmp = path + ".tmp"
    with open(tmp, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)


def plot(rows, path):
    import matplotlib.pyplot as plt
    import numpy as np

    libraries = list(dict.fromkeys(r["library"] for r in rows))
    blocks = ["Setup"] + [label for _, label in METHODS]
    fig, ax = plt.subplots(figsize=(7, 3.6))
    width = 0.8 / max(len(libraries), 1)
    for j, library in enumerate(libraries):
        mine = {r["label"]: r for r in rows if r["library"] == library}
        # the setup block: the longest setup over the methods, as one bar (Fig. V.4's first block)
        values = [max((float(r["setup_cpu_s"]) for r in mine.values()), default=np.nan)]
        values += [
            float(mine[label]["run_cpu_s"]) if label in mine else np.nan for label in blocks[1:]
        ]
        pos = np.arange(len(blocks)) + (j - (len(libraries) - 1) / 2) * width
        ax.bar(pos, values, width, label=library)
    if len(libraries) == 2:  # speed-up of the second library over the first, as in the thesis
        base = {r["label"]: r for r in rows if r["library"] == libraries[1]}
        ours = {r["label"]: r for r in rows if r["library"] == libraries[0]}
        for k, label in enumerate(blocks[1:], start=1):
            if label in base and label in ours:
                ratio = float(base[label]["run_cpu_s"]) / float(ours[label]["run_cpu_s"])
                ax.text(
                    k, float(ours[label]["run_cpu_s"]), f"{ratio:.1f}×", ha="center", va="bottom"
                )
    ax.set_yscale("log")
    ax.set_xticks(range(len(blocks)), blocks)
    # CPU seconds, not wall: on a shared machine waiting for a core inflates wall time only
    ax.set_ylabel("CPU time in s")
    n, size = (rows[0]["images"], rows[0]["size"]) if rows else ("?", "?")
    ax.set_title(
        f"VGG16 (random weights) at {size}x{size}, {n} images, 2-core CPU; "
        "numbers: 2.1.2 CPU time / ours",
        fontsize=9,
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--images", type=int, default=512)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument(
        "--interpreter-212",
        default=os.path.join(ROOT, ".venv-inn212", "bin", "python"),
        help="python of the iNNvestigate 2.1.2 environment (skipped if absent)",
    )
    parser.add_argument("--fresh", action="store_true", help="measure everything again")
    parser.add_argument("--side", choices=["ours", "212"], default="ours", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    common = dict(images=args.images, batch=args.batch, size=args.size)
    if args.side == "212":  # child process: print the rows as JSON on stdout
        rows = run_212(
            [m for m in METHODS if m[0] in json.loads(os.environ["FIG_V4_METHODS"])],
            args.images,
            args.batch,
            args.size,
        )
        print(json.dumps(rows))
        return 0
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "fig_v4_runtime.csv")
    rows = (
        []
        if args.fresh
        else [r for r in read_rows(path) if all(str(r[k]) == str(v) for k, v in common.items())]
    )

    def missing(library):
        done = {r["method"] for r in rows if r["library"] == library}
        return [m for m in METHODS if m[0] not in done]

    def add(new):
        for r in new:
            r.update(common, images_per_s=args.images / r["run_s"])
            rows.append({k: (f"{v:.3f}" if isinstance(v, float) else v) for k, v in r.items()})
        write_rows(path, rows)

    if missing("ours"):
        add(run_ours(missing("ours"), args.images, args.batch, args.size))
    todo = missing("innvestigate 2.1.2")
    if todo and os.path.exists(args.interpreter_212):
        env = dict(os.environ, FIG_V4_METHODS=json.dumps([m[0] for m in todo]))
        result = subprocess.run(
            [
                args.interpreter_212,
                os.path.abspath(__file__),
                "--side",
                "212",
                "--out",
                args.out,
                "--images",
                str(args.images),
                "--batch",
                str(args.batch),
                "--size",
                str(args.size),
            ],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
            check=True,
        )
        add(json.loads(result.stdout.strip().splitlines()[-1]))
    elif todo:
        print(
            f"iNNvestigate 2.1.2 interpreter {args.interpreter_212} not found: 2.1.2 not timed "
            "(build it as in tools/innvestigate_crosscheck/README.md)",
            file=sys.stderr,
        )
    plot(rows, os.path.join(args.out, "fig_v4_runtime.png"))  # CPU seconds
    for r in rows:
        print(
            f"{r['library']:>20} {r['label']:>12}: setup {float(r['setup_s']):7.1f} s, "
            f"run {float(r['run_s']):8.1f} s ({float(r['images_per_s']):.2f} images/s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Transformers and recurrent networks: ground truth, faithfulness and speed of the explanations.

Two subcommands (run each backend in its own process: KERAS_BACKEND is read at import)::

    KERAS_BACKEND=tensorflow python benchmarks/bench_sequences.py accuracy [--quick] [--out DIR]
    KERAS_BACKEND=tensorflow python benchmarks/bench_sequences.py speed [--quick] [--out DIR]
    KERAS_BACKEND=jax        python benchmarks/bench_sequences.py speed [--quick] [--out DIR]
    python benchmarks/bench_sequences.py report [--out DIR]      # Markdown tables of the results

``accuracy``: trains (seeded, briefly) a small transformer, an LSTM and a GRU on the planted-token
task (``shared_datasets.make_planted_tokens``: one class token among random filler decides the
class) and a small ViT on planted-patch MNIST-5k (``make_planted_patches``: one 7x7 class texture
at a random cell of a digit image decides it). Per model and method: test accuracy, the fraction
of test samples whose planted token / patch receives the highest relevance (patch relevance = sum
over its pixels), the mean share of the positive relevance on it, and deletion curves (most
relevant token / patch first, replaced by the padding id / zeros; ``tools.perturbation``) with
their AOPC against a random order. Writes ``sequences_ground_truth.{json,csv}``,
``sequences_deletion.csv`` and ``sequences_deletion_<model>.png``.

``speed``: one ``gradient`` pass against the LRP analyzers in the same process, median of
repeated calls after a warm-up, on a 4-layer BERT-like encoder (sequence 128, d=256, 4 heads,
feed-forward 1024) and a 6-layer ViT-S-like model (d=384, 6 heads, 16x16 patches; 96x96 images
instead of 224x224 to stay within a 2-core CPU budget), random weights. Writes
``sequences_speed_<backend>.json``.

``--quick``: fewer samples, epochs and repeats (about 1-2 minutes per subcommand on 2 cores).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MPLBACKEND", "Agg")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples"))

import _sequence_models as sm
import keras
import numpy as np

import innvestigate
from innvestigate.tools.perturbation import (
    Perturbation,
    PerturbationAnalysis,
    plot_perturbation_curves,
)

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
PAD_ID = 0
LRP_METHODS = ("lrp.epsilon", "lrp.z", "lrp.attnlrp")


def methods(kind, quick, patch=7):
    """(label, analyzer name, parameters) per method; ``kind`` is "tokens" or "images"."""
    steps = 16 if quick else 32
    occlusion = (
        {"patch_size": 1, "reference_value": PAD_ID}
        if kind == "tokens"
        else {"patch_size": patch, "reference_value": 0.0}
    )
    return [
        ("gradient", "gradient", {} if kind == "tokens" else {"postprocess": "abs"}),
        ("input x gradient", "input_t_gradient", {}),
        ("integrated gradients", "integrated_gradients", {"steps": steps}),
        ("occlusion", "occlusion", occlusion),
        ("lrp.epsilon", "lrp.epsilon", {"epsilon": 1e-6}),
        ("lrp.z", "lrp.z", {}),
        ("lrp.attnlrp", "lrp.attnlrp", {}),
    ]


# -- ground truth and deletion ---------------------------------------------------------------------


class _TokenGrid:
    """Presents (n, L) token batches as (n, 1, L, 1) "images" to tools.perturbation (one token a region)."""

    def __init__(self, model, analyzer):
        self.model, self.analyzer = model, analyzer

    def model_fn(self, x):
        return self.model(np.asarray(x).reshape(len(x), -1), training=False)

    def analyze_fn(self, x, **kwargs):
        tokens = np.asarray(x).reshape(len(x), -1)
        return np.asarray(self.analyzer.analyze(tokens, **kwargs)).reshape(x.shape)


def evaluate_model(model_name, model, kind, X, y, planted, args, patch=7):
    """Ground-truth scores and deletion curves of every method on one trained model."""
    rows, curves = [], {}
    # Is the planted unit needed? The class each model still predicts once it is deleted: where a
    # model has learnt a class as "none of the other classes' tokens / textures", deleting the
    # planted unit of that class changes nothing, and no faithful explanation ranks it first.
    deleted = X.copy()
    if kind == "tokens":
        deleted[np.arange(len(X)), planted] = PAD_ID
    else:
        n_cols = X.shape[2] // patch
        for i, cell in enumerate(planted):
            r, c = divmod(int(cell), n_cols)
            deleted[i, r * patch : (r + 1) * patch, c * patch : (c + 1) * patch] = 0.0
    kept = np.argmax(np.asarray(model.predict(deleted, verbose=0, batch_size=256)), 1) == y
    kept_by_class = [float(kept[y == k].mean()) for k in np.unique(y)]
    print(
        f"  same class with the planted unit deleted, by class: {' '.join(f'{v:.2f}' for v in kept_by_class)}",
        flush=True,
    )
    if kind == "tokens":
        perturbation = Perturbation(float(PAD_ID), region_shape=(1, 1))
        steps = min(args.deletion_steps, X.shape[1])
    else:
        perturbation = Perturbation("zero", region_shape=(patch, patch))
        steps = min(args.deletion_steps, (X.shape[1] // patch) * (X.shape[2] // patch))
    for label, name, params in methods(kind, args.quick, patch):
        try:
            analyzer = innvestigate.create_analyzer(
                name, model, neuron_selection_mode="index", **params
            )
            start = time.perf_counter()
            R = np.asarray(analyzer.analyze(X, neuron_selection=y))
            seconds = time.perf_counter() - start
        except Exception as err:  # reported in the table, the other methods still run
            rows.append(
                {
                    "model": model_name,
                    "method": label,
                    "analyzer": name,
                    "error": f"{type(err).__name__}: {err}"[:300],
                }
            )
            print(f"  {label}: {type(err).__name__}: {str(err)[:200]}", flush=True)
            continue
        units = R if kind == "tokens" else sm.patch_relevance(R, patch)
        top1, share = sm.planted_scores(units, planted)
        if kind == "tokens":
            grid = _TokenGrid(model, analyzer)
            pa = PerturbationAnalysis(
                grid.analyze_fn,
                grid.model_fn,
                perturbation,
                steps=steps,
                batch_size=256,
                progress=False,
            )
            data = X.reshape(len(X), 1, -1, 1)
        else:
            pa = PerturbationAnalysis(
                analyzer,
                lambda x: model(x, training=False),
                perturbation,
                steps=steps,
                batch_size=256,
                progress=False,
            )
            data = X
        result = pa.compute(data, order="morf", neuron_selection=y)
        curves[label] = result
        rows.append(
            {
                "model": model_name,
                "method": label,
                "analyzer": name,
                "top1_planted": float(top1.mean()),
                "share_positive_on_planted": float(share.mean()),
                "aopc": result.aopc,
                "top1_planted_by_class": [float(top1[y == k].mean()) for k in np.unique(y)],
                "deletion_curve": result.curve.tolist(),
                "seconds": seconds,
                "n_test": len(X),
            }
        )
        by_class = " ".join(f"{v:.2f}" for v in rows[-1]["top1_planted_by_class"])
        print(
            f"  {label:22s} top-1 {top1.mean():.3f} (by class {by_class})  share {share.mean():.3f}  "
            f"AOPC {result.aopc:.3f}  ({seconds:.1f} s)",
            flush=True,
        )
    if kind == "tokens":
        grid = _TokenGrid(model, None)
        pa = PerturbationAnalysis(
            lambda x: x, grid.model_fn, perturbation, steps=steps, batch_size=256, progress=False
        )
        result = pa.compute(
            X.reshape(len(X), 1, -1, 1), order="random", neuron_selection=y, random_state=0
        )
    else:
        pa = PerturbationAnalysis(
            lambda x: x,
            lambda x: model(x, training=False),
            perturbation,
            steps=steps,
            batch_size=256,
            progress=False,
        )
        result = pa.compute(X, order="random", neuron_selection=y, random_state=0)
    curves["random order"] = result
    rows.append(
        {
            "model": model_name,
            "method": "random order",
            "analyzer": None,
            "aopc": result.aopc,
            "deletion_curve": result.curve.tolist(),
            "n_test": len(X),
        }
    )
    for row in rows:
        row["same_class_without_planted_by_class"] = kept_by_class
    return rows, curves


def train_models(args):
    """Yields (name, model, kind, X_test, y_test, planted, test accuracy, training seconds)."""
    import shared_datasets

    n_train, n_test = (2000, 200) if args.quick else (6000, 600)
    # 4 class tokens and a fifth, blank label (filler only): the models must detect every class token
    # instead of learning one class as "none of the others" (BENCHMARKS.md); scored on planted samples.
    n_labels = 4 + args.blank
    X, y, pos = shared_datasets.make_planted_tokens(
        n_train + n_test,
        seq_len=args.seq_len,
        vocab_size=64,
        n_classes=4,
        include_blank=args.blank,
        random_state=0,
    )
    Xtr, ytr, Xte, yte, pte = X[:n_train], y[:n_train], X[n_train:], y[n_train:], pos[n_train:]
    builders = {
        "transformer": (
            lambda: sm.token_transformer(args.seq_len, 64, n_labels),
            3 if args.quick else 6,
            2e-3,
        ),
        "lstm": (
            lambda: sm.token_rnn("lstm", args.seq_len, 64, n_labels),
            6 if args.quick else 12,
            5e-3,
        ),
        "gru": (
            lambda: sm.token_rnn("gru", args.seq_len, 64, n_labels),
            6 if args.quick else 12,
            5e-3,
        ),
    }
    for name in [m for m in args.models if m in builders]:
        build, epochs, lr = builders[name]
        keras.utils.set_random_seed(0)
        model = build()
        seconds = sm.fit(model, Xtr, ytr, epochs=epochs, learning_rate=lr)
        yield name, model, "tokens", Xte, yte, pte, sm.accuracy(model, Xte, yte), seconds
    if "vit" in args.models:
        images, _, test_images, _ = shared_datasets.load("mnist5k")
        images = np.concatenate([images, test_images]).reshape(-1, 28, 28, 1) / 255.0
        n_train_images = 2000 if args.quick else 4000
        Xi, yi, idx = shared_datasets.make_planted_patches(
            images[: n_train_images + n_test],
            n_classes=4,
            patch=7,
            include_blank=args.blank,
            random_state=0,
        )
        keras.utils.set_random_seed(0)
        model = sm.vit((28, 28, 1), 7, n_labels)
        seconds = sm.fit(
            model,
            Xi[:n_train_images],
            yi[:n_train_images],
            epochs=4 if args.quick else 8,
            learning_rate=2e-3,
        )
        Xte, yte, pte = Xi[n_train_images:], yi[n_train_images:], idx[n_train_images:]
        yield "vit", model, "images", Xte, yte, pte, sm.accuracy(model, Xte, yte), seconds


def run_accuracy(args):
    all_rows = []
    for name, model, kind, X, y, planted, acc, seconds in train_models(args):
        print(f"{name}: test accuracy {acc:.3f} (trained {seconds:.0f} s)", flush=True)
        X, y, planted = (
            X[planted >= 0],
            y[planted >= 0],
            planted[planted >= 0],
        )  # blank inputs have nothing to find
        rows, curves = evaluate_model(name, model, kind, X, y, planted, args)
        for row in rows:
            row["test_accuracy"], row["train_seconds"] = acc, seconds
        all_rows += rows
        unit = "tokens" if kind == "tokens" else "7x7 patches"
        plot_perturbation_curves(
            curves,
            file_name=os.path.join(args.out, f"sequences_deletion_{name}.png"),
            title=f"{name}: {len(X)} test samples, {unit} deleted most relevant first",
        )
    meta = {
        "backend": keras.backend.backend(),
        "quick": args.quick,
        "keras": keras.__version__,
        "device": f"{platform.machine()}, {os.cpu_count()} logical CPUs",
        "command": " ".join(sys.argv),
    }
    _write_json(
        os.path.join(args.out, "sequences_ground_truth.json"), {"meta": meta, "rows": all_rows}
    )
    with open(os.path.join(args.out, "sequences_ground_truth.csv"), "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            [
                "model",
                "test_accuracy",
                "method",
                "top1_planted",
                "share_positive_on_planted",
                "aopc",
                "error",
            ]
        )
        for r in all_rows:
            writer.writerow(
                [
                    r["model"],
                    f"{r['test_accuracy']:.4f}",
                    r["method"],
                    _fmt(r.get("top1_planted")),
                    _fmt(r.get("share_positive_on_planted")),
                    _fmt(r.get("aopc")),
                    r.get("error", ""),
                ]
            )
    with open(os.path.join(args.out, "sequences_deletion.csv"), "w", newline="") as fh:
        writer = csv.writer(fh)
        n_steps = max(len(r.get("deletion_curve", [])) for r in all_rows)
        writer.writerow(["model", "method", "aopc"] + [f"deleted_{k}" for k in range(n_steps)])
        for r in all_rows:
            if "deletion_curve" in r:
                writer.writerow(
                    [r["model"], r["method"], f"{r['aopc']:.4f}"]
                    + [f"{v:.4f}" for v in r["deletion_curve"]]
                )
    print(
        "\n| model | test acc. | method | planted top-1 | share of positive relevance | AOPC (deletion) |"
    )
    print("|---|---:|---|---:|---:|---:|")
    for r in all_rows:
        print(
            f"| {r['model']} | {r['test_accuracy']:.3f} | {r['method']} | {_fmt(r.get('top1_planted'))} | "
            f"{_fmt(r.get('share_positive_on_planted'))} | {_fmt(r.get('aopc'))} |"
            + (f" {r['error'][:80]}" if "error" in r else "")
        )


# -- speed -----------------------------------------------------------------------------------------


def speed_models(quick):
    keras.utils.set_random_seed(0)
    bert = sm.token_transformer(
        128, 1000, 2, dim=256, heads=4, blocks=4, ff_dim=1024, name="bert_like"
    )
    side = 64 if quick else 96
    vit = sm.vit(
        (side, side, 3), 16, 10, dim=384, heads=6, blocks=6, ff_dim=1536, name="vit_s_like"
    )
    rng = np.random.default_rng(0)
    return [
        ("bert-like 4x256, L=128", bert, lambda n: rng.integers(1, 1000, (n, 128)).astype("int32")),
        (
            f"vit-s-like 6x384, {side}x{side}, 16x16 patches",
            vit,
            lambda n: rng.uniform(size=(n, side, side, 3)).astype("float32"),
        ),
    ]


def run_speed(args):
    names = ["gradient", "lrp.epsilon", "lrp.z", "lrp.attnlrp"]
    repeats = 3 if args.quick else args.repeats
    batch = 4 if args.quick else args.batch
    rows = []
    for model_name, model, make_x in speed_models(args.quick):
        x = make_x(batch)
        analyzers, setup = {}, {}
        for name in names:
            try:
                start = time.perf_counter()
                analyzers[name] = innvestigate.create_analyzer(name, model)
                analyzers[name].analyze(x)  # warm-up: tracing / compilation
                setup[name] = time.perf_counter() - start
            except Exception as err:
                print(f"{model_name} {name}: {type(err).__name__}: {str(err)[:200]}", flush=True)
        wall = {n: [] for n in analyzers}
        cpu = {n: [] for n in analyzers}
        for _ in range(repeats):  # round robin, so that load changes hit every method alike
            for name, analyzer in analyzers.items():
                t, c = time.perf_counter(), time.process_time()
                analyzer.analyze(x)
                wall[name].append(time.perf_counter() - t)
                cpu[name].append(time.process_time() - c)
        base, base_cpu = np.median(wall["gradient"]), np.median(cpu["gradient"])
        for name in analyzers:
            w, c = float(np.median(wall[name])), float(np.median(cpu[name]))
            rows.append(
                {
                    "model": model_name,
                    "analyzer": name,
                    "backend": keras.backend.backend(),
                    "batch": batch,
                    "median_s": w,
                    "ratio_to_gradient": w / base,
                    "median_cpu_s": c,
                    "cpu_ratio_to_gradient": c / base_cpu,
                    "setup_s": setup[name],
                    "repeats": repeats,
                }
            )
            print(
                f"| {keras.backend.backend()} | {model_name} | {name} | {w * 1000:.0f} | {w / base:.2f} | {c / base_cpu:.2f} | {setup[name]:.1f} |",
                flush=True,
            )
        keras.backend.clear_session()
    meta = {
        "backend": keras.backend.backend(),
        "quick": args.quick,
        "keras": keras.__version__,
        "device": f"{platform.machine()}, {os.cpu_count()} logical CPUs",
        "command": " ".join(sys.argv),
    }
    _write_json(
        os.path.join(args.out, f"sequences_speed_{keras.backend.backend()}.json"),
        {"meta": meta, "rows": rows},
    )


def run_report(args):
    """Markdown tables of the JSON results in ``--out`` (as pasted into BENCHMARKS.md)."""
    path = os.path.join(args.out, "sequences_ground_truth.json")
    if os.path.exists(path):
        with open(path) as fh:
            rows = json.load(fh)["rows"]
        print(
            "| model | test acc. | method | planted top-1 | top-1 by class | share of positive relevance on planted | AOPC (deletion) |"
        )
        print("|---|---:|---|---:|---|---:|---:|")
        for r in rows:
            by_class = " / ".join(f"{v:.2f}" for v in r.get("top1_planted_by_class", []))
            print(
                f"| {r['model']} | {r['test_accuracy']:.3f} | {r['method']} | {_fmt(r.get('top1_planted'))} | {by_class} | "
                f"{_fmt(r.get('share_positive_on_planted'))} | {_fmt(r.get('aopc'))} |"
                + (f" {r['error'][:80]}" if "error" in r else "")
            )
        print(
            "\n| model | same class with the planted token / patch deleted, by class |\n|---|---|"
        )
        for r in rows:
            if r["method"] == "random order":
                print(
                    f"| {r['model']} | {' / '.join(f'{v:.2f}' for v in r['same_class_without_planted_by_class'])} |"
                )
    speed = [
        os.path.join(args.out, f"sequences_speed_{b}.json") for b in ("tensorflow", "jax", "torch")
    ]
    speed = [p for p in speed if os.path.exists(p)]
    if speed:
        print(
            "\n| backend | model | analyzer | batch | median ms / call | time / gradient | CPU time / gradient | setup s |"
        )
        print("|---|---|---|---:|---:|---:|---:|---:|")
        for p in speed:
            with open(p) as fh:
                for r in json.load(fh)["rows"]:
                    print(
                        f"| {r['backend']} | {r['model']} | {r['analyzer']} | {r['batch']} | {r['median_s'] * 1000:.0f} | "
                        f"{r['ratio_to_gradient']:.2f} | {r['cpu_ratio_to_gradient']:.2f} | {r['setup_s']:.1f} |"
                    )


def _fmt(v):
    return "" if v is None else f"{v:.3f}"


def _write_json(path, obj):
    with open(path + ".tmp", "w") as fh:
        json.dump(obj, fh, indent=1)
    os.replace(path + ".tmp", path)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["accuracy", "speed", "report"])
    parser.add_argument(
        "--quick", action="store_true", help="fewer samples, epochs, repeats (1-2 min)"
    )
    parser.add_argument(
        "--out", default=RESULTS, help="folder for JSON/CSV/PNG (default: benchmarks/results)"
    )
    parser.add_argument(
        "--models",
        nargs="+",
        default=["transformer", "lstm", "gru", "vit"],
        choices=["transformer", "lstm", "gru", "vit"],
    )
    parser.add_argument("--seq-len", type=int, default=16)
    parser.add_argument(
        "--no-blank",
        dest="blank",
        action="store_false",
        help="4 labels only, no blank label (then one class can be learnt as 'none of the others')",
    )
    parser.add_argument("--deletion-steps", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=7, help="timed calls per analyzer (speed)")
    parser.add_argument("--batch", type=int, default=8, help="batch size (speed)")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    print(
        f"backend={keras.backend.backend()} keras={keras.__version__} device={platform.machine()}, {os.cpu_count()} CPUs"
    )
    {"accuracy": run_accuracy, "speed": run_speed, "report": run_report}[args.command](args)


if __name__ == "__main__":
    main()

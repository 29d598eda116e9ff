"""Cross-check our innvestigate (Keras 3) against the original iNNvestigate 2.1.2 (tf.keras 2.14).

    python tools/innvestigate_crosscheck/crosscheck.py --out DIR [--python212 .venv-inn212/bin/python]

Builds the models of ``models.py`` with the same weights in both, runs every analyzer the
two share on the same inputs (2.1.2 in its own interpreter, through ``run_212.py``), and
writes DIR/crosscheck.csv and DIR/crosscheck.md: per model and analyzer the maximal
relative difference ``max|ours - theirs| / max|theirs|``, the same after accounting for a
documented 2.1.2 quirk, and the speed ratio (2.1.2 time / our time, > 1: ours faster) for
the first call (setup included) and for later calls.

Quirks of 2.1.2 accounted for (not copied):

* SmoothGrad ignores ``noise_scale`` (always standard deviation 1): we run ours with
  ``noise_scale=1``; both are Monte-Carlo estimates, so the table also gives the
  difference between two of our runs with different seeds (the noise floor).
* Integrated Gradients is a left Riemann sum (gradients at ``t = k / steps``,
  ``k = 0 .. steps - 1``, including the reference, excluding the input); ours uses the
  midpoint rule ``t = (k + 1/2) / steps``, whose error falls as ``1/steps²`` instead of
  ``1/steps``. "adjusted" compares 2.1.2 with the left Riemann sum evaluated with our gradient.
* Deconvnet and Guided Backprop start from the selected logit instead of 1, so their
  output is scaled by it; "adjusted" divides 2.1.2's result by the logit, over the samples
  whose selected logit is positive (a negative start value flips which entries the
  backward ReLUs pass, so there the results differ in more than scale).
* Alpha-beta with bias counts the bias twice; the with-bias variants (and the presets,
  which use them on convolutions) differ on purpose, and the bias-free model
  ``cnn_zero_bias`` shows that the rules agree once no bias is involved.
* Found by this check: the ``*_flat`` presets of 2.1.2 never apply the flat rule to the
  input layer (2.1.2's ``lrp.sequential_preset_a_flat`` equals its ``preset_a``);
  "adjusted" compares with our preset without ``_flat``.
* Found by this check: 2.1.2's Deep Taylor applies Z⁺ (α1β0 without bias) to every
  Dense/Conv layer - also to the linear output layer and to the input layer whatever its
  input domain - and explains ``relu(output)``; its ``deep_taylor.bounded`` never applies
  the Z^B input rule (it equals ``deep_taylor``). "adjusted" compares with our ``lrp``
  with Z⁺ on every layer, on the samples with a positive explained output.

Setup: the 2.1.2 interpreter is built once with
``python3.11 -m venv .venv-inn212 && .venv-inn212/bin/pip install "tensorflow-cpu==2.14.1"
"numpy<2" "matplotlib<4" "future<0.19" && .venv-inn212/bin/pip install --no-deps innvestigate==2.1.2``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from functools import partial

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import keras  # noqa: E402
import numpy as np  # noqa: E402
from models import ANALYZERS, MODELS, build, random_inputs, random_weights  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

import innvestigate  # noqa: E402
from innvestigate.analyzer.lrp import rules as lrp_rules  # noqa: E402

N_SAMPLES = 16
SCALED_BY_LOGIT = ("deconvnet", "guided_backprop")
BIAS_TWICE = (
    "lrp.alpha_2_beta_1",
    "lrp.alpha_1_beta_0",
    "lrp.sequential_preset_a",
    "lrp.sequential_preset_b",
    "lrp.sequential_preset_a_flat",
    "lrp.sequential_preset_b_flat",
)


def rel_diff(a, b):
    scale = np.abs(b).max()
    return float(np.abs(a - b).max() / scale) if scale > 0 else float(np.abs(a - b).max())


def integrated_gradients_212_rule(model, x, params):
    """2.1.2's rule with our gradient: the left Riemann sum, t = k / steps for k = 0 .. steps - 1."""
    gradient = innvestigate.create_analyzer("gradient", model, neuron_selection_mode="index")
    selection = np.argmax(np.asarray(model(x)), axis=1)
    reference = np.full_like(x, params["reference_inputs"])
    ts = np.arange(params["steps"]) / params["steps"]
    grads = [
        gradient.analyze(
            (reference + t * (x - reference)).astype("float32"), neuron_selection=selection
        )
        for t in ts
    ]
    return np.mean(grads, axis=0) * (x - reference)


def timed(fn, repeats):
    start = time.perf_counter()
    result = fn()
    first = time.perf_counter() - start
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return result, first, float(np.median(runs))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument(
        "--python212", default=os.path.join(HERE, "..", "..", ".venv-inn212", "bin", "python")
    )
    parser.add_argument(
        "--reuse", help="an OUT.npz of an earlier run_212.py run with the same inputs"
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--analyzers", nargs="*", help="subset of analyzers")
    args = parser.parse_args(argv)
    names = args.analyzers or list(ANALYZERS)
    unknown = [n for n in names if n not in ANALYZERS]
    if unknown:
        parser.error(f"unknown analyzers {unknown}; choose from {list(ANALYZERS)}")
    os.makedirs(args.out, exist_ok=True)

    models, shared = {}, {"analyzers": np.array(json.dumps(names))}
    for model_name, spec in MODELS.items():
        model = build(keras, spec)
        weights = random_weights(model, seed=0, zero_bias=spec.get("zero_bias", False))
        model.set_weights(weights)
        x = random_inputs(spec, N_SAMPLES, seed=1)
        models[model_name] = (model, x)
        shared[f"{model_name}/x"] = x
        for i, w in enumerate(weights):
            shared[f"{model_name}/w{i}"] = w

    if args.reuse:
        theirs = np.load(args.reuse)
    else:
        python212 = os.path.abspath(args.python212)
        if not os.path.exists(python212):
            sys.exit(
                f"No iNNvestigate 2.1.2 interpreter at {python212}; build it as described in "
                f"{os.path.join(HERE, 'README.md')} or pass --python212."
            )
        with tempfile.TemporaryDirectory() as tmp:
            path_in, path_out = (
                os.path.join(tmp, "in.npz"),
                os.path.join(args.out, "innvestigate212_results.npz"),
            )
            np.savez(path_in, **shared)
            start = time.perf_counter()
            subprocess.run(
                [python212, os.path.join(HERE, "run_212.py"), path_in, path_out], check=True
            )
            print(f"iNNvestigate 2.1.2 side: {time.perf_counter() - start:.0f} s", file=sys.stderr)
        theirs = np.load(path_out)

    rows = []
    for model_name, (model, x) in models.items():
        logits = np.asarray(model(x))
        logit_diff = rel_diff(logits, theirs[f"{model_name}/logits"])
        if logit_diff > 1e-5:
            sys.exit(
                f"{model_name}: the two models disagree (logits differ by {logit_diff:.2e}); "
                "weights were not transferred correctly."
            )
        selected_logit = logits.max(axis=1).reshape((-1,) + (1,) * (x.ndim - 1))
        positive = selected_logit.reshape(-1) > 0
        for name in tqdm(names, desc=f"ours on {model_name}"):
            key = f"{model_name}/{name}"
            if f"{key}/error" in theirs:
                rows.append(
                    [
                        model_name,
                        name,
                        "",
                        "",
                        "",
                        "",
                        "",
                        f"2.1.2 failed: {theirs[f'{key}/error']}",
                    ]
                )
                continue
            params = dict(ANALYZERS[name])
            if name == "smoothgrad":
                params["random_state"] = 0
            try:
                analyzer = innvestigate.create_analyzer(name, model, **params)
                ours, first, run = timed(partial(analyzer.analyze, x), args.repeats)
            except Exception as err:
                rows.append(
                    [
                        model_name,
                        name,
                        "",
                        "",
                        "",
                        "",
                        "",
                        f"ours failed: {type(err).__name__}: {err}",
                    ]
                )
                continue
            reference = theirs[key]
            raw = rel_diff(ours, reference)
            adjusted, note = "", ""
            if name in SCALED_BY_LOGIT:
                adjusted = rel_diff(ours[positive], reference[positive] / selected_logit[positive])
                note = (
                    f"2.1.2 scales by the selected logit; adjusted divides it out "
                    f"({positive.sum()}/{len(positive)} samples with a positive logit)"
                )
            elif name == "integrated_gradients":
                adjusted = rel_diff(integrated_gradients_212_rule(model, x, params), reference)
                note = (
                    "2.1.2: left Riemann sum, ours: midpoint rule; "
                    "adjusted: 2.1.2 vs the left sum with our gradient"
                )
            elif name == "smoothgrad":
                other = innvestigate.create_analyzer(name, model, **dict(params, random_state=1))
                adjusted = rel_diff(ours, other.analyze(x))
                note = "Monte-Carlo (256 samples, noise 1); adjusted = ours vs ours with another seed (noise floor)"
            elif name.endswith("_flat"):
                same_rules = innvestigate.create_analyzer(name[: -len("_flat")], model, **params)
                adjusted = rel_diff(same_rules.analyze(x), reference)
                note = "2.1.2 ignores the flat input-layer rule; adjusted: our preset without _flat"
                if adjusted > 1e-5:
                    note += "; alpha-beta bias counted twice in 2.1.2 (differs on purpose)"
            elif name.startswith("deep_taylor"):
                same_rules = innvestigate.create_analyzer("lrp", model, rule=lrp_rules.ZPlusRule())
                adjusted = rel_diff(same_rules.analyze(x)[positive], reference[positive])
                note = (
                    f"2.1.2: Z+ on every layer incl. the output and input layer"
                    f"{' (the Z^B input rule is never applied)' if name.endswith('bounded') else ''}; "
                    f"adjusted: our lrp with Z+ everywhere ({positive.sum()}/{len(positive)} samples "
                    f"with a positive output)"
                )
            elif name in BIAS_TWICE and raw > 1e-5 and not MODELS[model_name].get("zero_bias"):
                note = "2.1.2 counts the bias twice in alpha-beta; differs on purpose (see cnn_zero_bias)"
            rows.append(
                [
                    model_name,
                    name,
                    f"{raw:.2e}",
                    "" if adjusted == "" else f"{adjusted:.2e}",
                    f"{float(theirs[f'{key}/setup_s']) / first:.2f}",
                    f"{float(theirs[f'{key}/run_s']) / run:.2f}",
                    f"{run * 1e3:.1f}",
                    note,
                ]
            )

    header = [
        "model",
        "analyzer",
        "max_rel_diff",
        "adjusted_rel_diff",
        "speed_ratio_first_call",
        "speed_ratio_later_calls",
        "ours_ms_per_batch",
        "note",
    ]
    import csv

    csv_path = os.path.join(args.out, "crosscheck.csv")
    with open(csv_path + ".tmp", "w", newline="") as fh:
        csv.writer(fh).writerows([header] + rows)
    os.replace(csv_path + ".tmp", csv_path)
    md = [
        f"Keras {keras.__version__} ({keras.backend.backend()}) vs iNNvestigate 2.1.2 on tf.keras 2.14 "
        f"(graph mode); {N_SAMPLES} inputs per model, batch of {N_SAMPLES}; speed ratio = 2.1.2 time / our time.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ] + ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    md_path = os.path.join(args.out, "crosscheck.md")
    with open(md_path + ".tmp", "w") as fh:
        fh.write("\n".join(md) + "\n")
    os.replace(md_path + ".tmp", md_path)
    print("\n".join(md))


if __name__ == "__main__":
    main()

"""Why the thesis' Fig. V.9 shows different maps for "1-Linear" and "2-Linear".

Runs in the iNNvestigate 2.1.2 interpreter (``tools/innvestigate_crosscheck/README.md``):
LRP-epsilon on a Dense-BatchNorm-ReLU-Dense network with non-trivial batch-norm parameters,
batch norm linearised as one (``bn_layer_fuse_mode="one_linear"``) or two linear layers
(``"two_linear"``), each compared with a closed formula of the epsilon chain in float64:

* ``one_linear`` = the formula with the surrogate layer ``γx/s + (β − μ/s)`` (the mean is
  not multiplied by γ) and ``s = √(σ⁴ + ε)`` (2.1.2 takes ``sqrt(variance**2 + eps)``);
* ``two_linear`` = the formula with ``(x − μ)/s`` then ``γt + β`` (the right bias; the
  same ``s``);
* our ``one_linear`` and ``two_linear`` both equal the exact linearisation
  ``γ(x − μ)/√(σ² + ε) + β`` (they telescope, see REPRODUCTION.md).

    .venv-inn212/bin/python innvestigate/benchmarks/fig_v9_batchnorm_212.py --out DIR

Writes ``DIR/fig_v9_batchnorm_212.csv``: per 2.1.2 mode, the largest relative difference
to each formula.
"""

import argparse
import csv
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np
import tensorflow as tf

tf.compat.v1.disable_eager_execution()
import innvestigate  # noqa: E402

GAMMA, BETA = np.array([2.0, 0.5, 1.5, 3.0]), np.array([0.3, -0.2, 0.1, 0.5])
MEAN, VAR, BN_EPS = np.array([0.5, -0.3, 0.2, 0.1]), np.array([4.0, 0.25, 1.0, 2.0]), 1e-3


def model_and_weights(seed=0):
    rng = np.random.default_rng(seed)
    inp = tf.keras.Input((3,))
    y = tf.keras.layers.BatchNormalization(epsilon=BN_EPS)(tf.keras.layers.Dense(4)(inp))
    out = tf.keras.layers.Dense(2)(tf.keras.layers.Activation("relu")(y))
    model = tf.keras.Model(inp, out)
    W1, b1, W2 = rng.normal(size=(3, 4)), rng.normal(size=4) * 0.1, rng.normal(size=(4, 2))
    model.set_weights([W1, b1, GAMMA, BETA, MEAN, VAR, W2, np.zeros(2)])
    return model, (W1, b1, W2), rng.normal(size=(16, 3))


def epsilon_chain(x, W1, b1, W2, bn_ratio):
    """LRP-epsilon (epsilon -> 0) from the largest logit back to the input, in float64;
    ``bn_ratio(h)`` is the batch-norm layer's relevance factor ``R_in / R_out``."""
    h = x @ W1 + b1
    a = np.maximum(GAMMA * (h - MEAN) / np.sqrt(VAR + BN_EPS) + BETA, 0)
    logits = a @ W2
    rows = np.arange(len(x))
    R = np.zeros_like(logits)
    R[rows, logits.argmax(1)] = logits[rows, logits.argmax(1)]  # 2.1.2 starts from the logit
    Ra = a * ((R / np.where(logits == 0, 1, logits)) @ W2.T)
    return x * ((bn_ratio(h) * Ra / h) @ W1.T)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    model, (W1, b1, W2), x = model_and_weights()
    s_212, s = np.sqrt(VAR**2 + BN_EPS), np.sqrt(VAR + BN_EPS)
    formulas = {
        "2.1.2 one_linear surrogate (bias beta - mu/s, s = sqrt(var^2 + eps))": lambda h: (
            (GAMMA * h / s_212) / (GAMMA * h / s_212 - MEAN / s_212 + BETA)
        ),
        "2.1.2 two_linear chain (bias beta - gamma mu/s, s = sqrt(var^2 + eps))": lambda h: (
            (GAMMA * h / s_212) / (GAMMA * (h - MEAN) / s_212 + BETA)
        ),
        "exact linearisation (ours, one_linear = two_linear)": lambda h: (
            (GAMMA * h / s) / (GAMMA * (h - MEAN) / s + BETA)
        ),
    }
    refs = {name: epsilon_chain(x, W1, b1, W2, f) for name, f in formulas.items()}
    rows = []
    analyses = {}
    for mode in ("one_linear", "two_linear"):
        analyzer = innvestigate.create_analyzer(
            "lrp.epsilon", model, epsilon=1e-7, bn_layer_fuse_mode=mode
        )
        analyses[mode] = analyzer.analyze(x.astype("float32"))
        for name, ref in refs.items():
            diff = np.abs(analyses[mode] - ref).max() / np.abs(ref).max()
            rows.append(
                [f"innvestigate 2.1.2 lrp.epsilon, bn_layer_fuse_mode={mode}", name, f"{diff:.3e}"]
            )
    gap = (
        np.abs(analyses["one_linear"] - analyses["two_linear"]).max()
        / np.abs(analyses["two_linear"]).max()
    )
    rows.append(["innvestigate 2.1.2 one_linear vs two_linear", "", f"{gap:.3e}"])
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "fig_v9_batchnorm_212.csv")
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["analysis", "compared_with", "max_relative_difference"])
        writer.writerows(rows)
    for row in rows:
        print(" | ".join(row))


if __name__ == "__main__":
    main()

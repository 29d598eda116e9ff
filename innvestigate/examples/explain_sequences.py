"""Explaining a transformer on tokens and a ViT on image patches (planted ground truth).

A small transformer learns the planted-token task (``shared_datasets.make_planted_tokens``:
one class token among random filler decides the class) and a small ViT the planted-patch task
(``make_planted_patches``: one 7x7 texture at a random cell of an MNIST-5k digit decides it);
a fifth label has nothing planted, so that the models must detect every class's token / texture.
The figures draw each test sequence as text coloured by relevance (red: for the explained
class, blue: against; the planted token framed) and each image's relevance with the planted
patch framed, for gradient × input, Integrated Gradients, occlusion, LRP-ε and AttnLRP.

    python innvestigate/examples/explain_sequences.py [--quick] --out DIR
"""

from __future__ import annotations

# First, before Keras: a quiet backend start-up (see _startup.py).
import _startup  # noqa: F401

# isort: split
import argparse
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

import innvestigate
import innvestigate.utils.visualizations as ivis

try:
    from . import _common as common
    from . import _sequence_models as sm
except ImportError:
    import _common as common
    import _sequence_models as sm

SEQ_LEN, VOCAB, N_CLASSES, PATCH = 16, 64, 4, 7
CLASS_WORDS = ["alpha", "beta", "gamma", "delta"]
METHODS = [
    ("input_t_gradient", {}, "Input*Grad"),
    ("integrated_gradients", {"steps": 16}, "Integr. Grad."),
    ("occlusion", None, "Occlusion"),
    ("lrp.epsilon", {"epsilon": 1e-6}, "LRP-Epsilon"),
    ("lrp.attnlrp", {}, "AttnLRP"),
]


def token_words(ids):
    """Token ids as words: the class tokens by name, filler as ``w<id>``, padding ``<pad>``."""
    return ["<pad>" if i == 0 else CLASS_WORDS[i - 1] if i <= N_CLASSES else f"w{i}" for i in ids]


def draw_token_heatmap(ax, words, relevance, planted, label):
    """One line of text, each word on a box coloured by its relevance (scaled by the line's max |R|)."""
    scale = np.abs(relevance).max() or 1.0
    cmap = plt.get_cmap("bwr")
    ax.set_xlim(0, len(words))
    ax.set_ylim(0, 1)
    ax.axis("off")
    ax.text(-0.2, 0.5, label, ha="right", va="center", fontsize=7)
    for j, (word, r) in enumerate(zip(words, relevance)):
        ax.add_patch(
            Rectangle(
                (j + 0.03, 0.1),
                0.94,
                0.8,
                facecolor=cmap(0.5 + 0.5 * r / scale),
                edgecolor="black" if j == planted else "none",
                linewidth=2.0,
            )
        )
        ax.text(
            j + 0.5,
            0.5,
            word,
            ha="center",
            va="center",
            fontsize=6,
            fontweight="bold" if j == planted else "normal",
        )


def main(out_dir, quick=False, cache_dir=None, n_samples=4):
    import shared_datasets

    os.makedirs(out_dir, exist_ok=True)
    n_train = 1500 if quick else 6000
    # a fifth, blank label (nothing planted) makes the models detect every class token / texture
    X, y, pos = shared_datasets.make_planted_tokens(
        n_train + 200, SEQ_LEN, VOCAB, N_CLASSES, include_blank=True, random_state=0
    )
    transformer = sm.token_transformer(SEQ_LEN, VOCAB, N_CLASSES + 1)
    sm.fit(transformer, X[:n_train], y[:n_train], epochs=3 if quick else 6)
    token_acc = sm.accuracy(transformer, X[n_train:], y[n_train:])
    shown = n_train + np.flatnonzero(pos[n_train:] >= 0)  # test samples with a planted token
    Xte, yte, pte = X[shown], y[shown], pos[shown]

    images, _, test_images, _ = shared_datasets.load("mnist5k")
    images = np.concatenate([images, test_images]).reshape(-1, 28, 28, 1) / 255.0
    n_img = 1500 if quick else 4000
    Xi, yi, idx = shared_datasets.make_planted_patches(
        images[: n_img + 200], N_CLASSES, patch=PATCH, include_blank=True, random_state=0
    )
    vit = sm.vit((28, 28, 1), PATCH, N_CLASSES + 1)
    sm.fit(vit, Xi[:n_img], yi[:n_img], epochs=3 if quick else 8)
    image_acc = sm.accuracy(vit, Xi[n_img:], yi[n_img:])
    shown = n_img + np.flatnonzero(idx[n_img:] >= 0)
    Xite, yite, idxte = Xi[shown], yi[shown], idx[shown]

    figures, rows, skipped = [], [], []
    token_maps, image_maps = {}, {}
    for name, params, label in METHODS:
        for kind, model, x, target in (
            ("tokens", transformer, Xte[:n_samples], yte[:n_samples]),
            ("images", vit, Xite[:n_samples], yite[:n_samples]),
        ):
            if params is None:  # occlusion: one token, or one patch, at a time
                params_k = (
                    {"patch_size": 1, "reference_value": 0}
                    if kind == "tokens"
                    else {"patch_size": PATCH, "reference_value": 0.0}
                )
            else:
                params_k = params
            try:
                analyzer = innvestigate.create_analyzer(
                    name, model, neuron_selection_mode="index", **params_k
                )
                R = np.asarray(analyzer.analyze(x, neuron_selection=target))
            except Exception as err:  # shown in the summary
                skipped.append(
                    f"- {label} ({kind}): not shown ({type(err).__name__}: {str(err)[:150]})"
                )
                continue
            (token_maps if kind == "tokens" else image_maps)[label] = R

    # token heatmaps: one panel per sample and method
    labels = list(token_maps)
    fig, axes = plt.subplots(
        n_samples * len(labels), 1, figsize=(9, 0.32 * n_samples * len(labels) + 0.6)
    )
    axes = np.atleast_1d(axes)
    for i in range(n_samples):
        words = token_words(Xte[i])
        for m, label in enumerate(labels):
            draw_token_heatmap(
                axes[i * len(labels) + m],
                words,
                token_maps[label][i],
                pte[i],
                f"#{i} {label}" if m else f"#{i} class {CLASS_WORDS[yte[i]]}: {label}",
            )
    fig.suptitle(
        f"Planted-token transformer (test accuracy {token_acc:.3f}); framed: the planted token",
        fontsize=8,
    )
    fig.tight_layout()
    path = os.path.join(out_dir, "sequences_token_heatmaps.png")
    fig.savefig(path, dpi=150)
    plt.close(fig)
    figures.append(path)

    # patch heatmaps: input and one heatmap per method, planted patch framed
    labels_i = list(image_maps)
    fig, axes = plt.subplots(
        n_samples, 1 + len(labels_i), figsize=(1.4 * (1 + len(labels_i)), 1.5 * n_samples)
    )
    axes = np.atleast_2d(axes)
    for i in range(n_samples):
        row, col = divmod(int(idxte[i]), 28 // PATCH)
        cells = [("input", Xite[i, ..., 0])] + [
            (lab, ivis.heatmap(image_maps[lab][i : i + 1])[0]) for lab in labels_i
        ]
        for j, (lab, img) in enumerate(cells):
            ax = axes[i, j]
            ax.imshow(img, cmap="gray" if j == 0 else None, vmin=0, vmax=1)
            ax.add_patch(
                Rectangle(
                    (col * PATCH - 0.5, row * PATCH - 0.5),
                    PATCH,
                    PATCH,
                    fill=False,
                    edgecolor="lime",
                    linewidth=1.2,
                )
            )
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(lab, fontsize=7)
    fig.suptitle(
        f"Planted-patch ViT on MNIST-5k (test accuracy {image_acc:.3f}); framed: the planted patch",
        fontsize=8,
    )
    fig.tight_layout()
    path = os.path.join(out_dir, "sequences_patch_heatmaps.png")
    fig.savefig(path, dpi=150)
    plt.close(fig)
    figures.append(path)

    for label, R in token_maps.items():
        top1, share = sm.planted_scores(R, pte[:n_samples])
        rows.append(["tokens", label, f"{top1.mean():.3f}", f"{share.mean():.3f}"])
    for label, R in image_maps.items():
        top1, share = sm.planted_scores(sm.patch_relevance(R, PATCH), idxte[:n_samples])
        rows.append(["patches", label, f"{top1.mean():.3f}", f"{share.mean():.3f}"])
    csv_path = os.path.join(out_dir, "sequences_planted.csv")
    common.write_csv(
        csv_path, ["task", "method", "planted_top1", "share_positive_on_planted"], rows
    )
    lines = [
        f"Transformer test accuracy {token_acc:.3f}, ViT {image_acc:.3f}. Planted token / patch ranked first "
        f"on the {n_samples} shown samples: "
        + ", ".join(f"{r[1]} ({r[0]}) {r[2]}" for r in rows)
        + "."
    ]
    lines += skipped
    return {
        "title": "Transformers on tokens and image patches (planted ground truth)",
        "figures": figures,
        "csv": [csv_path],
        "lines": lines,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    print("\n".join(main(args.out, args.quick)["lines"]))

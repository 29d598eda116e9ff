"""The visualisation techniques of thesis Chapter V §3.4.3 (Fig. V.6, Appendix 2.4).

PatternAttribution explanations of a VGG-like Fashion-MNIST network shown as a graymap,
a red-blue heatmap, the input scaled by the relevance, the input masked to its most
relevant segments and a blurred heatmap blended with the input; the last column projects
PatternNet's signal back into the input range.

    python innvestigate/examples/visualizations.py [--quick] --out DIR
"""

from __future__ import annotations

# First, before Keras: a quiet backend start-up (see _startup.py).
import _startup  # noqa: F401

# isort: split
import argparse
import os

import numpy as np

import innvestigate
import innvestigate.utils.visualizations as ivis

try:
    from . import _common as common
except ImportError:
    import _common as common


def main(out_dir, quick=False, cache_dir=None, dataset="fashion_mnist"):
    os.makedirs(out_dir, exist_ok=True)
    model, (X_train, _, X_test, y_test), accuracy, _ = common.trained_vgg(dataset, quick, cache_dir)
    model_wo_sm = innvestigate.model_wo_softmax(model)
    x = X_test[[0, 1, 2, 3]]
    attribution = innvestigate.create_analyzer(
        "pattern.attribution", model_wo_sm, pattern_type="relu"
    )
    attribution.fit(X_train[:2000], batch_size=256)
    signal = innvestigate.create_analyzer(
        "pattern.net", model_wo_sm, patterns=attribution.patterns_
    )
    relevance, patterns = attribution.analyze(x), signal.analyze(x)
    # superpixels on 28x28 grey images: a regular 4x4-pixel grid
    segments = np.arange(49).reshape(7, 7).repeat(4, 0).repeat(4, 1)
    columns = {
        "Input": x,
        "Graymap": ivis.graymap(relevance),
        "Heatmap": ivis.heatmap(relevance),
        "Scaling": ivis.scale_input(relevance, x),
        "Masking": ivis.mask_top_segments(relevance, x, segments, top_k=12),
        "Blending": ivis.blend_with_input(relevance, x, sigma=1.5),
        "Back-projection": ivis.project_to_input_range(patterns),
    }
    grid = [[columns[name][i] for name in columns] for i in range(len(x))]
    names = common.CLASS_NAMES[dataset]
    path = os.path.join(out_dir, "fig_v6_visualizations.png")
    ivis.plot_grid(
        grid,
        col_labels=list(columns),
        row_labels_left=[names[y] for y in y_test[: len(x)]],
        file_name=path,
        title=f"PatternAttribution (columns 2-6) and PatternNet (last column); VGG-like on {dataset}, "
        f"test acc. {accuracy:.3f}",
    )
    positive = np.maximum(relevance[..., 0], 0).reshape(len(x), -1)
    per_segment = np.stack(
        [np.bincount(segments.ravel(), weights=p, minlength=49) for p in positive]
    )
    top_share = np.sort(per_segment, axis=1)[:, -12:].sum(1) / per_segment.sum(1)
    lines = [
        f"Six visualisations of the same explanations of {len(x)} {dataset} test images "
        f"(network test accuracy {accuracy:.3f}). The 12 of 49 segments richest in positive "
        f"relevance (a quarter of the area) hold {top_share.mean():.0%} of it on average."
    ]
    return {"title": "Visualisations (Fig. V.6)", "figures": [path], "csv": [], "lines": lines}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    print(
        "\n".join(main(args.out, args.quick, cache_dir=os.path.join(args.out, "_models"))["lines"])
    )

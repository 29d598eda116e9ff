"""Perturbation analysis and bounding-box ratio, checked on models whose answers are known."""

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from innvestigate.tools.bounding_box import (
    bounding_box_mask,
    bounding_box_relevance_ratio,
    rank_classes_by_ratio,
)
from innvestigate.tools.perturbation import (
    Perturbation,
    PerturbationAnalysis,
    PerturbationResult,
    aopc,
    plot_perturbation_curves,
)

RNG = np.random.default_rng(7)
H = W = 6
N_CLASSES = 3
WEIGHTS = RNG.normal(size=(H * W * 2, N_CLASSES))


def linear_model(x):
    """f(x) = x . w  without bias; its exact relevance is x * w (LRP-Z = input x gradient)."""
    return np.asarray(x).reshape(len(x), -1) @ WEIGHTS


def exact_relevance(x, neuron_selection=None):
    x = np.asarray(x)
    if neuron_selection is None:
        neuron_selection = np.argmax(linear_model(x), axis=1)
    w = WEIGHTS[:, np.broadcast_to(neuron_selection, (len(x),))].T
    return x * w.reshape(x.shape)


X = RNG.normal(size=(10, H, W, 2))


def test_region_relevance_and_order():
    p = Perturbation("zero", region_shape=(4, 4))  # 6x6 -> 2x2 grid with smaller border regions
    assert p.grid_shape((6, 6)) == (2, 2)
    R = RNG.normal(size=(2, 6, 6, 2))
    got = p.region_relevance(R)
    Rs = R.sum(-1)
    expected = np.stack(
        [[r[:4, :4].sum(), r[:4, 4:].sum(), r[4:, :4].sum(), r[4:, 4:].sum()] for r in Rs]
    )
    np.testing.assert_allclose(got, expected)
    np.testing.assert_array_equal(p.region_order(R, "morf"), np.argsort(-expected, axis=1))
    np.testing.assert_array_equal(p.region_order(R, "lerf"), np.argsort(expected, axis=1))
    rand = p.region_order(R, "random", random_state=0)
    assert all(sorted(r) == [0, 1, 2, 3] for r in rand)
    np.testing.assert_array_equal(rand, p.region_order(R, "random", random_state=0))


def test_perturbation_functions_touch_exactly_the_region():
    x = RNG.uniform(size=(2, 6, 6, 3))
    regions = np.array([[0], [3]])
    inside = np.zeros((2, 6, 6), bool)
    inside[0, :3, :3] = True
    inside[1, 3:, 3:] = True
    for name in ("zero", "mean", "uniform", "blur", 0.25):
        p = Perturbation(name, region_shape=(3, 3), value_range=(-1.0, -0.5))
        out = p.perturb(x, regions, random_state=1)
        np.testing.assert_array_equal(out[~inside], x[~inside])
        assert not np.any(out[inside] == x[inside]), name
        region = out[0, :3, :3]
        if name == "zero":
            np.testing.assert_array_equal(region, 0.0)
        elif name == 0.25:
            np.testing.assert_array_equal(region, 0.25)
        elif name == "mean":
            np.testing.assert_allclose(
                region, np.broadcast_to(x[0, :3, :3].mean((0, 1)), (3, 3, 3))
            )
        elif name == "uniform":
            assert region.min() >= -1.0 and region.max() <= -0.5
        elif name == "blur":
            blurred = gaussian_filter(x[0], sigma=(2.0, 2.0, 0), mode="reflect")
            np.testing.assert_allclose(region, blurred[:3, :3])
    # channels-first gives the same as channels-last
    p_cl = Perturbation("mean", region_shape=(3, 3))
    p_cf = Perturbation("mean", region_shape=(3, 3), channel_axis=1)
    out_cf = p_cf.perturb(np.moveaxis(x, -1, 1), regions)
    np.testing.assert_allclose(np.moveaxis(out_cf, 1, -1), p_cl.perturb(x, regions))


def test_morf_curve_of_linear_model_is_exact_and_beats_random():
    # 1x1 regions summed over channels: removing a pixel (zero) subtracts its exact relevance
    pert = Perturbation("zero", region_shape=(1, 1))
    steps = 12
    pa = PerturbationAnalysis(
        exact_relevance, linear_model, pert, steps=steps, batch_size=4, progress=False
    )
    morf = pa.compute(X, order="morf")
    f0 = linear_model(X)
    target = f0.argmax(1)
    contributions = exact_relevance(X).sum(-1).reshape(len(X), -1)
    top = -np.sort(-contributions, axis=1)[:, :steps]
    expected = f0[np.arange(len(X)), target][:, None] - np.concatenate(
        [np.zeros((len(X), 1)), np.cumsum(top, axis=1)], axis=1
    )
    np.testing.assert_allclose(morf.scores, expected)
    np.testing.assert_allclose(morf.aopc, np.mean(expected[:, :1] - expected))
    # MoRF removes the largest positive contributions: optimal, so >= any order
    rand = pa.compute(X, order="random", random_state=0)
    lerf = pa.compute(X, order="lerf")
    assert morf.aopc > rand.aopc > lerf.aopc
    assert morf.n_perturbed_regions.tolist() == list(range(steps + 1))
    np.testing.assert_allclose(morf.aopc_curve[-1], morf.aopc)


def test_neuron_selection_targets_and_generators():
    y = RNG.integers(0, N_CLASSES, size=len(X))
    pert = Perturbation("zero", region_shape=(2, 2))
    pa = PerturbationAnalysis(
        exact_relevance, linear_model, pert, steps=3, regions_per_step=2, progress=False
    )
    by_array = pa.compute(X, neuron_selection=y)
    gen = ((X[i : i + 3], y[i : i + 3]) for i in range(0, len(X), 3))
    by_gen = pa.compute(gen, neuron_selection="targets")
    np.testing.assert_allclose(by_array.scores, by_gen.scores)
    np.testing.assert_allclose(by_array.scores[:, 0], linear_model(X)[np.arange(len(X)), y])
    assert by_array.n_perturbed_regions.tolist() == [0, 2, 4, 6]


def test_aopc_and_errors(tmp_path):
    assert aopc([[3.0, 2.0, 1.0], [1.0, 1.0, 1.0]]) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="Unknown perturbation_function"):
        Perturbation("gauss")
    with pytest.raises(ValueError, match="region_shape"):
        Perturbation("zero", region_shape=(0, 2))
    pa = PerturbationAnalysis(
        exact_relevance, linear_model, Perturbation("zero", (3, 3)), steps=5, progress=False
    )
    with pytest.raises(ValueError, match="exceeds"):
        pa.compute(X)
    with pytest.raises(ValueError, match="Unknown order"):
        pa.compute(X, order="best")
    result = PerturbationResult("morf", np.array([[2.0, 1.0], [4.0, 0.0]]), np.arange(2))
    path = tmp_path / "curve.png"
    plot_perturbation_curves({"m": result}, file_name=path)
    assert path.stat().st_size > 1000


def test_bounding_box_ratio():
    R = np.zeros((2, 5, 5, 2))
    R[0, 1:3, 1:3, 0] = 1.0  # 4 inside
    R[0, 4, 4, 1] = -2.0  # 2 outside
    R[1, 0, 0, 0] = 3.0  # all outside
    boxes = np.array([[1, 1, 3, 3], [1, 1, 3, 3]])
    np.testing.assert_allclose(bounding_box_relevance_ratio(R, boxes), [2.0, 0.0])
    dens = bounding_box_relevance_ratio(R, boxes, normalize_by_area=True)
    np.testing.assert_allclose(dens[0], (4 / 4) / (2 / 21))
    masks = np.stack([bounding_box_mask((5, 5), b) for b in boxes])
    np.testing.assert_allclose(bounding_box_relevance_ratio(R, masks), [2.0, 0.0])
    # several boxes per sample are united
    two = bounding_box_relevance_ratio(R[:1], [[(1, 1, 3, 3), (4, 4, 5, 5)]])
    assert np.isinf(two[0])
    ranking = rank_classes_by_ratio([2.0, 0.0, 1.0], [5, 7, 5])
    assert ranking == [(7, 0.0, 1), (5, 1.5, 2)]
    with pytest.raises(ValueError, match="empty"):
        bounding_box_mask((5, 5), [(3, 3, 1, 1)])
    with pytest.raises(ValueError, match="box entries"):
        bounding_box_relevance_ratio(R, boxes[:1])

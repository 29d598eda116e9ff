"""Value tests of innvestigate.utils.visualizations against the definitions of Appendix 2.4."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.image as mpimg
import numpy as np
import pytest

import innvestigate.utils.visualizations as ivis

RNG = np.random.default_rng(1)


def test_reduce_channels_ops():
    X = np.array([[[[1.0, -3.0, 2.0]]]])
    assert ivis.reduce_channels(X, op="sum")[0, 0, 0] == 0.0
    assert ivis.reduce_channels(X, op="abs_sum")[0, 0, 0] == 6.0
    assert ivis.reduce_channels(X, op="absmax")[0, 0, 0] == -3.0
    assert np.isclose(ivis.reduce_channels(X, op="norm")[0, 0, 0], np.sqrt(14))
    # channels-first gives the same
    Xcf = np.moveaxis(RNG.normal(size=(2, 5, 5, 3)), -1, 1)
    np.testing.assert_allclose(
        ivis.reduce_channels(Xcf, channel_axis=1), np.moveaxis(Xcf, 1, -1).sum(-1)
    )
    with pytest.raises(ValueError, match="Unknown channel reduction"):
        ivis.reduce_channels(X, op="median")


def test_heatmap_matches_appendix_formula_and_sign_colours():
    X = RNG.normal(size=(3, 6, 6, 3))
    got = ivis.heatmap(X)
    # Appendix 2.4: sum channels, / max|.| * 127.5 + 127.5, seismic lookup (per sample)
    e = X.sum(-1)
    e = e / np.abs(e).reshape(3, -1).max(1)[:, None, None]
    expected = matplotlib.colormaps["seismic"](e * 0.5 + 0.5)[..., :3]
    np.testing.assert_allclose(got, expected)
    pos = ivis.heatmap(np.array([[[[1.0]], [[0.0]], [[-1.0]]]]))[0, :, 0]
    assert pos[0, 0] > 0.45 and pos[0, 2] < 0.05  # dark red
    np.testing.assert_allclose(pos[1], [1.0, 1.0, 1.0], atol=0.01)  # zero is white
    assert pos[2, 2] > 0.25 and pos[2, 0] < 0.05  # dark blue
    # each sample is scaled on its own
    both = ivis.heatmap(np.stack([X[0], 100 * X[0]]))
    np.testing.assert_allclose(both[0], both[1])


def test_graymap_is_abs_and_black_at_zero():
    X = RNG.normal(size=(2, 4, 4, 3))
    got = ivis.graymap(X)
    e = np.abs(X).sum(-1)
    e = e / e.reshape(2, -1).max(1)[:, None, None]
    np.testing.assert_allclose(got, matplotlib.colormaps["gray"](e)[..., :3])
    np.testing.assert_allclose(ivis.graymap(-X), got)
    np.testing.assert_array_equal(ivis.graymap(np.zeros((1, 2, 2, 1))), 0.0)


def test_project_and_project_to_input_range():
    X = np.array([[-2.0, 0.0, 1.0], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(ivis.project(X), [[0.0, 0.5, 0.75], [0.5, 0.5, 0.5]])
    np.testing.assert_allclose(
        ivis.project(np.abs(X), input_is_positive_only=True), [[1.0, 0.0, 0.5], [0, 0, 0]]
    )
    np.testing.assert_allclose(ivis.project(X, absmax=1.0)[0], [0.0, 0.5, 1.0])  # clipped
    S = RNG.normal(size=(2, 3, 3, 3))
    out = ivis.project_to_input_range(S, input_range=(-1.0, 1.0))
    # per channel, not reduced: a linear map x -> x / max|x| per sample
    np.testing.assert_allclose(out, S / np.abs(S).reshape(2, -1).max(1)[:, None, None, None])


def test_scale_input_and_blend():
    R = np.zeros((1, 3, 3, 1))
    R[0, 1, 1, 0] = 4.0
    R[0, 0, 0, 0] = -2.0
    img = RNG.uniform(size=(1, 3, 3, 3))
    scaled = ivis.scale_input(np.repeat(R, 3, -1) / 3, img)
    np.testing.assert_allclose(scaled[0, 1, 1], img[0, 1, 1])
    np.testing.assert_allclose(scaled[0, 0, 0], 0.5 * img[0, 0, 0])
    np.testing.assert_array_equal(scaled[0, 2, 2], 0.0)
    # blending without blur: where e=0 the image, where e=1 the colour map's top
    blended = ivis.blend_with_input(np.abs(R), img, sigma=0)
    np.testing.assert_allclose(blended[0, 2, 2], img[0, 2, 2])
    np.testing.assert_allclose(blended[0, 1, 1], matplotlib.colormaps["jet"](1.0)[:3])
    np.testing.assert_allclose(
        blended[0, 0, 0], 0.5 * img[0, 0, 0] + 0.5 * np.array(matplotlib.colormaps["jet"](0.5)[:3])
    )
    # blur spreads relevance to the neighbours
    assert ivis.blend_with_input(R, img, sigma=1.0)[0, 2, 1].tolist() != img[0, 2, 1].tolist()
    with pytest.raises(ValueError, match=r"scaled to \[0, 1\]"):
        ivis.scale_input(R, img * 255)


def test_mask_top_segments_keeps_the_best_segments():
    img = np.full((1, 4, 4, 1), 0.7)
    seg = np.repeat(np.repeat(np.arange(4).reshape(2, 2), 2, 0), 2, 1)
    R = np.zeros((1, 4, 4, 1))
    R[0, 0, 3] = 3.0  # segment 1, max 3
    R[0, 3, 0] = 1.0  # segment 2
    R[0, 3, 3] = 0.5  # segment 3
    R[0, 2, 2] = 0.5
    out = ivis.mask_top_segments(R, img, seg, top_k=2)[0, ..., 0]
    expected = np.where(np.isin(seg, [1, 2]), 0.7, 0.0)
    np.testing.assert_array_equal(out, expected)
    out_sum = ivis.mask_top_segments(R, img, seg, top_k=2, score="sum")[0, ..., 0]
    np.testing.assert_array_equal(out_sum, np.where(np.isin(seg, [1, 2]), 0.7, 0.0))
    out_sum3 = ivis.mask_top_segments(R, img, seg, top_k=1, score="sum")[0, ..., 0]
    np.testing.assert_array_equal(out_sum3, np.where(seg == 1, 0.7, 0.0))
    # default SLIC segmentation: top_k segments cover part, not all, of the image
    rgb = np.zeros((1, 16, 16, 3))
    rgb[0, :8, :8] = [0.9, 0.1, 0.1]
    rgb[0, :8, 8:] = [0.1, 0.9, 0.1]
    rgb[0, 8:, :8] = [0.1, 0.1, 0.9]
    rgb[0, 8:, 8:] = [0.8, 0.8, 0.2]
    masked = ivis.mask_top_segments(RNG.normal(size=(1, 16, 16, 3)), rgb, top_k=2, n_segments=4)
    kept = np.any(masked[0] != 0, axis=-1)
    assert 0 < kept.sum() < 256
    np.testing.assert_array_equal(masked[0][kept], rgb[0][kept])


def test_gamma_and_clip_quantile():
    X = np.array([[-4.0, -1.0, 0.0, 1.0, 4.0]])
    np.testing.assert_allclose(ivis.gamma(X, gamma=0.5), [[-4.0, -2.0, 0.0, 2.0, 4.0]])
    np.testing.assert_allclose(ivis.gamma(X, gamma=1.0), X)
    np.testing.assert_allclose(ivis.gamma(X, gamma=2.0), [[-4.0, -0.25, 0.0, 0.25, 4.0]])
    Y = RNG.normal(size=(3, 50))
    got = ivis.clip_quantile(Y, 5)
    for i in range(3):
        lo, hi = np.percentile(Y[i], [5, 95])
        np.testing.assert_allclose(got[i], np.clip(Y[i], lo, hi))
    with pytest.raises(ValueError, match="gamma must be positive"):
        ivis.gamma(X, gamma=0)
    with pytest.raises(ValueError, match="quantile"):
        ivis.clip_quantile(Y, (90, 10))


def test_bad_inputs():
    with pytest.raises(ValueError, match="batch"):
        ivis.heatmap(np.zeros(3))
    with pytest.raises(ValueError, match="NaN"):
        ivis.heatmap(np.full((1, 2, 2, 1), np.nan))
    with pytest.raises(TypeError, match="numeric"):
        ivis.graymap(np.array([["a"]]))
    with pytest.raises(ValueError, match="do not match"):
        ivis.scale_input(np.zeros((1, 3, 3, 1)), np.zeros((1, 4, 4, 3)))


def test_plot_grid_writes_png(tmp_path):
    X = RNG.normal(size=(2, 8, 8, 3))
    grid = [[ivis.heatmap(X)[i], ivis.graymap(X)[i], None] for i in range(2)]
    path = tmp_path / "sub" / "grid.png"
    fig = ivis.plot_grid(
        grid,
        col_labels=["Heatmap", "Graymap", "n/a"],
        row_labels_left=["true 3\npred 2", "true 1\npred 1"],
        row_labels_right=["p=0.61\nlogit=3.2", "p=0.99\nlogit=9.0"],
        file_name=path,
        title="test",
    )
    image = mpimg.imread(path)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 150
    # Each cell shows its array, unchanged; the empty cell shows nothing.
    drawn = [np.asarray(ax.images[0].get_array()) if ax.images else None for ax in fig.axes[:6]]
    for cell, expected in zip(drawn, [c for row in grid for c in row]):
        if expected is None:
            assert cell is None
        else:
            np.testing.assert_array_equal(cell, expected)
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert "p=0.61\nlogit=3.2" in texts
    assert [p.name for p in path.parent.iterdir()] == ["grid.png"]  # no temp file left
    with pytest.raises(ValueError, match="cells"):
        ivis.plot_grid([[grid[0][0]], [grid[0][0], grid[0][1]]])
    with pytest.raises(ValueError, match="col_labels"):
        ivis.plot_grid(grid, col_labels=["a"])

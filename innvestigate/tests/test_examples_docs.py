"""The docs' code runs and does what it says (docs/adding_a_method.md asserts its own results)."""

import pathlib
import re

import pytest

DOCS = pathlib.Path(__file__).resolve().parents[1] / "docs"


def _code_blocks(path):
    return re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S)


@pytest.mark.backend
def test_adding_a_method_page_runs_and_matches_builtins():
    blocks = _code_blocks(DOCS / "adding_a_method.md")
    assert len(blocks) >= 6
    namespace = {}
    for block in blocks:
        exec(compile(block, "adding_a_method.md", "exec"), namespace)
    assert "my.z_plus" not in namespace["innvestigate"].analyzer.ANALYZERS


@pytest.mark.backend
def test_readme_five_lines_write_a_heatmap(tmp_path, monkeypatch):
    import keras
    import matplotlib.image as mpimg
    import numpy as np

    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    x = np.random.default_rng(0).uniform(size=(2, 8, 8, 1)).astype("float32")
    readme = DOCS.parent / "README.md"
    block = _code_blocks(readme)[0]
    assert len(block.strip().splitlines()) == 5
    monkeypatch.chdir(tmp_path)
    namespace = {"model": model, "x": x}
    exec(compile(block, "README.md", "exec"), namespace)
    image = mpimg.imread(tmp_path / "heatmap.png")
    assert image.shape[:2] == (8, 8)
    # the heatmap is the epsilon-LRP relevance of the pre-softmax model, red where positive
    relevance = namespace["relevance"][0, ..., 0]
    red_minus_blue = image[..., 0] - image[..., 2]
    assert np.all(
        np.sign(red_minus_blue[np.abs(relevance) > 0.2 * np.abs(relevance).max()])
        == np.sign(relevance[np.abs(relevance) > 0.2 * np.abs(relevance).max()])
    )

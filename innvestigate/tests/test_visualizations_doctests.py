"""The docstring examples of the visualisation, batching and evaluation modules run as shown."""

import doctest
import importlib

import pytest

MODULES = [
    "innvestigate.utils.visualizations",
    "innvestigate.utils.batching",
    "innvestigate.tools.perturbation",
    "innvestigate.tools.bounding_box",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0

"""The docstring examples of the engine and analyzer modules run and print what they say."""

import doctest
import importlib

import pytest

MODULES = [
    "innvestigate",
    "innvestigate.backend",
    "innvestigate.exceptions",
    "innvestigate.engine.graph",
    "innvestigate.engine.canonizers",
    "innvestigate.analyzer",
    "innvestigate.analyzer.base",
    "innvestigate.analyzer.misc",
    "innvestigate.analyzer.gradient_based",
    "innvestigate.analyzer.perturbation_based",
    "innvestigate.analyzer.deeptaylor",
    "innvestigate.analyzer.pattern",
    "innvestigate.analyzer.lrp.rules",
    "innvestigate.analyzer.lrp.composites",
    "innvestigate.analyzer.lrp.analyzer",
    "innvestigate.utils.model",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    assert result.failed == 0

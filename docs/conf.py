"""Sphinx configuration of the workspace's documentation site (``make docs``).

One site, one section per distribution. The user guides include the packages' own
Markdown files (README, BENCHMARKS, CHANGELOG, REPRODUCTION when it exists, the
workspace's RELIABILITY.md) rather than copying them; the API reference is generated
from the numpydoc docstrings; the innvestigate example gallery shows figures that
``docs/render_gallery.py`` pre-rendered (the examples train networks for minutes).
"""

from __future__ import annotations

import os
import sys

# Before anything imports Keras: autodoc imports the packages. TensorFlow's C++ start-up
# lines (CUDA probing on CPU-only machines) are silenced; they are not Sphinx warnings
# but would bury the build log.
os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")


def _import_quietly(*modules: str) -> None:
    """Imports modules with the process' stderr (file descriptor 2) sent to /dev/null.

    TensorFlow's C++ libraries write start-up lines ("Could not find cuda drivers", oneDNN,
    absl::InitializeLog) straight to file descriptor 2 before TF_CPP_MIN_LOG_LEVEL is read;
    they are noise, not Sphinx warnings. An import that fails still raises, after stderr is
    restored.
    """
    import importlib

    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        for module in modules:
            importlib.import_module(module)
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


_import_quietly("tensorflow", "keras")

DOCS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(DOCS)
sys.path.insert(0, os.path.join(DOCS, "_ext"))

project = "xcsvm · rbkernels · innvestigate · shared-datasets"
author = "the workspace's authors"
copyright = "the workspace's authors"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
    "sphinx_design",
    "sphinx_copybutton",
    "workspace_pages",  # docs/_ext: REPRODUCTION pages when present, the example gallery
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "README.md", "tests", "requirements.txt"]

# Markdown (the packages' own files, included).
myst_enable_extensions = ["colon_fence", "deflist", "dollarmath"]
myst_heading_anchors = 3

# API reference.
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"  # numpydoc's Parameters section is the documentation
autosummary_generate = False
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks: set[str] = set()


def _skip_member(app, what, name, obj, skip, options):
    # scikit-learn attaches set_fit_request/set_score_request (metadata routing) to every
    # estimator; they are scikit-learn's, documented there, and their docstrings refer to
    # scikit-learn's own glossary.
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_member)


# HTML.
html_theme = "pydata_sphinx_theme"
html_title = "Research ML workspace"
html_static_path: list[str] = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 6,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
# Without a default mode the theme logs "Got invalid theme mode" in the browser console.
html_context = {"default_mode": "auto"}
html_show_sourcelink = False
html_last_updated_fmt = None

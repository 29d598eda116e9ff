"""Fuzzing the analyzer-file reader (issue 15, item 7): random and mutated ``analyzer.json`` and
``arrays.npz`` (truncated, bit-flipped, bytes inserted or deleted, keys and values edited,
arrays replaced) must either load an analyzer that holds exactly what the files say, or raise
:class:`~innvestigate.AnalyzerFileError` - never another exception, never a hang.

Seed directories are saved once per module without their model (``load_analyzer(path,
model=...)`` takes the model built here), so an example costs one load.

Profiles (``INNVESTIGATE_HYPOTHESIS_PROFILE``):

* ``inn-quick`` (default, in the normal test suite): derandomized, 40 examples per target;
* ``inn-fuzz``: 10 000 examples per target, random seeds, 20 s deadline per example::

    cd innvestigate && INNVESTIGATE_HYPOTHESIS_PROFILE=inn-fuzz KERAS_BACKEND=tensorflow \\
        nice -n 10 python -m pytest -q -p no:cacheprovider tests/test_fuzz_analyzer_files.py
"""

import json
import os
import shutil
import tempfile
from datetime import timedelta

import keras
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import innvestigate
from innvestigate import AnalyzerFileError
from innvestigate.analyzer import ANALYZERS
from innvestigate.analyzer.files import _canonical, _same_json

settings.register_profile(
    "inn-quick",
    derandomize=True,
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "inn-fuzz",
    max_examples=10_000,
    deadline=timedelta(seconds=20),
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
PROFILE = settings.get_profile(os.environ.get("INNVESTIGATE_HYPOTHESIS_PROFILE", "inn-quick"))

SEEDS = {
    "ig": (
        "integrated_gradients",
        {"steps": 3, "reference_inputs": np.array([0.5, -1.0, 0.25], "float32")},
    ),
    "alpha_beta": ("lrp.alpha_beta", {"alpha": 3.0, "beta": 2.0, "bn_layer_rule": "hui_binder"}),
    "lrp_rules": (
        "lrp",
        {
            "rule": "Epsilon",
            "rules": [(keras.layers.Dense, "Alpha1Beta0"), ("last", "Z")],
            "input_layer_rule": (-1.0, 1.0),
        },
    ),
    "pattern": ("pattern.attribution", {}),
    "smoothgrad": (
        "smoothgrad",
        {"augment_by_n": 3, "noise_scale": 0.2, "postprocess": "abs", "random_state": 4},
    ),
    "bounded": ("deep_taylor.bounded", {"low": -2.0, "high": 2.0}),
    "occlusion": ("occlusion", {"patch_size": 2, "reference_value": 0.1}),
}
PARAM_NAMES = sorted(
    {k for _, kw in SEEDS.values() for k in kw}
    | {"neuron_selection_mode", "output_index", "epsilon", "batch_size"}
)


def _model():
    rng = np.random.default_rng(0)
    model = keras.Sequential(
        [
            keras.Input((3,)),
            keras.layers.Dense(4, activation="relu"),
            keras.layers.Dense(2, name="last"),
        ]
    )
    for layer in model.layers:
        layer.set_weights([rng.normal(size=w.shape).astype(w.dtype) for w in layer.get_weights()])
    return model


@pytest.fixture(scope="module")
def seeds():
    model = _model()
    root = tempfile.mkdtemp(prefix="inn-fuzz-seeds-")
    X = np.random.default_rng(1).normal(size=(16, 3)).astype("float32")
    for key, (name, kwargs) in SEEDS.items():
        analyzer = innvestigate.create_analyzer(name, model, **kwargs)
        if name.startswith("pattern"):
            analyzer.fit(X)
        analyzer.save(os.path.join(root, key), save_model=False)
    yield model, root
    shutil.rmtree(root, ignore_errors=True)


# -- the property ------------------------------------------------------------------------------
def _file_content(path):
    """What the (mutated) files say, read independently of the loader; None if unreadable."""
    try:
        with open(os.path.join(path, "analyzer.json"), "rb") as f:
            spec = json.loads(f.read().decode("utf-8"))
        with np.load(os.path.join(path, "arrays.npz"), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except Exception:
        return None
    return spec, arrays


def _check_load(path, model):
    """Loads ``path``: an AnalyzerFileError, or an analyzer holding exactly what the files say."""
    try:
        loaded = innvestigate.load_analyzer(path, model=model)
    except AnalyzerFileError as err:
        assert str(err).startswith("Cannot load the analyzer saved at")
        return None
    content = _file_content(path)
    assert content is not None, "loaded files that cannot be read"
    spec, arrays = content
    assert type(loaded) is ANALYZERS[spec["analyzer"]] and loaded.name == spec["analyzer"]
    params = loaded.get_params()
    json_params = json.loads(
        json.dumps({k: v for k, v in params.items() if not isinstance(v, np.ndarray)})
    )
    for key, value in spec["params"].items():
        assert _same_json(_canonical(key, json_params[key]), _canonical(key, value)), key
    for key, array in arrays.items():
        kind, name = key.split(":", 1)
        kept = params[name] if kind == "param" else loaded._array_state()[name]
        kept = np.asarray(kept)
        assert (
            kept.dtype == array.dtype and kept.shape == array.shape and np.array_equal(kept, array)
        ), key
    assert set(loaded._array_state()) == {
        k.split(":", 1)[1] for k in arrays if k.startswith("state:")
    }
    return loaded


# -- mutations -----------------------------------------------------------------------------
def _mutate_bytes(data: bytes, draw) -> bytes:
    kind = draw(st.sampled_from(["truncate", "flip", "insert", "delete", "overwrite", "random"]))
    n = len(data)
    if kind == "random":
        return draw(st.binary(max_size=256))
    pos = draw(st.integers(0, max(n - 1, 0)))
    if kind == "truncate":
        return data[:pos]
    if kind == "flip":
        out = bytearray(data)
        for _ in range(draw(st.integers(1, 8))):
            i = draw(st.integers(0, max(n - 1, 0)))
            if n:
                out[i] ^= 1 << draw(st.integers(0, 7))
        return bytes(out)
    if kind == "insert":
        return data[:pos] + draw(st.binary(min_size=1, max_size=16)) + data[pos:]
    if kind == "delete":
        return data[:pos] + data[pos + draw(st.integers(1, 16)) :]
    chunk = draw(st.binary(min_size=1, max_size=16))
    return data[:pos] + chunk + data[pos + len(chunk) :]


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(
        ["relu", "linear", "fuse", "Z", "Epsilon", "index", "all", "abs", "max_activation"]
    ),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=10,
)
KEYS = st.sampled_from(["analyzer", "class", "params", "format"] + PARAM_NAMES) | st.text(
    max_size=10
)


def _edit_json(spec, draw):
    kind = draw(
        st.sampled_from(["set_param", "del_param", "set_top", "del_top", "swap_analyzer", "whole"])
    )
    if kind == "whole":
        return draw(JSON_VALUES)
    if (
        kind in ("set_param", "del_param")
        and isinstance(spec.get("params"), dict)
        and spec["params"]
    ):
        key = draw(st.sampled_from(sorted(spec["params"])) | KEYS)
        if kind == "del_param":
            spec["params"].pop(key, None)
        else:
            spec["params"][key] = draw(JSON_VALUES)
    elif kind == "swap_analyzer":
        spec["analyzer"] = draw(st.sampled_from(sorted(ANALYZERS)))
        if draw(st.booleans()):
            spec["class"] = ANALYZERS[spec["analyzer"]].__name__
    elif kind == "del_top":
        spec.pop(draw(KEYS), None)
    else:
        spec[draw(KEYS)] = draw(JSON_VALUES)
    return spec


ARRAYS = hnp.arrays(
    dtype=st.sampled_from(
        [
            np.float32,
            np.float64,
            np.int32,
            np.int64,
            np.bool_,
            np.uint8,
            np.complex64,
            np.dtype("<U3"),
        ]
    ),
    shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4),
)


def _edit_arrays(arrays, draw):
    kind = draw(st.sampled_from(["replace", "delete", "add", "reshape", "retype", "nan"]))
    keys = sorted(arrays)
    if kind == "delete" and keys:
        arrays.pop(draw(st.sampled_from(keys)))
    elif kind in ("replace", "add") or not keys:
        key = (
            draw(st.sampled_from(keys))
            if kind == "replace" and keys
            else draw(
                st.sampled_from(
                    [
                        "param:reference_inputs",
                        "param:reference_value",
                        "state:pattern_0",
                        "state:pattern_9",
                        "param:low",
                    ]
                )
                | st.text(min_size=1, max_size=12).map(lambda s: "param:" + s.replace("/", ""))
            )
        )
        arrays[key] = draw(ARRAYS)
    else:
        key = draw(st.sampled_from(keys))
        a = arrays[key]
        if kind == "reshape":
            arrays[key] = (
                a.reshape(-1)[: draw(st.integers(0, a.size))]
                if a.size
                else np.zeros(draw(st.integers(1, 3)), a.dtype)
            )
        elif kind == "retype":
            arrays[key] = a.astype(
                draw(st.sampled_from([np.float16, np.float64, np.int8, np.bool_]))
            )
        elif a.size and a.dtype.kind == "f":
            a = a.copy()
            a.flat[draw(st.integers(0, a.size - 1))] = draw(
                st.sampled_from([np.nan, np.inf, -np.inf])
            )
            arrays[key] = a
    return arrays


@settings(PROFILE)
@given(data=st.data())
def test_fuzz_byte_mutations(seeds, data):
    model, root = seeds
    seed = data.draw(st.sampled_from(sorted(SEEDS)))
    target = data.draw(st.sampled_from(["analyzer.json", "arrays.npz"]))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "a")
        shutil.copytree(os.path.join(root, seed), path)
        with open(os.path.join(path, target), "rb") as f:
            original = f.read()
        mutated = _mutate_bytes(original, data.draw)
        with open(os.path.join(path, target), "wb") as f:
            f.write(mutated)
        loaded = _check_load(path, model)
        if target == "arrays.npz" and loaded is not None:
            # the zip checksums cover every array byte: only an unchanged array set loads
            with (
                np.load(os.path.join(root, seed, "arrays.npz")) as before,
                np.load(os.path.join(path, "arrays.npz")) as after,
            ):
                assert sorted(before.files) == sorted(after.files)
                assert all(np.array_equal(before[k], after[k]) for k in before.files)


@settings(PROFILE)
@given(data=st.data())
def test_fuzz_structured_edits(seeds, data):
    model, root = seeds
    seed = data.draw(st.sampled_from(sorted(SEEDS)))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "a")
        shutil.copytree(os.path.join(root, seed), path)
        if data.draw(st.booleans()):
            with open(os.path.join(path, "analyzer.json")) as f:
                spec = json.load(f)
            spec = _edit_json(spec, data.draw)
            with open(os.path.join(path, "analyzer.json"), "w") as f:
                f.write(json.dumps(spec))
        else:
            with np.load(os.path.join(path, "arrays.npz")) as npz:
                arrays = {k: npz[k] for k in npz.files}
            arrays = _edit_arrays(arrays, data.draw)
            np.savez(os.path.join(path, "arrays.npz"), **arrays)
        _check_load(path, model)


def test_seeds_load_unchanged(seeds):
    model, root = seeds
    for key in SEEDS:
        assert _check_load(os.path.join(root, key), model) is not None

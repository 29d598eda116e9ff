"""Saving and loading analyzers (JSON + npz + .keras, no pickle): the loaded analyzer gives
the same analysis. Backend-independent logic, so it runs on the default backend only."""

import keras
import numpy as np
import pytest

import innvestigate
from test_pattern import relu_net


@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("pattern.attribution", {"pattern_type": "linear"}),
        ("lrp.alpha_beta", {"alpha": 3.0, "beta": 2.0, "bn_layer_rule": "hui_binder"}),
        (
            "lrp",
            {
                "rule": "Epsilon",
                "rules": [(keras.layers.Conv2D, "Alpha1Beta0"), ("dense_last", "Z")],
                "input_layer_rule": (-1.0, 1.0),
            },
        ),
        ("lrp.sequential_preset_b_flat", {"epsilon": 0.2}),
        ("integrated_gradients", {"steps": 3, "reference_inputs": 0.5}),
        ("deep_taylor.bounded", {"low": -2.0, "high": 2.0}),
        ("occlusion", {"patch_size": 2, "reference_value": 0.1}),
    ],
)
def test_save_and_load_round_trip(float64, rng, tmp_path, name, kwargs):
    model = relu_net(rng)
    model.layers[-1].name = "dense_last"
    X = rng.normal(size=(20, 6, 6, 1))
    a = innvestigate.create_analyzer(name, model, **kwargs)
    if name.startswith("pattern"):
        a.fit(X)
    expected = a.analyze(X[:3])
    path = tmp_path / "saved"
    a.save(str(path))
    a.save(str(path))  # replacing an older save
    assert sorted(p.name for p in path.iterdir()) == ["analyzer.json", "arrays.npz", "model.keras"]
    b = innvestigate.load_analyzer(str(path))
    assert type(b) is type(a) and b.get_params().keys() == a.get_params().keys()
    np.testing.assert_allclose(b.analyze(X[:3]), expected, rtol=1e-9, atol=1e-12)
    c = innvestigate.load_analyzer(str(path), model=model)
    np.testing.assert_allclose(c.analyze(X[:3]), expected, rtol=1e-9, atol=1e-12)


def test_custom_rule_objects_refuse_to_save(rng, tmp_path):
    model = relu_net(rng)
    a = innvestigate.create_analyzer(
        "lrp", model, rule="Epsilon", rules=[(lambda layer: False, "Z")]
    )
    with pytest.raises(TypeError, match="cannot be saved"):
        a.save(str(tmp_path / "x"))
    assert not (tmp_path / "x").exists()

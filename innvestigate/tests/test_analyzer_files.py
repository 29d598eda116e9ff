"""Damaged analyzer directories end in one AnalyzerFileError saying what is wrong and what to
do; saving replaces an older analyzer atomically, keeps the umask's mode and sweeps the
temporaries of interrupted saves (issue 15, items 5 and 6). Backend-independent: default backend."""

import json
import os
import shutil
import stat
import zipfile

import keras
import numpy as np
import pytest

import innvestigate
from innvestigate import AnalyzerFileError
from innvestigate.analyzer import files


def small_model():
    model = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(2)]
    )
    rng = np.random.default_rng(0)
    for layer in model.layers:
        layer.set_weights([rng.normal(size=w.shape).astype(w.dtype) for w in layer.get_weights()])
    return model


X = np.random.default_rng(1).normal(size=(5, 3)).astype("float32")


@pytest.fixture(scope="module")
def model():
    return small_model()


@pytest.fixture
def saved(model, tmp_path):
    """An Integrated Gradients analyzer with an array reference, saved without its model."""
    a = innvestigate.create_analyzer(
        "integrated_gradients",
        model,
        steps=4,
        reference_inputs=np.array([0.5, -1.0, 0.25], "float32"),
    )
    path = tmp_path / "ig"
    a.save(str(path), save_model=False)
    return path, a


def _spec(path):
    return json.loads((path / "analyzer.json").read_text())


def _write_spec(path, spec):
    (path / "analyzer.json").write_text(json.dumps(spec))


def _write_arrays(path, **arrays):
    np.savez(path / "arrays.npz", **arrays)


def test_round_trip_gives_the_same_analysis(saved, model):
    path, a = saved
    b = innvestigate.load_analyzer(str(path), model=model)
    np.testing.assert_array_equal(b.analyze(X), a.analyze(X))
    assert _spec(path)["format"] == files.FORMAT


def test_directories_saved_before_the_format_key_still_load(saved, model):
    path, a = saved
    spec = _spec(path)
    del spec["format"]
    _write_spec(path, spec)
    np.testing.assert_array_equal(
        innvestigate.load_analyzer(str(path), model=model).analyze(X), a.analyze(X)
    )


def test_missing_path_and_file_path(tmp_path, model):
    with pytest.raises(AnalyzerFileError, match=r"no such directory\. Check the path"):
        innvestigate.load_analyzer(str(tmp_path / "nope"), model=model)
    (tmp_path / "f").write_text("{}")
    with pytest.raises(
        AnalyzerFileError, match=r"it is a file, not a directory written by analyzer\.save"
    ):
        innvestigate.load_analyzer(str(tmp_path / "f"), model=model)


DAMAGED_JSON = [
    ("truncated", lambda t: t[: len(t) // 2], "not valid JSON"),
    ("not utf-8", lambda t: b"\xff\xfe" + t, "not valid JSON"),
    ("a list", lambda t: b"[1, 2]", "holds a list, not an object"),
    ("NaN", lambda t: t.replace(b'"steps": 4', b'"steps": NaN'), "not valid JSON"),
    ("1e999", lambda t: t.replace(b'"steps": 4', b'"steps": 1e999'), "is inf, not a finite number"),
    ("deep nesting", lambda t: b"[" * 100000 + b"]" * 100000, "not valid JSON"),
]


@pytest.mark.parametrize("label,edit,message", DAMAGED_JSON, ids=[d[0] for d in DAMAGED_JSON])
def test_damaged_json(saved, model, label, edit, message):
    path, _ = saved
    (path / "analyzer.json").write_bytes(edit((path / "analyzer.json").read_bytes()))
    with pytest.raises(AnalyzerFileError, match=message) as info:
        innvestigate.load_analyzer(str(path), model=model)
    assert "save the analyzer again" in str(info.value)


EDITED_SPEC = [
    ("missing key", lambda s: s.pop("params"), r"lacks the key\(s\) \['params'\]"),
    ("unknown key", lambda s: s.update(extra=1), r"unknown key\(s\) \['extra'\]"),
    ("future format", lambda s: s.update(format=2), "reads format 1"),
    (
        "unknown analyzer",
        lambda s: s.update(analyzer="lrp.nonsense"),
        "unknown analyzer 'lrp.nonsense' .*valid names: ",
    ),
    ("analyzer not a string", lambda s: s.update(analyzer=3), "must be a name"),
    ("class mismatch", lambda s: s.update({"class": "Gradient"}), "names the class 'Gradient'"),
    ("params a list", lambda s: s.update(params=[1]), "'params' must be an object"),
    (
        "unknown parameter",
        lambda s: s["params"].update(epsilon=0.1),
        "IntegratedGradients has no parameter 'epsilon'",
    ),
    (
        "steps a string",
        lambda s: s["params"].update(steps="4"),
        "parameter 'steps' is a JSON str; expected int",
    ),
    (
        "steps a bool",
        lambda s: s["params"].update(steps=True),
        "parameter 'steps' is a JSON bool; expected int",
    ),
    (
        "steps a float",
        lambda s: s["params"].update(steps=4.5),
        "parameter 'steps' is a JSON float; expected int",
    ),
    (
        "steps negative",
        lambda s: s["params"].update(steps=-1),
        "refuses the stored parameters .*steps must be a positive int",
    ),
    (
        "selection mode",
        lambda s: s["params"].update(neuron_selection_mode="first"),
        "refuses the stored parameters",
    ),
    (
        "output_index",
        lambda s: s["params"].update(output_index=3),
        "refuses the stored parameters .*out of range",
    ),
]


@pytest.mark.parametrize("label,edit,message", EDITED_SPEC, ids=[d[0] for d in EDITED_SPEC])
def test_edited_json(saved, model, label, edit, message):
    path, _ = saved
    spec = _spec(path)
    edit(spec)
    _write_spec(path, spec)
    with pytest.raises(AnalyzerFileError, match=message):
        innvestigate.load_analyzer(str(path), model=model)


def test_values_an_analyzer_would_coerce_are_refused(tmp_path, model):
    # LRP's bias flag would be read as bool("no"); a patch size list of floats as ints.
    a = innvestigate.create_analyzer("lrp.alpha_beta", model)
    path = tmp_path / "ab"
    a.save(str(path), save_model=False)
    spec = _spec(path)
    spec["params"]["bias"] = "no"
    _write_spec(path, spec)
    with pytest.raises(AnalyzerFileError, match="'bias' is a JSON str; expected bool"):
        innvestigate.load_analyzer(str(path), model=model)


def test_pattern_state_arrays_are_checked(tmp_path, model):
    a = innvestigate.create_analyzer("pattern.net", model)
    a.fit(X)
    path = tmp_path / "p"
    a.save(str(path), save_model=False)
    b = innvestigate.load_analyzer(str(path), model=model)
    np.testing.assert_array_equal(b.analyze(X), a.analyze(X))
    patterns = {f"state:pattern_{i}": p for i, p in enumerate(a.patterns_)}
    cases = [
        ({**patterns, "state:pattern_0": patterns["state:pattern_0"][:2]}, "has shape"),
        (
            {**patterns, "state:pattern_1": np.full_like(patterns["state:pattern_1"], np.nan)},
            "NaN or infinite",
        ),
        (
            {"state:pattern_0": patterns["state:pattern_0"]},
            "refuses the stored parameters or arrays",
        ),
        (
            {**patterns, "state:pattern_7": patterns["state:pattern_0"]},
            "refuses the stored parameters or arrays",
        ),
        (
            {**patterns, "state:pattern_0": patterns["state:pattern_0"].astype("complex64")},
            "dtype complex64",
        ),
        ({**patterns, "state:pattern_0": np.array(["a"] * 12).reshape(3, 4)}, "dtype <U1"),
        ({**patterns, "junk": np.zeros(1)}, "unknown array 'junk'"),
    ]
    for arrays, message in cases:
        _write_arrays(path, **arrays)
        with pytest.raises(AnalyzerFileError, match=message):
            innvestigate.load_analyzer(str(path), model=model)


def test_damaged_arrays(saved, model):
    path, _ = saved
    good = (path / "arrays.npz").read_bytes()
    ref = np.array([0.5, -1.0, 0.25], "float32")
    cases = [
        (
            lambda: (path / "arrays.npz").write_bytes(good[: len(good) // 2]),
            "arrays.npz is damaged",
        ),
        (lambda: (path / "arrays.npz").write_bytes(b""), "arrays.npz is damaged"),
        (lambda: (path / "arrays.npz").unlink(), "arrays.npz is missing"),
        (
            lambda: _write_arrays(path, **{"param:reference_inputs": ref[:2]}),
            r"shape \(2,\), which does not fit the model input \(3,\)",
        ),
        (
            lambda: _write_arrays(path, **{"param:reference_inputs": np.array([np.nan, 0, 0])}),
            "NaN or infinite",
        ),
        (lambda: _write_arrays(path, **{"param:epsilon": ref}), "has no parameter 'epsilon'"),
        (
            lambda: _write_arrays(path, **{"param:steps": np.array(4)}),
            "stored both in analyzer.json and arrays.npz",
        ),
        (
            lambda: np.savez(
                path / "arrays.npz", **{"param:reference_inputs": np.array([object()] * 3)}
            ),
            "damaged",
        ),
    ]
    for damage, message in cases:
        damage()
        with pytest.raises(AnalyzerFileError, match=message):
            innvestigate.load_analyzer(str(path), model=model)
        (path / "arrays.npz").write_bytes(good)


def test_bit_flip_in_array_data_is_caught_by_the_zip_checksum(saved, model):
    path, _ = saved
    data = bytearray((path / "arrays.npz").read_bytes())
    with zipfile.ZipFile(path / "arrays.npz") as zf:
        info = zf.infolist()[0]
    # the last byte of the member's data (the reference's third float)
    offset = info.header_offset + 30 + len(info.filename) + len(info.extra) + info.compress_size - 1
    data[offset] ^= 0x40
    (path / "arrays.npz").write_bytes(bytes(data))
    with pytest.raises(AnalyzerFileError, match="Bad CRC-32"):
        innvestigate.load_analyzer(str(path), model=model)


def test_array_header_declaring_more_data_than_present_is_refused_before_reading(saved, model):
    path, _ = saved
    member = path / "m.npy"
    np.save(member, np.zeros(3, "float32"))
    raw = member.read_bytes().replace(b"(3,)", b"(9999999999,)".ljust(4))
    with zipfile.ZipFile(path / "arrays.npz", "w") as zf:
        zf.writestr("param:reference_inputs.npy", raw)
    member.unlink()
    with pytest.raises(AnalyzerFileError, match=r"declares shape \(9999999999,\)"):
        innvestigate.load_analyzer(str(path), model=model)


def test_damaged_or_missing_model(tmp_path, model):
    a = innvestigate.create_analyzer("gradient", model)
    path = tmp_path / "g"
    a.save(str(path))
    np.testing.assert_array_equal(innvestigate.load_analyzer(str(path)).analyze(X), a.analyze(X))
    data = (path / "model.keras").read_bytes()
    (path / "model.keras").write_bytes(data[: len(data) // 3])
    with pytest.raises(AnalyzerFileError, match=r"model\.keras cannot be read"):
        innvestigate.load_analyzer(str(path))
    (path / "model.keras").unlink()
    with pytest.raises(
        AnalyzerFileError, match=r"holds no model .*load_analyzer\(path, model=...\)"
    ):
        innvestigate.load_analyzer(str(path))


# -- saving -------------------------------------------------------------------------------------
def test_replacement_never_leaves_the_path_without_an_analyzer(saved, model, monkeypatch):
    path, a = saved
    gaps = []

    def check(label):
        if not (path / "analyzer.json").is_file():
            gaps.append(label)

    for module, names in ((os, ("rename", "replace", "rmdir")), (shutil, ("rmtree", "move"))):
        for name in names:
            original = getattr(module, name)

            def wrapped(*args, _original=original, _name=name, **kwargs):
                check(f"before {_name}")
                try:
                    return _original(*args, **kwargs)
                finally:
                    check(f"after {_name}")

            monkeypatch.setattr(module, name, wrapped)
    b = innvestigate.create_analyzer("integrated_gradients", model, steps=9)
    b.save(str(path), save_model=False)
    monkeypatch.undo()
    assert gaps == []
    assert _spec(path)["params"]["steps"] == 9
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".innvestigate")] == []


@pytest.mark.skipif(files._load_renameat2() is None, reason="no renameat2 on this system")
def test_exchange_swaps_two_directories(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "one").write_text("1")
    (tmp_path / "b").mkdir()
    assert files.exchange_paths(str(tmp_path / "a"), str(tmp_path / "b"))
    assert (tmp_path / "b" / "one").read_text() == "1" and not list((tmp_path / "a").iterdir())


def test_fallback_without_an_atomic_exchange_still_replaces(saved, model, monkeypatch):
    path, _ = saved
    monkeypatch.setattr(files, "exchange_paths", lambda a, b: False)
    innvestigate.create_analyzer("integrated_gradients", model, steps=5).save(
        str(path), save_model=False
    )
    assert _spec(path)["params"]["steps"] == 5
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".innvestigate")] == []


def test_saved_files_get_the_umask_mode(model, tmp_path):
    old = os.umask(0o027)
    try:
        innvestigate.create_analyzer("gradient", model).save(str(tmp_path / "g"))
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "g").st_mode) == 0o750
    for name in ("analyzer.json", "arrays.npz", "model.keras"):
        assert stat.S_IMODE(os.stat(tmp_path / "g" / name).st_mode) == 0o640, name


def test_temporaries_of_an_interrupted_save_are_swept(model, tmp_path):
    dead = tmp_path / ".innvestigate-save-999999999-abc"  # a process id that cannot run
    dead.mkdir()
    (dead / "analyzer.json").write_text("{")
    alive = tmp_path / f".innvestigate-save-{os.getppid()}-abc"  # a running writer's
    alive.mkdir()
    legacy_old = (
        tmp_path / ".innvestigate-old-x1y2z3"
    )  # written before process ids were in the names
    legacy_old.mkdir()
    os.utime(legacy_old, (0, 0))
    legacy_new = tmp_path / ".innvestigate-old-recent"
    legacy_new.mkdir()
    innvestigate.create_analyzer("gradient", model).save(str(tmp_path / "g"), save_model=False)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted([alive.name, legacy_new.name, "g"])


def test_failed_save_keeps_the_old_analyzer_and_leaves_no_temporary(saved, model):
    path, a = saved

    class Broken(Exception):
        pass

    def broken_save(file):
        raise Broken

    b = innvestigate.create_analyzer("integrated_gradients", model, steps=7)
    b._model = model
    with pytest.raises(Broken):
        files.write_analyzer_dir(str(path), "{}", {}, broken_save)
    assert _spec(path)["params"]["steps"] == 4
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".innvestigate")] == []


def test_save_does_not_replace_a_directory_that_holds_no_analyzer(model, tmp_path):
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "cat.jpg").write_bytes(b"\xff\xd8")
    with pytest.raises(FileExistsError, match="holds no analyzer"):
        innvestigate.create_analyzer("gradient", model).save(str(tmp_path / "photos"))
    assert (tmp_path / "photos" / "cat.jpg").exists()
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileExistsError, match="not a directory"):
        innvestigate.create_analyzer("gradient", model).save(str(tmp_path / "file"))
    with pytest.raises(FileNotFoundError, match="does not exist; create it first"):
        innvestigate.create_analyzer("gradient", model).save(str(tmp_path / "no" / "such" / "dir"))

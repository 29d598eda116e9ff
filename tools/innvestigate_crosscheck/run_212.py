"""The iNNvestigate 2.1.2 side of the cross-check; run with the interpreter of .venv-inn212.

    .venv-inn212/bin/python tools/innvestigate_crosscheck/run_212.py IN.npz OUT.npz

IN.npz holds, per model ``m``: ``m/x`` (inputs) and ``m/w0, m/w1, ...`` (weights). OUT.npz gets
``m/<analyzer>`` (analysis of the max-activation neuron), ``m/<analyzer>/setup_s`` (first call,
graph building included) and ``m/<analyzer>/run_s`` (median of later calls), and ``m/logits``.
"""

import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np
import tensorflow as tf

tf.compat.v1.disable_eager_execution()
import innvestigate  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from models import ANALYZERS, MODELS, build  # noqa: E402


def main(path_in, path_out, repeats=3):
    data = np.load(path_in)
    selected = json.loads(str(data["analyzers"])) if "analyzers" in data else list(ANALYZERS)
    out = {}
    for model_name, spec in MODELS.items():
        if f"{model_name}/x" not in data:
            continue
        x = data[f"{model_name}/x"]
        model = build(tf.keras, spec)
        n_weights = len(model.get_weights())
        model.set_weights([data[f"{model_name}/w{i}"] for i in range(n_weights)])
        out[f"{model_name}/logits"] = model.predict(x, verbose=0)
        for name in selected:
            params = dict(ANALYZERS[name])
            if name == "smoothgrad":
                params.pop("noise_scale")  # 2.1.2 ignores it (always stddev 1)
            try:
                start = time.perf_counter()
                analyzer = innvestigate.create_analyzer(name, model, **params)
                a = analyzer.analyze(x)
                setup = time.perf_counter() - start
                runs = []
                for _ in range(repeats):
                    start = time.perf_counter()
                    analyzer.analyze(x)
                    runs.append(time.perf_counter() - start)
                out[f"{model_name}/{name}"] = np.asarray(a)
                out[f"{model_name}/{name}/setup_s"] = np.float64(setup)
                out[f"{model_name}/{name}/run_s"] = np.float64(np.median(runs))
            except Exception as err:  # recorded, reported by crosscheck.py
                out[f"{model_name}/{name}/error"] = np.array(f"{type(err).__name__}: {err}"[:500])
            print(f"2.1.2 {model_name} {name} done", file=sys.stderr, flush=True)
    tmp = path_out + ".tmp.npz"
    np.savez(tmp, **out)
    os.replace(tmp, path_out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

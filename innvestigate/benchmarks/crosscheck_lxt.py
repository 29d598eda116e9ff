"""Cross-check of ``lrp.attnlrp`` (and the AH-rule of ``lrp.z``) against LXT, the PyTorch AttnLRP.

LXT (Achtibat et al., ICML 2024; ``pip install lxt``, not a dependency of innvestigate) computes
AttnLRP in its "efficient" mode as gradient × input with modified backward passes:
``lxt.efficient.rules.identity_rule_implicit`` on element-wise non-linearities (GELU),
``divide_gradient`` on the attention's query and key (1/4) and value (1/2) — the uniform rule
on ``q·kᵀ`` and ``A·v`` —, the plain softmax gradient (= AttnLRP's softmax rule under
gradient × input) and LayerNorm with its standard deviation detached
(``lxt.efficient.patches.layer_norm_forward``). CP-LRP (Ali et al. 2022; our AH-rule) detaches
the attention weights instead.

Here the same weights run in a small Keras transformer (``examples/_sequence_models.py``:
Embedding + sinusoidal positions, post-norm blocks of MultiHeadAttention, LayerNormalization,
GELU feed-forward, residual adds; GlobalAveragePooling1D; Dense logits; random weights, biases
and LayerNorm scales) and in a PyTorch module written out by hand with LXT's rules applied, in
float64. Printed: the largest difference of the per-token relevance over the largest relevance.

    KERAS_BACKEND=tensorflow python benchmarks/crosscheck_lxt.py [--out results/crosscheck_lxt.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples"))

import keras
import numpy as np

keras.config.set_floatx("float64")

import _sequence_models as sm  # noqa: E402

import innvestigate  # noqa: E402


def randomize(model, rng, biases=True):
    """Random biases and LayerNorm scales/offsets, so that the check covers them (``biases=False``:
    all biases and LayerNorm offsets zero, where both methods conserve the logit)."""
    for weight in model.weights:
        name = weight.path
        if name.endswith(("bias", "beta")):
            weight.assign(rng.normal(0.0, 0.1, weight.shape) if biases else np.zeros(weight.shape))
        elif name.endswith(
            "embeddings"
        ):  # as large as the positions, so the tokens carry relevance
            weight.assign(rng.normal(0.0, 1.0, weight.shape))
        elif name.endswith("gamma"):
            weight.assign(rng.uniform(0.5, 1.5, weight.shape))


def lxt_rules():
    """``lxt.efficient.rules``, loaded from its file: ``lxt/efficient/__init__.py`` imports the
    HuggingFace model patches and with them ``transformers``, which the rules themselves (plain
    ``torch.autograd.Function``s) do not need and this workspace does not install."""
    import importlib.util

    import lxt

    path = os.path.join(os.path.dirname(lxt.__file__), "efficient", "rules.py")
    spec = importlib.util.spec_from_file_location("lxt_efficient_rules", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def torch_relevance(model, tokens, target, rule, blocks, heads):
    """Per-token relevance of the Keras ``model``'s weights in PyTorch, with LXT's rules (``rule``:
    "attnlrp" or "cp" for CP-LRP / the AH-rule), as gradient × input at the embedding output."""
    import torch

    rules = lxt_rules()
    divide_gradient, identity_rule_implicit, stop_gradient = (
        rules.divide_gradient,
        rules.identity_rule_implicit,
        rules.stop_gradient,
    )

    layer = model.get_layer
    t = lambda a: torch.from_numpy(np.asarray(keras.ops.convert_to_numpy(a)))  # noqa: E731
    emb_table = t(layer("embedding").embeddings)
    seq_len, dim = tokens.shape[1], emb_table.shape[1]
    positions = torch.from_numpy(sm.sinusoidal_positions(seq_len, dim).astype(np.float64))

    def layer_norm(x, ln):
        mean = x.mean(-1, keepdim=True)
        std = (((x - mean) ** 2).mean(-1, keepdim=True) + ln.epsilon).sqrt()
        return (x - mean) / stop_gradient(std) * t(ln.gamma) + t(
            ln.beta
        )  # LXT's layer_norm_forward

    def dense(x, d):
        return x @ t(d.kernel) + t(d.bias)

    def mha(x, m):
        q = torch.einsum("btd,dnh->btnh", x, t(m.query_dense.kernel)) + t(m.query_dense.bias)
        k = torch.einsum("btd,dnh->btnh", x, t(m.key_dense.kernel)) + t(m.key_dense.bias)
        v = torch.einsum("btd,dnh->btnh", x, t(m.value_dense.kernel)) + t(m.value_dense.bias)
        if rule == "attnlrp":  # lxt.efficient.patches.wrap_attention_forward
            q, k, v = divide_gradient(q, 4), divide_gradient(k, 4), divide_gradient(v, 2)
        scores = torch.einsum("btnh,bsnh->bnts", q / np.sqrt(q.shape[-1]), k)
        attention = torch.softmax(scores, -1)
        if rule == "cp":
            attention = stop_gradient(attention)
        ctx = torch.einsum("bnts,bsnh->btnh", attention, v)
        return torch.einsum("btnh,nhd->btd", ctx, t(m.output_dense.kernel)) + t(m.output_dense.bias)

    embedded = emb_table[torch.from_numpy(tokens.astype(np.int64))].clone().requires_grad_(True)
    h = embedded + positions
    for b in range(blocks):
        h = layer_norm(h + mha(h, layer(f"block{b}_mha")), layer(f"block{b}_ln1"))
        f = identity_rule_implicit(torch.nn.functional.gelu, dense(h, layer(f"block{b}_ff1")))
        h = layer_norm(h + dense(f, layer(f"block{b}_ff2")), layer(f"block{b}_ln2"))
    logits = dense(h.mean(1), layer("logits"))
    selected = logits[torch.arange(len(tokens)), torch.from_numpy(target)]
    selected.sum().backward()
    return (embedded * embedded.grad).sum(-1).detach().numpy(), logits.detach().numpy()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args(argv)
    import lxt

    blocks, heads = 2, 2
    rows = []
    for seed, biases in [(s, b) for b in (True, False) for s in range(args.seeds)]:
        keras.utils.set_random_seed(seed)
        rng = np.random.default_rng(seed)
        model = sm.token_transformer(16, 64, 4, dim=32, heads=heads, blocks=blocks)
        randomize(model, rng, biases)
        tokens = rng.integers(1, 64, (8, 16)).astype("int32")
        logits_keras = np.asarray(keras.ops.convert_to_numpy(model(tokens)))
        target = np.argmax(logits_keras, 1)
        for ours, theirs, params in (
            ("lrp.attnlrp", "attnlrp", {"epsilon": 1e-12}),
            ("lrp.z", "cp", {}),
        ):
            analyzer = innvestigate.create_analyzer(
                ours, model, neuron_selection_mode="index", **params
            )
            R_ours = np.asarray(analyzer.analyze(tokens, neuron_selection=target), np.float64)
            R_lxt, logits_torch = torch_relevance(model, tokens, target, theirs, blocks, heads)
            row = {
                "seed": seed,
                "biases": "random" if biases else "zero",
                "ours": ours,
                "lxt_rule": theirs,
                "logit_max_abs_diff": float(np.abs(logits_torch - logits_keras).max()),
                "relevance_max_rel_diff": float(np.abs(R_ours - R_lxt).max() / np.abs(R_lxt).max()),
                "sum_ours_over_logit": float(
                    np.mean(R_ours.sum(1) / logits_keras[np.arange(8), target])
                ),
                "sum_lxt_over_logit": float(
                    np.mean(R_lxt.sum(1) / logits_keras[np.arange(8), target])
                ),
            }
            rows.append(row)
            print(
                " ".join(
                    f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()
                ),
                flush=True,
            )
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(
                {
                    "lxt_version": getattr(lxt, "__version__", "2.1"),
                    "backend": keras.backend.backend(),
                    "rows": rows,
                },
                fh,
                indent=1,
            )


if __name__ == "__main__":
    main()

"""Small transformers, recurrent networks and ViTs for the planted-token / planted-patch tasks.

Shared by ``examples/explain_sequences.py`` and ``benchmarks/bench_sequences.py``. Positions
are fixed sinusoidal encodings added as a constant (``keras.ops`` add in the functional
graph), so every model has one input and occlusion can perturb it; the constant absorbs
its share of relevance at the add, like a bias.
"""

from __future__ import annotations

import time

import keras
import numpy as np


def sinusoidal_positions(length: int, dim: int) -> np.ndarray:
    """Vaswani et al. (2017) position encodings, shape ``(length, dim)``, float32."""
    position = np.arange(length)[:, None]
    frequency = 1.0 / 10000 ** (2 * np.arange(dim // 2)[None] / dim)
    angles = position * frequency
    return np.concatenate([np.sin(angles), np.cos(angles)], axis=1).astype("float32")


def encoder_block(h, dim, heads, ff_dim, pre_norm=False, name="block"):
    """One transformer encoder block: MultiHeadAttention, residual Add, LayerNormalization,
    a GELU feed-forward ``Dense`` pair, residual Add (post-norm as BERT, pre-norm as ViT)."""
    layers = keras.layers
    x = layers.LayerNormalization(name=f"{name}_ln1")(h) if pre_norm else h
    attended = layers.MultiHeadAttention(heads, dim // heads, name=f"{name}_mha")(x, x)
    h = layers.Add(name=f"{name}_add1")([h, attended])
    if not pre_norm:
        h = layers.LayerNormalization(name=f"{name}_ln1")(h)
    x = layers.LayerNormalization(name=f"{name}_ln2")(h) if pre_norm else h
    x = layers.Dense(ff_dim, activation="gelu", name=f"{name}_ff1")(x)
    x = layers.Dense(dim, name=f"{name}_ff2")(x)
    h = layers.Add(name=f"{name}_add2")([h, x])
    if not pre_norm:
        h = layers.LayerNormalization(name=f"{name}_ln2")(h)
    return h


def token_transformer(
    seq_len, vocab_size, n_classes, dim=32, heads=2, blocks=2, ff_dim=None, name="transformer"
):
    """Embedding + sinusoidal positions, ``blocks`` post-norm encoder blocks,
    GlobalAveragePooling1D, Dense logits."""
    tokens = keras.Input((seq_len,), dtype="int32", name="tokens")
    h = keras.layers.Embedding(vocab_size, dim, name="embedding")(tokens) + sinusoidal_positions(
        seq_len, dim
    )
    for b in range(blocks):
        h = encoder_block(h, dim, heads, ff_dim or 2 * dim, name=f"block{b}")
    h = keras.layers.GlobalAveragePooling1D()(h)
    return keras.Model(tokens, keras.layers.Dense(n_classes, name="logits")(h), name=name)


def token_rnn(kind, seq_len, vocab_size, n_classes, dim=32, units=32):
    """Embedding, one LSTM or GRU layer (last state), Dense logits."""
    cell = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[kind]
    tokens = keras.Input((seq_len,), dtype="int32", name="tokens")
    h = keras.layers.Embedding(vocab_size, dim, name="embedding")(tokens)
    h = cell(units, name=kind)(h)
    return keras.Model(tokens, keras.layers.Dense(n_classes, name="logits")(h), name=kind)


def vit(image_shape, patch, n_classes, dim=32, heads=2, blocks=2, ff_dim=None, name="vit"):
    """Patch embedding by a Conv2D with stride = patch, sinusoidal positions, ``blocks``
    pre-norm encoder blocks, LayerNormalization, GlobalAveragePooling1D, Dense logits."""
    height, width = image_shape[:2]
    n_patches = (height // patch) * (width // patch)
    images = keras.Input(image_shape, name="images")
    h = keras.layers.Conv2D(dim, patch, strides=patch, name="patch_embedding")(images)
    h = keras.layers.Reshape((n_patches, dim))(h) + sinusoidal_positions(n_patches, dim)
    for b in range(blocks):
        h = encoder_block(h, dim, heads, ff_dim or 2 * dim, pre_norm=True, name=f"block{b}")
    h = keras.layers.LayerNormalization(name="final_ln")(h)
    h = keras.layers.GlobalAveragePooling1D()(h)
    return keras.Model(images, keras.layers.Dense(n_classes, name="logits")(h), name=name)


def fit(model, X, y, epochs, learning_rate=2e-3, batch_size=64, seed=0):
    """Adam on the logits (cross-entropy from logits), seeded; returns seconds."""
    keras.utils.set_random_seed(seed)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    start = time.perf_counter()
    model.fit(X, y, epochs=epochs, batch_size=batch_size, verbose=0)
    return time.perf_counter() - start


def accuracy(model, X, y):
    return float(
        np.mean(np.argmax(np.asarray(model.predict(X, verbose=0, batch_size=256)), 1) == y)
    )


def patch_relevance(relevance, patch):
    """Sum of an image map ``(n, H, W[, C])`` over each ``patch × patch`` cell, row by row: ``(n, cells)``."""
    R = np.asarray(relevance, np.float64)
    if R.ndim == 4:
        R = R.sum(-1)
    n, height, width = R.shape
    cells = R.reshape(n, height // patch, patch, width // patch, patch).sum((2, 4))
    return cells.reshape(n, -1)


def planted_scores(unit_relevance, planted_index):
    """Per sample: does the planted unit (token or patch) get the highest relevance, and its
    share of the positive relevance (0 where no relevance is positive)."""
    R = np.asarray(unit_relevance, np.float64)
    rows = np.arange(len(R))
    top1 = np.argmax(R, axis=1) == planted_index
    positive = np.maximum(R, 0.0)
    total = positive.sum(1)
    share = np.divide(positive[rows, planted_index], total, out=np.zeros(len(R)), where=total > 0)
    return top1, share

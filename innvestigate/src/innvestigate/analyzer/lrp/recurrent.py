"""LRP through recurrent layers: LSTM, GRU, SimpleRNN, Bidirectional and TimeDistributed.

The rule of Arras et al. (2017, "Explaining recurrent neural network predictions in
sentiment analysis"; 2019, "Evaluating recurrent neural network explanations"): the
layer's recurrence is recomputed in ``keras.ops`` from its weights and unrolled, then
relevance flows backwards in time through every step of the cell:

* **linear parts** - the pre-activations ``x_t W + h_{t-1} U + b`` - get the ε-rule with the
  bias in the denominator (the bias and the stabiliser absorb their share; ε = 0 divides
  safely, 0 where the denominator is 0);
* **element-wise non-linearities** (tanh, the cell's ``activation``) pass relevance unchanged
  (identity rule);
* **sums** such as the LSTM cell state ``c_t = f ⊙ c_{t-1} + i ⊙ g`` and the GRU update
  ``h_t = z ⊙ h_{t-1} + (1 − z) ⊙ ĥ_t`` get the ε-rule (no bias);
* **gate products** get *signal-take-all*: the gate (``i``, ``f``, ``o`` of the LSTM; ``z``,
  ``1 − z`` and the reset gate ``r`` of the GRU) receives no relevance, the signal all of it.

Relevance reaching the layer's outputs (the last step, or every step with
``return_sequences``, and the returned states) enters at its step; initial states passed
to the layer receive theirs. With a Keras mask (``Embedding(mask_zero=True)``,
``Masking``) a masked step carries the state unchanged and receives exactly zero relevance.

Examples
--------
>>> import numpy as np, keras, innvestigate
>>> from innvestigate.analyzer.lrp.recurrent import RecurrentRule, is_recurrent_layer
>>> model = keras.Sequential([keras.Input((6, 3)), keras.layers.LSTM(4), keras.layers.Dense(2)])
>>> a = innvestigate.create_analyzer("lrp", model, rule="Epsilon", rules=[(is_recurrent_layer, RecurrentRule())])
>>> a.analyze(np.ones((1, 6, 3), "float32")).shape
(1, 6, 3)
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from innvestigate import backend
from innvestigate.analyzer.lrp import rules as lrp_rules
from innvestigate.engine import checks
from innvestigate.engine.graph import GraphNode
from innvestigate.engine.reverse import ReverseState
from innvestigate.exceptions import NotAnalyzeableModelException

__all__ = ["RECURRENT_CELLS", "RecurrentRule", "is_recurrent_layer", "check_recurrent_layer"]

#: The cells the rule unrolls (exact types: a subclass may compute something else).
RECURRENT_CELLS = (keras.layers.LSTMCell, keras.layers.GRUCell, keras.layers.SimpleRNNCell)

_FAMILY = (keras.layers.RNN, keras.layers.Bidirectional, keras.layers.TimeDistributed)


def _refuse(layer, what):
    raise NotAnalyzeableModelException(
        "LRP", [layer.name], f"{type(layer).__name__} {layer.name!r} {what}"
    )


def check_recurrent_layer(layer, within=None) -> None:
    """Raises :class:`~innvestigate.exceptions.NotAnalyzeableModelException` if
    :class:`RecurrentRule` cannot explain ``layer`` (a stateful RNN, a custom or stacked
    cell, a convolutional LSTM, a TimeDistributed layer wrapping a layer without LRP rule).
    """
    shown = within or layer
    if isinstance(layer, keras.layers.Bidirectional):
        check_recurrent_layer(layer.forward_layer, shown)
        check_recurrent_layer(layer.backward_layer, shown)
        return
    if isinstance(layer, keras.layers.TimeDistributed):
        inner = layer.layer
        if isinstance(inner, _FAMILY):
            check_recurrent_layer(inner, shown)
        elif not _inner_kind(inner):
            _refuse(
                shown,
                f"wraps {type(inner).__name__}, which has no LRP rule inside TimeDistributed (supported: "
                "Dense/Conv layers, activations, BatchNormalization, pooling, reshaping and recurrent layers); "
                "apply the wrapped layer to the sequence directly, or use a gradient-based analyzer",
            )
        return
    if isinstance(layer, keras.layers.RNN):
        if getattr(layer, "stateful", False):
            _refuse(
                shown,
                "is stateful (stateful=True): its output depends on state left by earlier batches, which "
                "LRP cannot attribute. Analyse a copy of the model built with stateful=False (same weights), "
                "passing the state as initial_state if it matters",
            )
        cell = layer.cell
        if isinstance(cell, keras.layers.StackedRNNCells):
            _refuse(
                shown,
                "uses StackedRNNCells (a list of cells); the recurrent rule unrolls one cell. Stack one "
                "RNN layer per cell (return_sequences=True) instead, with the same weights",
            )
        if type(cell) not in RECURRENT_CELLS:
            _refuse(
                shown,
                f"uses the cell {type(cell).__name__}; the recurrent rule knows the equations of LSTMCell, "
                "GRUCell and SimpleRNNCell only (not custom or convolutional cells). Use a gradient-based "
                "analyzer ('gradient', 'integrated_gradients') for this model, or add a rule for the layer",
            )
        return
    _refuse(shown, "is not a recurrent layer")


def is_recurrent_layer(layer) -> bool:
    """True for the layers :class:`RecurrentRule` handles: ``keras.layers.RNN`` and its
    subclasses (``LSTM``, ``GRU``, ``SimpleRNN``), ``Bidirectional`` and ``TimeDistributed``.

    Used as a rule condition it also checks the layer: a configuration the rule cannot
    explain raises :class:`~innvestigate.exceptions.NotAnalyzeableModelException` when the
    analyzer is created (see :func:`check_recurrent_layer`).
    """
    if not isinstance(layer, _FAMILY):
        return False
    check_recurrent_layer(layer)
    return True


def _inner_kind(layer):
    """How a layer inside TimeDistributed is reversed (None: not at all)."""
    if checks.is_kernel_layer(layer):
        return "kernel"
    if checks.is_activation_layer(layer):
        return "pass"
    if checks.is_batch_normalization(layer):
        return "batch_norm"
    if checks.is_linear_without_kernel(layer):
        return "linear"
    if checks.is_max_pooling(layer) or checks.is_shape_only(layer):
        return "gradient"
    return None


def _divide(r, z, epsilon):
    """``r / (z + ε sign z)``, 0 where the denominator is 0 (ε = 0)."""
    den = lrp_rules.stabilize(z, epsilon)
    if epsilon > 0:
        return r / den
    return lrp_rules.safe_divide(r, den)


def _weight(v, dtype):
    return ops.cast(ops.convert_to_tensor(v), dtype)


# -- the cells: one forward step (values kept for the reverse step) and one reverse step ---------
# Each forward step takes the input projection of the step (x_t W + input bias) and the
# previous states; each reverse step takes the relevance of the new states and returns
# ``s`` (the relevance of the pre-activation that reads x_t, divided by it: R_x = x ⊙ sWᵀ)
# and the relevance of the previous states.


class _LSTM:
    def __init__(self, cell, dtype):
        u = cell.units
        self.units, self.n_states = u, 2
        self.act, self.gate = cell.activation, cell.recurrent_activation
        self.kernel = _weight(cell.kernel, dtype)
        self.recurrent = _weight(cell.recurrent_kernel, dtype)
        self.input_bias = _weight(cell.bias, dtype) if cell.use_bias else None
        self.x_kernel = self.kernel[:, 2 * u : 3 * u]  # the candidate g reads x through these
        self.u_g = self.recurrent[:, 2 * u : 3 * u]

    def forward(self, xw, states, epsilon):
        h, c = states
        u = self.units
        z = xw + ops.matmul(h, self.recurrent)
        i, f = self.gate(z[:, :u]), self.gate(z[:, u : 2 * u])
        zg = z[:, 2 * u : 3 * u]
        g, o = self.act(zg), self.gate(z[:, 3 * u :])
        c_new = f * c + i * g
        h_new = o * self.act(c_new)
        return [h_new, c_new], (h, c, i, f, g, zg, c_new)

    def reverse(self, cache, relevances, epsilon):
        h, c, i, f, g, zg, c_new = cache
        r_h, r_c = relevances
        # h = o ⊙ act(c): o is a gate, act passes relevance (identity rule).
        r_c = r_c + r_h
        # c = f ⊙ c_prev + i ⊙ g: ε-rule on the sum, then signal-take-all at f and i.
        d = _divide(r_c, c_new, epsilon)
        r_c_prev = f * c * d
        r_zg = i * g * d
        # zg = x W_g + h U_g + b_g: ε-rule, the bias absorbs its share.
        s = _divide(r_zg, zg, epsilon)
        r_h_prev = h * ops.matmul(s, ops.transpose(self.u_g))
        return s, [r_h_prev, r_c_prev]


class _GRU:
    def __init__(self, cell, dtype):
        u = cell.units
        self.units, self.n_states = u, 1
        self.act, self.gate = cell.activation, cell.recurrent_activation
        self.reset_after = bool(cell.reset_after)
        self.kernel = _weight(cell.kernel, dtype)
        self.recurrent = _weight(cell.recurrent_kernel, dtype)
        self.input_bias = self.recurrent_bias = None
        if cell.use_bias:
            bias = _weight(cell.bias, dtype)
            if self.reset_after:
                self.input_bias, self.recurrent_bias = bias[0], bias[1]
            else:
                self.input_bias = bias
        self.x_kernel = self.kernel[:, 2 * u :]
        self.u_h = self.recurrent[:, 2 * u :]

    def forward(self, xw, states, epsilon):
        (h,) = states
        u = self.units
        if self.reset_after:
            inner = ops.matmul(h, self.recurrent)
            if self.recurrent_bias is not None:
                inner = inner + self.recurrent_bias
        else:
            inner = ops.matmul(h, self.recurrent[:, : 2 * u])
        z = self.gate(xw[:, :u] + inner[:, :u])
        r = self.gate(xw[:, u : 2 * u] + inner[:, u : 2 * u])
        if self.reset_after:
            q = inner[:, 2 * u :]  # h U_h + b_rec_h
            a = xw[:, 2 * u :] + r * q
        else:
            q = None
            a = xw[:, 2 * u :] + ops.matmul(r * h, self.u_h)
        hh = self.act(a)
        h_new = z * h + (1 - z) * hh
        return [h_new], (h, z, r, q, a, hh, h_new)

    def reverse(self, cache, relevances, epsilon):
        h, z, r, q, a, hh, h_new = cache
        (r_h,) = relevances
        # h_new = z ⊙ h + (1 − z) ⊙ ĥ: ε-rule on the sum; z and 1 − z are gates.
        d = _divide(r_h, h_new, epsilon)
        r_h_prev = z * h * d
        r_a = (1 - z) * hh * d  # ĥ = act(a): identity rule
        s = _divide(r_a, a, epsilon)
        if self.reset_after:
            # a = x W_h + b_h + r ⊙ q: the summand r ⊙ q gets its ε-share, r is a gate, and
            # q = h U_h + b_rec gets the ε-rule.
            r_q = r * q * s
            s_q = _divide(r_q, q, epsilon)
            r_h_prev = r_h_prev + h * ops.matmul(s_q, ops.transpose(self.u_h))
        else:
            # a = x W_h + b_h + (r ⊙ h) U_h: ε-rule; r is a gate of r ⊙ h.
            r_h_prev = r_h_prev + r * h * ops.matmul(s, ops.transpose(self.u_h))
        return s, [r_h_prev]


class _SimpleRNN:
    def __init__(self, cell, dtype):
        self.units, self.n_states = cell.units, 1
        self.act = cell.activation if cell.activation is not None else keras.activations.linear
        self.kernel = _weight(cell.kernel, dtype)
        self.recurrent = _weight(cell.recurrent_kernel, dtype)
        self.input_bias = _weight(cell.bias, dtype) if cell.use_bias else None
        self.x_kernel = self.kernel

    def forward(self, xw, states, epsilon):
        (h,) = states
        a = xw + ops.matmul(h, self.recurrent)
        return [self.act(a)], (h, a)

    def reverse(self, cache, relevances, epsilon):
        h, a = cache
        s = _divide(relevances[0], a, epsilon)  # identity through act, ε-rule on a
        return s, [h * ops.matmul(s, ops.transpose(self.recurrent))]


_CELLS = {
    keras.layers.LSTMCell: _LSTM,
    keras.layers.GRUCell: _GRU,
    keras.layers.SimpleRNNCell: _SimpleRNN,
}


def _step_mask(mask):
    """A Keras mask as booleans of shape (n, T): a step is active where any entry is True."""
    if mask is None:
        return None
    mask = ops.cast(mask, "bool")
    if len(mask.shape) > 2:
        mask = ops.any(mask, axis=tuple(range(2, len(mask.shape))))
    return mask


class _Unrolled:
    """One RNN layer's forward recurrence, recomputed and kept for the reverse pass."""

    def __init__(self, layer, x, initial_states, mask, epsilon):
        steps = x.shape[1]
        if steps is None:
            _refuse(
                layer,
                "reads a sequence whose length is unknown while the analysis is traced; give the "
                "model input a fixed length, keras.Input((length, features))",
            )
        self.layer, self.epsilon, self.steps = layer, epsilon, int(steps)
        self.cell = _CELLS[type(layer.cell)](layer.cell, x.dtype)
        if layer.go_backwards:  # processed last step first; outputs come in processing order
            x = ops.flip(x, axis=1)
            mask = None if mask is None else ops.flip(mask, axis=1)
        self.x, self.mask = x, mask
        self.zero_output = bool(getattr(layer, "zero_output_for_mask", False))
        n = ops.shape(x)[0]
        if initial_states is None:
            initial_states = [
                ops.zeros((n, self.cell.units), dtype=x.dtype) for _ in range(self.cell.n_states)
            ]
        states = [ops.cast(s, x.dtype) for s in initial_states]
        xw = ops.matmul(x, self.cell.kernel)
        if self.cell.input_bias is not None:
            xw = xw + self.cell.input_bias
        self.caches, outputs = [], []
        for t in range(self.steps):
            new, cache = self.cell.forward(xw[:, t], states, epsilon)
            if mask is not None:
                m = mask[:, t : t + 1]
                new = [ops.where(m, a, b) for a, b in zip(new, states)]
                out = ops.where(m, new[0], ops.zeros_like(new[0])) if self.zero_output else new[0]
            else:
                out = new[0]
            states = new
            self.caches.append(cache)
            outputs.append(out)
        self.final_states = states
        self.output = ops.stack(outputs, axis=1) if layer.return_sequences else outputs[-1]

    def relevance(self, r_output, r_states=None):
        """Relevance of the sequence and of the initial states, for the relevance of the
        output (in processing order) and of the returned states (None: none)."""
        mask, epsilon = self.mask, self.epsilon
        relevances = [
            ops.zeros_like(s) if r is None else r
            for s, r in zip(self.final_states, r_states or [None] * len(self.final_states))
        ]
        s_steps = [None] * self.steps
        for t in reversed(range(self.steps)):
            r_out = None
            if self.layer.return_sequences:
                r_out = r_output[:, t]
            elif t == self.steps - 1:
                r_out = r_output
            m = None if mask is None else mask[:, t : t + 1]
            if r_out is not None:
                if m is not None and self.zero_output:
                    r_out = ops.where(m, r_out, ops.zeros_like(r_out))
                relevances[0] = relevances[0] + r_out
            if m is None:
                new, carried = relevances, None
            else:  # a masked step passes the state (and its relevance) on unchanged
                new = [ops.where(m, r, ops.zeros_like(r)) for r in relevances]
                carried = [ops.where(m, ops.zeros_like(r), r) for r in relevances]
            s, previous = self.cell.reverse(self.caches[t], new, epsilon)
            relevances = previous if carried is None else [a + b for a, b in zip(previous, carried)]
            s_steps[t] = s
        s_all = ops.stack(s_steps, axis=1)
        r_x = self.x * ops.matmul(s_all, ops.transpose(self.cell.x_kernel))
        if self.layer.go_backwards:
            r_x = ops.flip(r_x, axis=1)
        return r_x, relevances


class RecurrentRule(lrp_rules.Rule):
    """LRP for recurrent layers (Arras et al., 2017/2019): ε on the linear parts,
    identity through element-wise non-linearities, signal-take-all at the gates.

    Handles ``LSTM``, ``GRU`` (``reset_after`` True and False), ``SimpleRNN``,
    ``keras.layers.RNN`` around one ``LSTMCell``/``GRUCell``/``SimpleRNNCell``,
    ``Bidirectional`` (all merge modes) and ``TimeDistributed``, with
    ``return_sequences``, ``return_state``, ``go_backwards``, initial states and masking.

    Parameters
    ----------
    epsilon : float
        The stabiliser ε ≥ 0 of the ε-rule on the linear parts and sums (0: the z-rule,
        0 where a denominator is 0).
    wrapped_rule : Rule, optional
        The rule for a Dense/Conv layer inside ``TimeDistributed`` (default: the ε-rule
        with the same ε), applied to all steps at once.

    Notes
    -----
    ``Bidirectional`` merges: ``concat`` splits the relevance, ``sum`` and ``ave`` share it
    by the ε-rule in proportion to each direction's contribution, ``mul`` gives each
    direction half (the uniform rule for a product of two signals), ``None`` keeps the
    two outputs apart.

    Examples
    --------
    >>> RecurrentRule(epsilon=0.01)
    RecurrentRule(epsilon=0.01)
    """

    def __init__(self, epsilon: float = 1e-7, wrapped_rule=None):
        if not np.isfinite(epsilon) or epsilon < 0:
            raise ValueError(f"epsilon must be a finite number >= 0, got {epsilon!r}.")
        self.epsilon = float(epsilon)
        self.wrapped_rule = None if wrapped_rule is None else lrp_rules.get_rule(wrapped_rule)

    def get_config(self):
        config = {"epsilon": self.epsilon}
        if self.wrapped_rule is not None:
            config["wrapped_rule"] = self.wrapped_rule
        return config

    # -- the mapping ---------------------------------------------------------------------------
    def __call__(self, inputs, outputs, reversed_outputs, state):
        layer = state.layer
        check_recurrent_layer(layer)
        position = {id(x): i for i, x in enumerate(inputs)}
        args, kwargs = state.node.bind(inputs)
        names = (
            ("inputs",)
            if isinstance(layer, keras.layers.TimeDistributed)
            else ("sequences", "initial_state")
        )
        sequence = args[0] if args else kwargs[names[0]]
        initial = args[1] if len(args) > 1 and len(names) > 1 else kwargs.get("initial_state")
        mask = args[2] if len(args) > 2 else kwargs.get("mask")
        seq_index = position[id(sequence)]
        if mask is None:
            mask = state.input_masks[seq_index]
        initial = None if initial is None else keras.tree.flatten(initial)
        result = [ops.zeros_like(x) for x in inputs]

        if isinstance(layer, keras.layers.TimeDistributed):
            r_seq = self._time_distributed(layer, sequence, reversed_outputs[0], mask, state)
            r_initial = []
        elif isinstance(layer, keras.layers.Bidirectional):
            r_seq, r_initial = self._bidirectional(layer, sequence, initial, mask, reversed_outputs)
        else:
            n_out = 1 + (
                len(layer.cell.state_size)
                if isinstance(layer.cell.state_size, (list, tuple))
                else 1
            )
            r_states = reversed_outputs[1:n_out] if layer.return_state else None
            unrolled = _Unrolled(layer, sequence, initial, _step_mask(mask), self.epsilon)
            r_seq, r_initial = unrolled.relevance(reversed_outputs[0], r_states)
        result[seq_index] = result[seq_index] + r_seq
        for s, r in zip(initial or [], r_initial):
            i = position.get(id(s))
            if i is not None:
                result[i] = result[i] + r
        return result

    # -- Bidirectional -------------------------------------------------------------------------------
    def _bidirectional(self, layer, sequence, initial, mask, reversed_outputs):
        mask = _step_mask(mask)
        half = None if initial is None else len(initial) // 2
        forward = _Unrolled(
            layer.forward_layer,
            sequence,
            None if initial is None else initial[:half],
            mask,
            self.epsilon,
        )
        backward = _Unrolled(
            layer.backward_layer,
            sequence,
            None if initial is None else initial[half:],
            mask,
            self.epsilon,
        )
        y, y_rev = forward.output, backward.output
        if layer.return_sequences:
            y_rev = ops.flip(y_rev, axis=1)
        mode = layer.merge_mode
        if mode is None:
            r_y, r_rev, rest = reversed_outputs[0], reversed_outputs[1], reversed_outputs[2:]
        else:
            r, rest = reversed_outputs[0], reversed_outputs[1:]
            if mode == "concat":
                units = y.shape[-1]
                r_y, r_rev = r[..., :units], r[..., units:]
            elif mode in ("sum", "ave"):
                scale = 1.0 if mode == "sum" else 0.5
                d = _divide(r, scale * (y + y_rev), self.epsilon)
                r_y, r_rev = scale * y * d, scale * y_rev * d
            elif mode == "mul":
                r_y, r_rev = r / 2, r / 2
            else:  # pragma: no cover - Keras validates merge_mode
                _refuse(layer, f"uses merge_mode={mode!r}")
        if layer.return_sequences:
            r_rev = ops.flip(r_rev, axis=1)
        k = len(forward.final_states)
        r_states_f = list(rest[:k]) if layer.return_state else None
        r_states_b = list(rest[k : 2 * k]) if layer.return_state else None
        r_seq_f, r_init_f = forward.relevance(r_y, r_states_f)
        r_seq_b, r_init_b = backward.relevance(r_rev, r_states_b)
        return r_seq_f + r_seq_b, r_init_f + r_init_b

    # -- TimeDistributed -----------------------------------------------------------------------------
    def _time_distributed(self, layer, x, relevance, mask, state):
        inner = layer.layer
        steps = x.shape[1]
        flat_x = ops.reshape(x, (-1,) + tuple(x.shape[2:]))
        flat_r = ops.reshape(relevance, (-1,) + tuple(relevance.shape[2:]))
        if isinstance(inner, _FAMILY):
            if mask is not None:
                _refuse(
                    layer,
                    "wraps a recurrent layer and receives a mask; apply the mask inside the wrapped "
                    "sequences instead (a Masking layer before the recurrent layer)",
                )
            r = self._wrapped_recurrent(inner, flat_x, flat_r, state)
        else:
            r = self._wrapped_layer(inner, flat_x, flat_r, state)
        return ops.reshape(r, (-1, steps) + tuple(x.shape[2:]))

    def _wrapped_recurrent(self, inner, x, relevance, state):
        if isinstance(inner, keras.layers.TimeDistributed):
            return self._time_distributed(inner, x, relevance, None, state)
        outs = [relevance]
        if isinstance(inner, keras.layers.Bidirectional):
            if inner.return_state:
                _refuse(
                    inner,
                    "returns states inside TimeDistributed; return the sequence or last output only",
                )
            if inner.merge_mode is None:
                _refuse(inner, "has merge_mode=None inside TimeDistributed; choose a merge mode")
            return self._bidirectional(inner, x, None, None, outs)[0]
        if inner.return_state:
            _refuse(
                inner,
                "returns states inside TimeDistributed; return the sequence or last output only",
            )
        return _Unrolled(inner, x, None, None, self.epsilon).relevance(relevance)[0]

    def _wrapped_layer(self, inner, x, relevance, state):
        kind = _inner_kind(inner)
        if kind == "pass":
            return relevance
        call = lambda a: keras.tree.flatten(inner(a))  # noqa: E731
        call.single_tensor = True
        node = GraphNode(
            inner,
            [("time_distributed", 0)],
            [("time_distributed", 1)],
            call,
            kind="linear" if kind == "kernel" else "layer",
        )
        ys, vjp = backend.get().forward_with_vjp(node, [x])
        inner_state = ReverseState(node, state.graph, vjp)
        inner_state._inputs = [x]
        if kind == "kernel":
            # The activation of the wrapped layer passes relevance (identity rule); the
            # wrapped rule acts on its linear part ys[0].
            rule = (
                self.wrapped_rule
                if self.wrapped_rule is not None
                else lrp_rules.EpsilonRule(self.epsilon)
            )
            return rule([x], [ys[0]], [relevance], inner_state)[0]
        if kind == "batch_norm":
            return lrp_rules.BatchNormEpsilonRule(self.epsilon)([x], ys, [relevance], inner_state)[
                0
            ]
        if kind == "linear":
            return lrp_rules.EpsilonRule.through_gradient(
                [x], ys, [relevance], inner_state, self.epsilon
            )[0]
        return inner_state.gradient([relevance])[0]

"""The four training regimes of Chapter IV, §4: RB, UAB, SAB and DAB.

* RB  - random basis, frozen; only the linear softmax classifier is trained.
* UAB - the basis minimises the kernel approximation error (Eq. IV.8) on mini-batches of
  sampled pairs, then is frozen under a softmax classifier.
* SAB - the basis maximises the kernel-target alignment (Eq. IV.9) on mini-batches of
  sampled points, then is frozen under a softmax classifier.
* DAB - basis and classifier trained end to end on the multinomial logistic loss.

Optimisation follows §5.1: Adam, batches of 64, early stopping after ``patience`` epochs
without improvement of the validation loss (10, or 20 for Hadamard bases), best weights
restored. UAB and SAB epochs consist of ``train_batches`` freshly sampled batches (pairs
or points), validated on ``val_batches`` batches drawn once from the validation split.
"""

import dataclasses
import math

import keras
import numpy as np
from keras import ops
from tqdm.auto import tqdm

from ._validation import (
    check_finite_array,
    check_kernel_name,
    check_n_features,
    check_positive_real,
    check_sigma,
    check_validation_size,
)
from .heuristics import sigma_heuristic
from .layers import ArcCosBasis, GaussianBasis, HadamardBasis
from .metrics import alignment_loss, paired_squared_error

__all__ = ["REGIMES", "TrainingProtocol", "KernelMachine", "make_basis"]

REGIMES = ("rb", "uab", "sab", "dab")
BASES = ("dense", "hadamard")


@dataclasses.dataclass
class TrainingProtocol:
    """Sizes of the optimisation protocol of §5.1 (defaults: the thesis' values).

    Parameters
    ----------
    batch_size : int
        Mini-batch size (64 pairs for UAB, 64 points for SAB, 64 samples otherwise).
    patience : int or None
        Epochs without validation improvement before stopping; None: 10, 20 for Hadamard.
    max_epochs : int
        Upper bound on epochs per stage.
    train_batches, val_batches, test_batches : int
        Randomly sampled batches per UAB/SAB epoch, for validation, and for the final
        kernel approximation error.
    learning_rate : float
        Adam's step size.

    Examples
    --------
    >>> TrainingProtocol(train_batches=100).val_batches
    1000
    """

    batch_size: int = 64
    patience: int | None = None
    max_epochs: int = 200
    train_batches: int = 10_000
    val_batches: int = 1_000
    test_batches: int = 1_000
    learning_rate: float = 1e-3

    def __post_init__(self):
        for name in ("batch_size", "max_epochs", "train_batches", "val_batches", "test_batches"):
            check_n_features(getattr(self, name), name=name)
        if self.patience is not None:
            check_n_features(self.patience, name="patience")
        self.learning_rate = check_positive_real(self.learning_rate, name="learning_rate")


def make_basis(kernel, n_features, sigma=None, *, basis="dense", n_blocks=3, seed=None):
    """The basis layer for a kernel name: Gaussian (dense or Hadamard) or (deep) ArcCos.

    Parameters
    ----------
    kernel : {"gaussian", "arccos", "arccos2", "arccos3"}
    n_features : int
        Output width for the Gaussian bases, total width for the ArcCos bases.
    sigma : float
        Bandwidth (Gaussian only).
    basis : {"dense", "hadamard"}
    n_blocks : {1, 2, 3}
        Hadamard blocks.
    seed : int or None

    Examples
    --------
    >>> type(make_basis("arccos2", 100)).__name__
    'ArcCosBasis'
    """
    kernel = check_kernel_name(kernel)
    if basis not in BASES:
        raise ValueError(f"unknown basis {basis!r}; valid bases are {', '.join(BASES)}.")
    if kernel == "gaussian":
        sigma = check_sigma(sigma)
        if basis == "hadamard":
            return HadamardBasis(n_features, sigma, n_blocks=n_blocks, seed=seed)
        return GaussianBasis(n_features, sigma, seed=seed)
    if basis == "hadamard":
        raise ValueError(
            f"the Hadamard basis approximates the Gaussian kernel only; use "
            f"basis='dense' for kernel={kernel!r}."
        )
    return ArcCosBasis(n_features, n_layers={"arccos": 1, "arccos2": 2, "arccos3": 3}[kernel], seed=seed)


def copy_basis(layer, *, dtype=None):
    """A new, built basis layer with the same configuration and weights (optionally another dtype)."""
    config = layer.get_config()
    if dtype is not None:
        config["dtype"] = dtype
    clone = type(layer).from_config(config)
    clone(np.zeros((1, layer.input_spec.axes[-1]), clone.compute_dtype))
    clone.set_weights([np.asarray(w, dtype=clone.variable_dtype) for w in layer.get_weights()])
    clone.trainable = False
    return clone


def features(layer, X, *, chunk=4096):
    """``layer(X)`` as a NumPy array (the layer's dtype), computed in chunks of rows."""
    out = [ops.convert_to_numpy(layer(X[i : i + chunk])) for i in range(0, len(X), chunk)]
    return np.concatenate(out, axis=0) if out else np.zeros((0, layer.output_dim), "float32")


class _EarlyStopping(keras.callbacks.Callback):
    """Stop after ``patience`` epochs without a lower validation loss; restore the best."""

    def __init__(self, patience, bar):
        super().__init__()
        self.patience, self.bar = patience, bar
        self.best, self.best_epoch, self.wait, self.best_weights = np.inf, 0, 0, None
        self.val_loss = []

    def on_train_begin(self, logs=None):
        self.best_weights = self.model.get_weights()

    def on_epoch_end(self, epoch, logs=None):
        loss = float(logs["val_loss"])
        self.val_loss.append(loss)
        self.bar.update(1)
        self.bar.set_postfix(val_loss=f"{loss:.4g}")
        if loss < self.best:
            self.best, self.best_epoch, self.wait = loss, epoch + 1, 0
            self.best_weights = self.model.get_weights()
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.model.stop_training = True

    def on_train_end(self, logs=None):
        self.model.set_weights(self.best_weights)


class _FreshBatches(keras.utils.PyDataset):
    """``n_batches`` batches per epoch, each drawn anew by ``sample()`` (§5.1's protocol)."""

    def __init__(self, sample, n_batches):
        super().__init__()
        self.sample, self.n_batches = sample, n_batches

    def __len__(self):
        return self.n_batches

    def __getitem__(self, index):
        return self.sample()


def _run_epochs(model, train, val_data, *, protocol, patience, eval_batch_size, desc, verbose):
    """``model.fit`` with early stopping on the validation loss; the best weights restored.

    ``train`` is either a ``(x, y)`` pair (epochs over shuffled data) or a PyDataset.
    """
    bar = tqdm(total=protocol.max_epochs, desc=desc, disable=not verbose, leave=False)
    stopper = _EarlyStopping(patience, bar)
    kwargs = dict(validation_data=val_data, validation_batch_size=eval_batch_size,
                  epochs=protocol.max_epochs, callbacks=[stopper], verbose=0)
    if isinstance(train, keras.utils.PyDataset):
        model.fit(train, **kwargs)
    else:
        model.fit(*train, batch_size=protocol.batch_size, shuffle=True, **kwargs)
    bar.close()
    return {"val_loss": stopper.val_loss, "best_epoch": stopper.best_epoch,
            "epochs_run": len(stopper.val_loss)}


def _paired_kernel_numpy(kernel, a, b, sigma):
    """k(a_i, b_i) in NumPy float64 (targets built outside the graph, per batch)."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    if kernel == "gaussian":
        return np.exp(-np.sum((a - b) ** 2, axis=1) / (2.0 * sigma**2))
    kxx, kyy, kxy = np.sum(a * a, 1), np.sum(b * b, 1), np.sum(a * b, 1)
    for _ in range({"arccos": 1, "arccos2": 2, "arccos3": 3}[kernel]):
        norm = np.sqrt(kxx * kyy)
        cos = np.clip(np.divide(kxy, norm, out=np.zeros_like(norm), where=norm > 0), -1, 1)
        theta = np.arccos(cos)
        kxy = norm * (np.sin(theta) + (np.pi - theta) * cos) / (2 * np.pi)
        kxx, kyy = kxx / 2, kyy / 2
    return kxy


def _sample_pairs(X, n_pairs, rng):
    i, j = rng.integers(len(X), size=(2, n_pairs))
    return X[i], X[j]


class KernelMachine:
    """Approximated kernel machine ``f(x) = softmax(W^T phi(x) + b)`` (Eq. IV.7), four regimes.

    Parameters
    ----------
    kernel : {"gaussian", "arccos", "arccos2", "arccos3"}, default "gaussian"
    n_features : int, default 1000
        Width of the basis (see :func:`make_basis`).
    regime : {"rb", "uab", "sab", "dab"}, default "rb"
    basis : {"dense", "hadamard"}, default "dense"
    n_blocks : {1, 2, 3}, default 3
        Hadamard blocks (``basis="hadamard"``).
    sigma : float or None
        Gaussian bandwidth; None: :func:`sigma_heuristic` on the training data.
    protocol : TrainingProtocol or None
        Optimisation sizes; None: the thesis' defaults.
    random_state : int or None
        Seeds the basis, the batch sampling and Keras.
    verbose : bool
        Progress bars per training stage.

    Attributes
    ----------
    basis_ : keras layer
    classifier_ : keras.layers.Dense
    classes_ : ndarray
    sigma_ : float or None
    history_ : dict
        Per stage ("adaptation", "classifier"): validation losses, best and run epochs.
    n_epochs_ : int
        Epochs until the best validation loss of the last trained stage
        (the end-to-end stage for DAB).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> X, y = load_digits(return_X_y=True)
    >>> X = X / 16.0
    >>> proto = TrainingProtocol(max_epochs=10, learning_rate=1e-2)
    >>> m = KernelMachine("arccos", 200, "dab", protocol=proto, random_state=0).fit(X[:1000], y[:1000])
    >>> m.score(X[1000:], y[1000:]) > 0.8
    True
    """

    def __init__(self, kernel="gaussian", n_features=1000, regime="rb", *, basis="dense",
                 n_blocks=3, sigma=None, protocol=None, random_state=None, verbose=False):
        self.kernel = check_kernel_name(kernel)
        self.n_features = check_n_features(n_features)
        if regime not in REGIMES:
            raise ValueError(f"unknown regime {regime!r}; valid regimes are {', '.join(REGIMES)}.")
        self.regime = regime
        self.basis = basis
        self.n_blocks = n_blocks
        self.sigma = check_sigma(sigma, allow_none=True)
        self.protocol = protocol if protocol is not None else TrainingProtocol()
        self.random_state = random_state
        self.verbose = verbose

    # -- helpers -------------------------------------------------------------------------
    @property
    def _patience(self):
        if self.protocol.patience is not None:
            return self.protocol.patience
        return 20 if self.basis == "hadamard" else 10

    def _split(self, X, y, validation_data, validation_size):
        if validation_data is not None:
            Xv, yv = validation_data
            Xv = check_finite_array(Xv, name="validation X").astype("float32")
            if Xv.shape[1] != X.shape[1]:
                raise ValueError(
                    f"validation X has {Xv.shape[1]} features, training X has {X.shape[1]}."
                )
            return X, y, Xv, np.asarray(yv)
        n_val = check_validation_size(validation_size, len(X))
        perm = self._rng.permutation(len(X))
        return X[perm[n_val:]], y[perm[n_val:]], X[perm[:n_val]], y[perm[:n_val]]

    def _encode(self, y):
        idx = np.searchsorted(self.classes_, y)
        idx = np.clip(idx, 0, len(self.classes_) - 1)
        if not np.all(self.classes_[idx] == y):
            raise ValueError("y holds labels that were not seen when the machine was fitted.")
        return idx

    # -- stages --------------------------------------------------------------------------
    def _adapt_unsupervised(self, Xt, Xv):
        p, rng, d = self.protocol, self._rng, Xt.shape[1]
        x1, x2 = keras.Input((d,)), keras.Input((d,))
        dot = keras.layers.Dot(axes=1)([self.basis_(x1), self.basis_(x2)])
        model = keras.Model([x1, x2], dot)
        model.compile(keras.optimizers.Adam(p.learning_rate), loss=paired_squared_error)

        def pairs(X, n_batches):
            a, b = _sample_pairs(X, n_batches * p.batch_size, rng)
            k = _paired_kernel_numpy(self.kernel, a, b, self.sigma_)
            return (a, b), k.reshape(-1, 1).astype("float32")

        val = pairs(Xv, p.val_batches)
        train = _FreshBatches(lambda: pairs(Xt, 1), p.train_batches)
        return _run_epochs(
            model, train, val, protocol=p, patience=self._patience,
            eval_batch_size=1024, desc=f"UAB {self.kernel} D={self.n_features}", verbose=self.verbose,
        )

    def _adapt_supervised(self, Xt, yt, Xv, yv):
        p, rng = self.protocol, self._rng
        n_classes = len(self.classes_)
        x = keras.Input((Xt.shape[1],))
        model = keras.Model(x, self.basis_(x))
        model.compile(keras.optimizers.Adam(p.learning_rate), loss=alignment_loss)

        def points(X, y, n_batches):
            idx = rng.integers(len(X), size=n_batches * p.batch_size)
            return X[idx], np.eye(n_classes, dtype="float32")[y[idx]]

        val = points(Xv, yv, p.val_batches)
        train = _FreshBatches(lambda: points(Xt, yt, 1), p.train_batches)
        return _run_epochs(
            model, train, val, protocol=p,
            patience=self._patience, eval_batch_size=p.batch_size,
            desc=f"SAB {self.kernel} D={self.n_features}", verbose=self.verbose,
        )

    def _train_classifier(self, Xt, yt, Xv, yv, *, end_to_end):
        p, rng = self.protocol, self._rng
        self.classifier_ = keras.layers.Dense(len(self.classes_), activation="softmax")
        if end_to_end:
            x = keras.Input((Xt.shape[1],))
            model = keras.Model(x, self.classifier_(self.basis_(x)))
            inputs_t, inputs_v = Xt, Xv
        else:
            # Frozen basis: train the linear classifier on precomputed features.
            inputs_t, inputs_v = features(self.basis_, Xt), features(self.basis_, Xv)
            x = keras.Input((inputs_t.shape[1],))
            model = keras.Model(x, self.classifier_(x))
        model.compile(
            keras.optimizers.Adam(p.learning_rate),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )

        return _run_epochs(
            model, (inputs_t, yt), (inputs_v, yv), protocol=p, patience=self._patience,
            eval_batch_size=1024, desc=f"{self.regime.upper()} classifier D={self.n_features}",
            verbose=self.verbose,
        )

    # -- public API ----------------------------------------------------------------------
    def _prepare(self, X, y, validation_data, validation_size):
        X = check_finite_array(X).astype("float32")
        y = np.zeros(len(X), dtype=int) if y is None else np.asarray(y)
        if y.shape != (len(X),):
            raise ValueError(f"y must have shape ({len(X)},), got {y.shape}.")
        self._rng = np.random.default_rng(self.random_state)
        if isinstance(self.random_state, int):
            keras.utils.set_random_seed(self.random_state)
        self._set_sigma(X)
        return self._split(X, y, validation_data, validation_size)

    def _set_sigma(self, X):
        # On all of X (before the validation split): the bandwidth is a property of the data.
        self.sigma_ = None
        if self.kernel == "gaussian":
            self.sigma_ = self.sigma if self.sigma is not None else sigma_heuristic(
                X, random_state=self.random_state)

    def _make_basis(self, Xt):
        if not hasattr(self, "sigma_"):
            self._set_sigma(Xt)
        seed = self.random_state if isinstance(self.random_state, int) else None
        self.basis_ = make_basis(self.kernel, self.n_features, self.sigma_, basis=self.basis,
                                 n_blocks=self.n_blocks, seed=seed)
        self.basis_(Xt[:1])
        self.history_ = {}

    def _adapt(self, Xt, yt, Xv, yv):
        if self.regime == "uab":
            self.history_["adaptation"] = self._adapt_unsupervised(Xt, Xv)
        elif self.regime == "sab":
            self.history_["adaptation"] = self._adapt_supervised(Xt, yt, Xv, yv)

    def fit_basis(self, X, y=None, *, validation_data=None, validation_size=0.1):
        """Initialise the basis and, for UAB/SAB, adapt it; no classifier is trained.

        ``y`` is needed for SAB only. DAB adapts its basis with the classifier, so here
        it leaves the basis at its random initialisation.

        Returns
        -------
        self
        """
        if self.regime == "sab" and y is None:
            raise ValueError("the supervised adaptation (SAB) needs labels y.")
        if self.regime == "sab" and len(np.unique(np.asarray(y))) < 2:
            raise ValueError(
                "the supervised adaptation (SAB) maximises the kernel-target alignment "
                "(Eq. IV.9) and needs at least two classes; y has one. Use regime 'uab' "
                "to adapt without labels."
            )
        Xt, yt, Xv, yv = self._prepare(X, y, validation_data, validation_size)
        self.classes_ = np.unique(yt)
        yt, yv = self._encode(yt), self._encode(yv)
        self._make_basis(Xt)
        self._adapt(Xt, yt, Xv, yv)
        self.basis_.trainable = False
        return self

    def fit(self, X, y, *, validation_data=None, validation_size=0.1):
        """Train the machine in its regime.

        Parameters
        ----------
        X : array of shape (n, d)
        y : array of shape (n,)
        validation_data : (X_val, y_val), optional
            Early-stopping data; otherwise ``validation_size`` of ``X`` is held out.
        validation_size : float or int, default 0.1

        Returns
        -------
        self
        """
        if y is None:
            raise ValueError("KernelMachine.fit needs labels y; use fit_basis for features only.")
        Xt, yt, Xv, yv = self._prepare(X, y, validation_data, validation_size)
        self.classes_ = np.unique(yt)
        if len(self.classes_) < 2:
            raise ValueError("y has a single class; a classifier needs at least two.")
        yt, yv = self._encode(yt), self._encode(yv)
        self._make_basis(Xt)
        self._adapt(Xt, yt, Xv, yv)
        end_to_end = self.regime == "dab"
        self.basis_.trainable = end_to_end
        self.history_["classifier"] = self._train_classifier(Xt, yt, Xv, yv, end_to_end=end_to_end)
        self.basis_.trainable = False
        self.n_epochs_ = self.history_["classifier"]["best_epoch"]
        if self.regime in ("uab", "sab"):
            self.n_epochs_ = self.history_["adaptation"]["best_epoch"]
        return self

    def transform(self, X):
        """The basis features ``phi(X)`` (float32 array)."""
        return features(self.basis_, check_finite_array(X).astype("float32"))

    def predict_proba(self, X):
        """Class probabilities, shape (n, n_classes)."""
        F = self.transform(X)
        return np.concatenate([ops.convert_to_numpy(self.classifier_(F[i:i + 4096]))
                               for i in range(0, len(F), 4096)])

    def predict(self, X):
        """Predicted labels."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def score(self, X, y):
        """Accuracy on ``(X, y)``."""
        return float(np.mean(self.predict(X) == np.asarray(y)))

    def pair_kernel_approximation_error(self, X, *, n_pairs=None, random_state=0):
        """KAE (Eq. IV.8) averaged over random pairs of ``X`` (``test_batches`` x 64 by default).

        Returns
        -------
        float
        """
        X = check_finite_array(X).astype("float32")
        rng = np.random.default_rng(random_state)
        if n_pairs is None:
            n_pairs = self.protocol.test_batches * self.protocol.batch_size
        n_pairs = check_n_features(n_pairs, name="n_pairs")
        a, b = _sample_pairs(X, n_pairs, rng)
        approx = np.sum(features(self.basis_, a).astype(np.float64)
                        * features(self.basis_, b).astype(np.float64), axis=1)
        exact = _paired_kernel_numpy(self.kernel, a, b, self.sigma_)
        return float(np.mean(0.5 * (exact - approx) ** 2))

    def transfer(self, X, y, *, validation_data=None, validation_size=0.1):
        """A machine with this machine's basis, frozen, and a new classifier fitted on (X, y).

        The transfer-learning experiment of Fig. IV.2: only the classifier is learnt.

        Returns
        -------
        KernelMachine
        """
        other = KernelMachine(self.kernel, self.n_features, "rb", basis=self.basis,
                              n_blocks=self.n_blocks, sigma=self.sigma_, protocol=self.protocol,
                              random_state=self.random_state, verbose=self.verbose)
        X = check_finite_array(X).astype("float32")
        y = np.asarray(y)
        other._rng = np.random.default_rng(self.random_state)
        Xt, yt, Xv, yv = other._split(X, y, validation_data, validation_size)
        other.classes_ = np.unique(yt)
        if len(other.classes_) < 2:
            raise ValueError("y has a single class; a classifier needs at least two.")
        yt, yv = other._encode(yt), other._encode(yv)
        other.sigma_ = self.sigma_
        other.basis_ = copy_basis(self.basis_)
        other.basis_.trainable = False
        other.history_ = {"classifier": other._train_classifier(Xt, yt, Xv, yv, end_to_end=False)}
        other.n_epochs_ = other.history_["classifier"]["best_epoch"]
        return other

"""The approximated kernel machine of Chapter IV and its four training regimes (§4).

* RB  - random basis, frozen; only the linear softmax classifier is trained.
* UAB - the basis minimises the kernel approximation error (Eq. IV.8) on mini-batches of
  sampled pairs, then is frozen under a softmax classifier.
* SAB - the basis maximises the kernel-target alignment (Eq. IV.9) on mini-batches of
  sampled points, then is frozen under a softmax classifier.
* DAB - basis and classifier trained end to end on the multinomial logistic loss.

The optimisation (Adam, fresh batches, early stopping) is :mod:`rbkernels.protocol`'s.
"""

from __future__ import annotations

import numbers
import warnings

import keras
import numpy as np
from keras import ops
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone
from sklearn.utils import TransformerTags
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from ._validation import (
    check_choice_int,
    check_kernel_name,
    check_n_features,
    check_positive_int,
    check_sigma,
    check_validation_size,
)
from .heuristics import sigma_heuristic
from .kernels import paired_kernel
from .layers.factory import (
    BASES,
    basis_features,
    copy_basis,
    layer_from_state,
    layer_state,
    make_basis,
)
from .metrics import alignment_loss, paired_squared_error
from .protocol import FreshBatches, TrainingProtocol, run_epochs

__all__ = ["REGIMES", "KernelMachine"]

REGIMES = ("rb", "uab", "sab", "dab")


def _generator(random_state):
    """A NumPy Generator from None, an int, a RandomState or a Generator."""
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(2**31))
    return np.random.default_rng(random_state)


def _sample_pairs(X, n_pairs, rng):
    i, j = rng.integers(len(X), size=(2, n_pairs))
    return X[i], X[j]


def _pair_kernel(kernel, a, b, sigma):
    """``k(a_i, b_i)`` as a float64 NumPy vector (:func:`rbkernels.paired_kernel`)."""
    values = paired_kernel(kernel, a.astype(np.float64), b.astype(np.float64), sigma=sigma)
    return np.asarray(ops.convert_to_numpy(values), dtype=np.float64)


class KernelMachine(ClassifierMixin, TransformerMixin, BaseEstimator):
    """Approximated kernel machine ``f(x) = softmax(W^T phi(x) + b)`` (Eq. IV.7), four regimes.

    A scikit-learn classifier whose ``transform`` gives the basis features ``phi(X)`` (like
    ``LinearDiscriminantAnalysis``): ``__init__`` only stores its arguments, ``fit`` checks them.

    Parameters
    ----------
    kernel : {"gaussian", "arccos", "arccos2", "arccos3"}, default "gaussian"
    n_components : int, default 1000
        Width of the basis (the layer's ``units``, see :func:`rbkernels.make_basis`), as
        ``n_components`` of scikit-learn's ``RBFSampler``.
    regime : {"rb", "uab", "sab", "dab"}, default "rb"
    basis : {"dense", "hadamard"}, default "dense"
    n_blocks : {1, 2, 3}, default 3
        Hadamard blocks (``basis="hadamard"``).
    sigma : float or None
        Gaussian bandwidth; None: :func:`rbkernels.sigma_heuristic` on the training data.
    protocol : TrainingProtocol or None
        Optimisation sizes; None: the thesis' defaults.
    random_state : int, RandomState or None
        Seeds the basis (int only), the batch sampling and Keras.
    verbose : bool
        Progress bars per training stage.
    n_features : int or None
        Deprecated name of ``n_components`` (``DeprecationWarning`` in ``fit``).

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
    n_features_in_ : int
        Width of the input ``X``.

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

    def __init__(
        self,
        kernel: str = "gaussian",
        n_components: int = 1000,
        regime: str = "rb",
        *,
        basis: str = "dense",
        n_blocks: int = 3,
        sigma: float | None = None,
        protocol: TrainingProtocol | None = None,
        random_state: int | np.random.RandomState | None = None,
        verbose: bool = False,
        n_features: int | None = None,
    ) -> None:
        self.kernel = kernel
        self.n_components = n_components
        self.regime = regime
        self.basis = basis
        self.n_blocks = n_blocks
        self.sigma = sigma
        self.protocol = protocol
        self.random_state = random_state
        self.verbose = verbose
        self.n_features = n_features

    # -- checks --------------------------------------------------------------------------
    def _check_params(self):
        """Validate the parameters; return the basis width and the protocol."""
        check_kernel_name(self.kernel)
        units = self.n_components
        if self.n_features is not None:
            warnings.warn(
                "KernelMachine(n_features=...) is deprecated and will be removed in rbkernels "
                "0.3; pass n_components=... (scikit-learn's name for the output width).",
                DeprecationWarning,
                stacklevel=3,
            )
            units = self.n_features
        units = check_n_features(units, name="n_components")
        if self.regime not in REGIMES:
            raise ValueError(
                f"unknown regime {self.regime!r}; valid regimes are {', '.join(REGIMES)}."
            )
        if self.basis not in BASES:
            raise ValueError(f"unknown basis {self.basis!r}; valid bases are {', '.join(BASES)}.")
        if self.basis == "hadamard" and self.kernel != "gaussian":
            raise ValueError(
                f"the Hadamard basis approximates the Gaussian kernel only; use "
                f"basis='dense' for kernel={self.kernel!r}."
            )
        check_choice_int(self.n_blocks, name="n_blocks (Hadamard blocks)", choices=(1, 2, 3))
        check_sigma(self.sigma, allow_none=True)
        protocol = self.protocol if self.protocol is not None else TrainingProtocol()
        if not isinstance(protocol, TrainingProtocol):
            raise TypeError(
                f"protocol must be a rbkernels.TrainingProtocol or None, got "
                f"{type(protocol).__name__}; pass e.g. protocol=TrainingProtocol(max_epochs=20)."
            )
        return units, protocol

    @staticmethod
    def _encode(classes, y, *, name="y"):
        """``y`` as indices into ``classes``; raises for labels not among them."""
        y = np.asarray(y)
        idx = np.clip(np.searchsorted(classes, y), 0, len(classes) - 1)
        if not np.all(classes[idx] == y):
            unseen = sorted(set(y.tolist()) - set(classes.tolist()))
            raise ValueError(
                f"{name} holds labels {unseen[:5]} that are not among the training classes "
                f"{classes.tolist()}."
            )
        return idx

    def _split(self, X, y, validation_data, validation_size, rng):
        if validation_data is not None:
            Xv, yv = validation_data
            Xv = check_array(Xv, dtype=np.float32, input_name="validation X")
            if Xv.shape[1] != X.shape[1]:
                raise ValueError(
                    f"validation X has {Xv.shape[1]} features, training X has {X.shape[1]}."
                )
            yv = np.asarray(yv)
            if yv.shape != (len(Xv),):
                raise ValueError(f"validation y must have shape ({len(Xv)},), got {yv.shape}.")
            return X, y, Xv, yv
        n_val = check_validation_size(validation_size, len(X))
        perm = rng.permutation(len(X))
        return X[perm[n_val:]], y[perm[n_val:]], X[perm[:n_val]], y[perm[:n_val]]

    def _start(self, X, y=None):
        """Check parameters and data, seed, and set ``sigma_``; shared by every ``fit``."""
        units, protocol = self._check_params()
        if y is None:
            X = validate_data(self, X, dtype=np.float32)
        else:
            X, y = validate_data(self, X, y, dtype=np.float32)
        if isinstance(self.random_state, numbers.Integral):
            keras.utils.set_random_seed(int(self.random_state))
        self.sigma_ = None
        if self.kernel == "gaussian":
            # On all of X (before the validation split): the bandwidth is a property of the data.
            self.sigma_ = (
                check_sigma(self.sigma)
                if self.sigma is not None
                else sigma_heuristic(X, random_state=self.random_state)
            )
        return X, y, units, protocol, _generator(self.random_state)

    def _new_basis(self, X, units):
        seed = int(self.random_state) if isinstance(self.random_state, numbers.Integral) else None
        basis = make_basis(
            self.kernel, units, self.sigma_, basis=self.basis, n_blocks=self.n_blocks, seed=seed
        )
        basis(X[:1])
        return basis

    def _finish(self):
        self.basis_.trainable = False
        # Predictions go through a float64 copy: a row's output then does not depend on
        # which other rows share its batch (up to float64 round-off).
        self._basis64 = copy_basis(self.basis_, dtype="float64")

    # -- stages --------------------------------------------------------------------------
    def _adapt_unsupervised(self, Xt, Xv, protocol, rng, units):
        p, d = protocol, Xt.shape[1]
        x1, x2 = keras.Input((d,)), keras.Input((d,))
        dot = keras.layers.Dot(axes=1)([self.basis_(x1), self.basis_(x2)])
        model = keras.Model([x1, x2], dot)
        model.compile(keras.optimizers.Adam(p.learning_rate), loss=paired_squared_error)

        def pairs(X, n_batches):
            a, b = _sample_pairs(X, n_batches * p.batch_size, rng)
            k = _pair_kernel(self.kernel, a, b, self.sigma_)
            return (a, b), k.reshape(-1, 1).astype("float32")

        val = pairs(Xv, p.val_batches)
        train = FreshBatches(lambda: pairs(Xt, 1), p.train_batches)
        return run_epochs(
            model,
            train,
            val,
            protocol=p,
            patience=p.patience_for(self.basis),
            eval_batch_size=1024,
            desc=f"UAB {self.kernel} D={units}",
            verbose=self.verbose,
        )

    def _adapt_supervised(self, Xt, yt, Xv, yv, n_classes, protocol, rng, units):
        p = protocol
        x = keras.Input((Xt.shape[1],))
        model = keras.Model(x, self.basis_(x))
        model.compile(keras.optimizers.Adam(p.learning_rate), loss=alignment_loss)

        def points(X, y, n_batches):
            idx = rng.integers(len(X), size=n_batches * p.batch_size)
            return X[idx], np.eye(n_classes, dtype="float32")[y[idx]]

        val = points(Xv, yv, p.val_batches)
        train = FreshBatches(lambda: points(Xt, yt, 1), p.train_batches)
        return run_epochs(
            model,
            train,
            val,
            protocol=p,
            patience=p.patience_for(self.basis),
            eval_batch_size=p.batch_size,
            desc=f"SAB {self.kernel} D={units}",
            verbose=self.verbose,
        )

    def _train_classifier(self, Xt, yt, Xv, yv, *, end_to_end, protocol, units):
        p = protocol
        self.classifier_ = keras.layers.Dense(len(self.classes_), activation="softmax")
        if end_to_end:
            x = keras.Input((Xt.shape[1],))
            model = keras.Model(x, self.classifier_(self.basis_(x)))
            inputs_t, inputs_v = Xt, Xv
        else:
            # Frozen basis: train the linear classifier on precomputed features.
            inputs_t, inputs_v = basis_features(self.basis_, Xt), basis_features(self.basis_, Xv)
            x = keras.Input((inputs_t.shape[1],))
            model = keras.Model(x, self.classifier_(x))
        model.compile(
            keras.optimizers.Adam(p.learning_rate),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        return run_epochs(
            model,
            (inputs_t, yt),
            (inputs_v, yv),
            protocol=p,
            patience=p.patience_for(self.basis),
            eval_batch_size=1024,
            desc=f"{self.regime.upper()} classifier D={units}",
            verbose=self.verbose,
        )

    # -- fitting -------------------------------------------------------------------------
    def init_basis(self, X: ArrayLike, y: ArrayLike | None = None) -> KernelMachine:
        """Draw the basis at its random initialisation for ``X`` (RB); nothing is trained.

        Sets ``sigma_`` (Gaussian kernel: ``sigma``, or :func:`rbkernels.sigma_heuristic`
        on ``X``), ``basis_`` (frozen) and ``n_features_in_``. With the same
        ``random_state`` (an int) the basis equals the one from which :meth:`fit` and
        :meth:`fit_basis` start, so it is the reference against which adaptation is measured.

        Parameters
        ----------
        X : array of shape (n, d)
        y : ignored

        Returns
        -------
        self
        """
        X, _, units, _, _ = self._start(X)
        self.basis_ = self._new_basis(X, units)
        self.history_ = {}
        self._finish()
        return self

    def fit_basis(
        self,
        X: ArrayLike,
        y: ArrayLike | None = None,
        *,
        validation_data: tuple | None = None,
        validation_size: float | int = 0.1,
    ) -> KernelMachine:
        """Initialise the basis and, for UAB/SAB, adapt it; no classifier is trained.

        ``y`` is needed for SAB only. RB and DAB leave the basis at its random
        initialisation (:meth:`init_basis`): DAB adapts its basis with the classifier.

        Parameters
        ----------
        X : array of shape (n, d)
        y : array of shape (n,), optional
        validation_data : (X_val, y_val), optional
            Early-stopping data; otherwise ``validation_size`` of ``X`` is held out.
        validation_size : float or int, default 0.1

        Returns
        -------
        self
        """
        if self.regime != "sab":
            y = None  # only SAB reads labels (a regression target in a pipeline is fine)
        elif y is None:
            raise ValueError("the supervised adaptation (SAB) needs labels y.")
        X, y, units, protocol, rng = self._start(X, y)
        if y is None:
            y = np.zeros(len(X), dtype=int)
        else:
            check_classification_targets(y)
        if self.regime == "sab" and len(np.unique(y)) < 2:
            raise ValueError(
                "the supervised adaptation (SAB) maximises the kernel-target alignment "
                "(Eq. IV.9) and needs at least two classes; y has one. Use regime 'uab' "
                "to adapt without labels."
            )
        Xt, yt, Xv, yv = self._split(X, y, validation_data, validation_size, rng)
        self.basis_ = self._new_basis(Xt, units)
        self.history_ = {}
        if self.regime == "uab":
            self.history_["adaptation"] = self._adapt_unsupervised(Xt, Xv, protocol, rng, units)
        elif self.regime == "sab":
            classes = np.unique(y)
            yt, yv = self._encode(classes, yt), self._encode(classes, yv, name="validation y")
            self.history_["adaptation"] = self._adapt_supervised(
                Xt, yt, Xv, yv, len(classes), protocol, rng, units
            )
        self._finish()
        return self

    def fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        *,
        validation_data: tuple | None = None,
        validation_size: float | int = 0.1,
    ) -> KernelMachine:
        """Train the machine in its regime.

        Parameters
        ----------
        X : array of shape (n, d)
        y : array of shape (n,)
        validation_data : (X_val, y_val), optional
            Early-stopping data; otherwise ``validation_size`` of ``X`` is held out.
        validation_size : float or int, default 0.1
            A fraction in (0, 1) or a number of samples in ``[1, n - 1]``.

        Returns
        -------
        self
        """
        return self._fit(X, y, validation_data, validation_size, frozen_basis=None)

    def _fit(self, X, y, validation_data, validation_size, *, frozen_basis):
        X, y, units, protocol, rng = self._start(X, y)
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError(
                f"y has only one class ({self.classes_.tolist()[0]!r}); a classifier needs at least two."
            )
        Xt, yt, Xv, yv = self._split(X, y, validation_data, validation_size, rng)
        yt, yv = (
            self._encode(self.classes_, yt),
            self._encode(self.classes_, yv, name="validation y"),
        )
        self.history_ = {}
        if frozen_basis is not None:
            if frozen_basis.input_spec.axes[-1] != X.shape[1]:
                raise ValueError(
                    f"X has {X.shape[1]} features, the transferred basis expects "
                    f"{frozen_basis.input_spec.axes[-1]}."
                )
            self.basis_ = frozen_basis
        else:
            self.basis_ = self._new_basis(Xt, units)
            if self.regime == "uab":
                self.history_["adaptation"] = self._adapt_unsupervised(Xt, Xv, protocol, rng, units)
            elif self.regime == "sab":
                self.history_["adaptation"] = self._adapt_supervised(
                    Xt, yt, Xv, yv, len(self.classes_), protocol, rng, units
                )
        end_to_end = self.regime == "dab" and frozen_basis is None
        self.basis_.trainable = end_to_end
        self.history_["classifier"] = self._train_classifier(
            Xt, yt, Xv, yv, end_to_end=end_to_end, protocol=protocol, units=units
        )
        self.n_epochs_ = self.history_.get("adaptation", self.history_["classifier"])["best_epoch"]
        self._finish()
        return self

    def transfer(
        self,
        X: ArrayLike,
        y: ArrayLike,
        *,
        validation_data: tuple | None = None,
        validation_size: float | int = 0.1,
    ) -> KernelMachine:
        """A new machine with this machine's basis, frozen, and a classifier fitted on (X, y).

        The transfer-learning experiment of Fig. IV.2: only the classifier is learnt. The
        new machine is a clone of this one with ``regime="rb"`` and ``sigma=self.sigma_``.

        Parameters
        ----------
        X : array of shape (n, d)
        y : array of shape (n,)
        validation_data : (X_val, y_val), optional
        validation_size : float or int, default 0.1

        Returns
        -------
        KernelMachine
        """
        check_is_fitted(self, "basis_")
        units, _ = self._check_params()
        other = clone(self).set_params(
            regime="rb", sigma=self.sigma_, n_components=units, n_features=None
        )
        return other._fit(
            X, y, validation_data, validation_size, frozen_basis=copy_basis(self.basis_)
        )

    # -- prediction ----------------------------------------------------------------------
    def transform(self, X: ArrayLike) -> np.ndarray:
        """The basis features ``phi(X)`` in float64, shape (n, output width).

        Parameters
        ----------
        X : array of shape (n, d)

        Returns
        -------
        ndarray
        """
        check_is_fitted(self, "basis_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return basis_features(self._basis64, X)

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Class probabilities ``softmax(W^T phi(x) + b)``, shape (n, n_classes), float64.

        Parameters
        ----------
        X : array of shape (n, d)

        Returns
        -------
        ndarray
        """
        check_is_fitted(self, "classifier_")
        W, b = (np.asarray(w, dtype=np.float64) for w in self.classifier_.get_weights())
        logits = self.transform(X) @ W + b
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Predicted labels.

        Parameters
        ----------
        X : array of shape (n, d)

        Returns
        -------
        ndarray of shape (n,)
        """
        proba = self.predict_proba(X)  # first: raises NotFittedError before classes_ is read
        return self.classes_[np.argmax(proba, axis=1)]

    def pair_kernel_approximation_error(
        self, X: ArrayLike, *, n_pairs: int | None = None, random_state: int | None = 0
    ) -> float:
        """KAE (Eq. IV.8) averaged over random pairs of ``X`` (``test_batches`` x ``batch_size`` by default).

        Parameters
        ----------
        X : array of shape (n, d)
        n_pairs : int, optional
        random_state : int or None, default 0
            Seeds the choice of pairs.

        Returns
        -------
        float
        """
        check_is_fitted(self, "basis_")
        X = validate_data(self, X, reset=False, dtype=np.float32)
        _, protocol = self._check_params()
        if n_pairs is None:
            n_pairs = protocol.test_batches * protocol.batch_size
        n_pairs = check_positive_int(n_pairs, name="n_pairs")
        a, b = _sample_pairs(X, n_pairs, np.random.default_rng(random_state))
        approx = np.sum(
            basis_features(self.basis_, a).astype(np.float64)
            * basis_features(self.basis_, b).astype(np.float64),
            axis=1,
        )
        exact = _pair_kernel(self.kernel, a, b, self.sigma_)
        return float(np.mean(0.5 * (exact - approx) ** 2))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # A classifier that also exposes its features phi(X) (always float64).
        tags.transformer_tags = TransformerTags(preserves_dtype=["float64"])
        return tags

    # -- pickling ------------------------------------------------------------------------
    def __getstate__(self):
        # Keras layers do not pickle; keep their config and weights instead.
        state = dict(super().__getstate__())  # may be self.__dict__ itself
        state.pop("_basis64", None)
        for name in ("basis_", "classifier_"):
            if name in state:
                state[name] = layer_state(state[name])
        return state

    def __setstate__(self, state):
        for name in ("basis_", "classifier_"):
            if name in state:
                state[name] = layer_from_state(state[name])
        super().__setstate__(state)
        if "basis_" in state:
            self._basis64 = copy_basis(self.basis_, dtype="float64")

"""scikit-learn transformer over the kernel bases, a drop-in beside ``RBFSampler``."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from ._validation import check_kernel_name, check_n_features, check_sigma, check_validation_size
from .layers.factory import BASES, basis_features, copy_basis, layer_from_state, layer_state
from .machine import KernelMachine
from .protocol import TrainingProtocol

__all__ = ["BasisFeatures"]


class BasisFeatures(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Random or adapted kernel features ``phi(X)`` with the ``fit``/``transform`` API.

    Parameters
    ----------
    kernel : {"gaussian", "arccos", "arccos2", "arccos3"}, default "gaussian"
    n_components : int, default 100
        Output width D as in Eq. IV.4 (D/2 frequencies for the Gaussian bases), so it
        compares with ``RBFSampler(n_components=D)`` at equal width. For the deep ArcCos
        kernels it is the total width, split evenly over the layers; the output is the
        last layer (``n_components // n_layers`` columns, or one more).
    basis : {"dense", "hadamard"}, default "dense"
        Hadamard bases exist for the Gaussian kernel.
    n_blocks : {1, 2, 3}, default 3
        Hadamard blocks.
    adapt : {None, "uab", "sab"}, default None
        None: random basis (RB); "uab": adapted to the kernel (Eq. IV.8); "sab": adapted
        to the labels by kernel-target alignment (Eq. IV.9, needs ``y``).
    sigma : float or None, default None
        Gaussian bandwidth; None: :func:`rbkernels.sigma_heuristic` on ``X``.
    max_epochs, train_batches, val_batches, batch_size, patience, learning_rate
        The adaptation protocol (:class:`rbkernels.TrainingProtocol`); defaults
        are smaller than the thesis' (10 000 batches per epoch) to keep ``fit`` short.
    validation_size : float or int, default 0.1
        Share of ``X`` held out to stop the adaptation early: a fraction in (0, 1)
        (rounded, at least one sample on each side) or an integer number of samples in
        ``[1, n - 1]``; other values raise ``ValueError``.
    random_state : int or None
    verbose : bool, default False

    Attributes
    ----------
    sigma_ : float or None
    basis_ : keras layer
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from rbkernels import BasisFeatures, kernel_approximation_error
    >>> X = np.random.default_rng(0).normal(size=(200, 8))
    >>> rb = BasisFeatures(n_components=20, random_state=0).fit(X)
    >>> uab = BasisFeatures(n_components=20, adapt="uab", max_epochs=10,
    ...                     random_state=0).fit(X)
    >>> bool(kernel_approximation_error(uab, X, "gaussian")
    ...      < kernel_approximation_error(rb, X, "gaussian"))
    True
    """

    def __init__(
        self,
        kernel: str = "gaussian",
        n_components: int = 100,
        *,
        basis: str = "dense",
        n_blocks: int = 3,
        adapt: str | None = None,
        sigma: float | None = None,
        max_epochs: int = 50,
        train_batches: int = 100,
        val_batches: int = 20,
        batch_size: int = 64,
        patience: int | None = None,
        learning_rate: float = 1e-3,
        validation_size: float = 0.1,
        random_state: int | None = None,
        verbose: bool = False,
    ) -> None:
        self.kernel = kernel
        self.n_components = n_components
        self.basis = basis
        self.n_blocks = n_blocks
        self.adapt = adapt
        self.sigma = sigma
        self.max_epochs = max_epochs
        self.train_batches = train_batches
        self.val_batches = val_batches
        self.batch_size = batch_size
        self.patience = patience
        self.learning_rate = learning_rate
        self.validation_size = validation_size
        self.random_state = random_state
        self.verbose = verbose

    def fit(self, X: ArrayLike, y: ArrayLike | None = None) -> BasisFeatures:
        """Draw the basis (and adapt it for ``adapt="uab"``/``"sab"``).

        Parameters
        ----------
        X : array of shape (n, d)
        y : array of shape (n,), needed for ``adapt="sab"``

        Returns
        -------
        self
        """
        X = validate_data(self, X, dtype=[np.float64, np.float32])
        check_kernel_name(self.kernel)
        n_components = check_n_features(self.n_components, name="n_components")
        check_sigma(self.sigma, allow_none=True)
        if self.basis not in BASES:
            raise ValueError(f"unknown basis {self.basis!r}; valid bases are {', '.join(BASES)}.")
        if self.adapt not in (None, "uab", "sab"):
            raise ValueError(f"adapt={self.adapt!r}; pass None, 'uab' or 'sab'.")
        if self.adapt == "sab" and y is None:
            raise ValueError("adapt='sab' aligns the basis with the labels; pass y to fit.")
        if self.adapt is not None and len(X) < 2:
            raise ValueError(f"X has {len(X)} sample; adapting a basis needs at least 2.")
        if self.adapt is not None:
            n_val = check_validation_size(self.validation_size, len(X))
        if self.adapt == "sab":
            classes = np.unique(np.asarray(y))
            if len(classes) < 2:
                raise ValueError(
                    f"adapt='sab' aligns the basis with the labels (kernel-target alignment, "
                    f"Eq. IV.9) and needs at least two classes; y has only {classes.tolist()}. "
                    "Use adapt='uab' to adapt without labels."
                )
        protocol = TrainingProtocol(
            batch_size=self.batch_size,
            patience=self.patience,
            max_epochs=self.max_epochs,
            train_batches=self.train_batches,
            val_batches=self.val_batches,
            learning_rate=self.learning_rate,
        )
        machine = KernelMachine(
            self.kernel,
            n_components,
            self.adapt or "rb",
            basis=self.basis,
            n_blocks=self.n_blocks,
            sigma=self.sigma,
            protocol=protocol,
            random_state=self.random_state,
            verbose=self.verbose,
        )
        if self.adapt is None:
            machine.init_basis(X)
        else:
            machine.fit_basis(X, y, validation_size=n_val)
        self.sigma_ = machine.sigma_
        self.basis_ = machine.basis_
        self.history_ = machine.history_
        self._basis64 = copy_basis(self.basis_, dtype="float64")
        self._n_features_out = int(self.basis_.output_dim)
        return self

    def transform(self, X: ArrayLike) -> np.ndarray:
        """The features ``phi(X)``, shape (n, output width), in the input's float dtype.

        Parameters
        ----------
        X : array of shape (n, d)

        Returns
        -------
        ndarray
        """
        check_is_fitted(self, "basis_")
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        if X.dtype == np.float64:
            # Evaluate a float64 copy of the (float32-trained) basis: rows then do not
            # depend on which other rows share the batch, up to float64 round-off.
            return basis_features(self._basis64, X).astype(np.float64, copy=False)
        return basis_features(self.basis_, X).astype(X.dtype, copy=False)

    def __getstate__(self):
        # Keras layers do not pickle; keep their config and weights instead.
        state = dict(super().__getstate__())  # may be self.__dict__ itself
        state.pop("_basis64", None)
        if "basis_" in state:
            state["basis_"] = layer_state(state["basis_"])
        return state

    def __setstate__(self, state):
        if "basis_" in state:
            state["basis_"] = layer_from_state(state["basis_"])
        super().__setstate__(state)
        if "basis_" in state:
            self._basis64 = copy_basis(self.basis_, dtype="float64")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

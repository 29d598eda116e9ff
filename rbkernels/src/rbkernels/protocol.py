"""The optimisation protocol of Chapter IV, §5.1: sizes, fresh batches, early stopping.

Adam, batches of 64, early stopping after ``patience`` epochs without improvement of the
validation loss (10, or 20 for Hadamard bases), best weights restored. UAB and SAB epochs
consist of ``train_batches`` freshly sampled batches (pairs or points), validated on
``val_batches`` batches drawn once from the validation split.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import keras
import numpy as np
from tqdm.auto import tqdm

from ._validation import check_positive_int, check_positive_real

__all__ = ["TrainingProtocol", "run_epochs"]


@dataclasses.dataclass
class TrainingProtocol:
    """Sizes of the optimisation protocol of §5.1 (defaults: the thesis' values).

    Parameters
    ----------
    batch_size : int
        Mini-batch size (64 pairs for UAB, 64 points for SAB, 64 samples otherwise).
    patience : int or None
        Epochs without validation improvement before stopping; None: 10, 20 for Hadamard
        (see :meth:`patience_for`).
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
    >>> TrainingProtocol().patience_for("hadamard")
    20
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
            setattr(self, name, check_positive_int(getattr(self, name), name=name))
        if self.patience is not None:
            self.patience = check_positive_int(self.patience, name="patience")
        self.learning_rate = check_positive_real(self.learning_rate, name="learning_rate")

    def patience_for(self, basis: str) -> int:
        """The early-stopping patience for a basis: ``patience``, or §5.1's 10 (20 for "hadamard").

        Parameters
        ----------
        basis : {"dense", "hadamard"}

        Returns
        -------
        int
        """
        if self.patience is not None:
            return self.patience
        return 20 if basis == "hadamard" else 10


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


class FreshBatches(keras.utils.PyDataset):
    """``n_batches`` batches per epoch, each drawn anew by ``sample()`` (§5.1's protocol).

    Parameters
    ----------
    sample : callable
        Returns one batch ``(x, y)``.
    n_batches : int
        Batches per epoch.
    """

    def __init__(self, sample: Callable[[], tuple], n_batches: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sample, self.n_batches = sample, n_batches

    def __len__(self) -> int:
        return self.n_batches

    def __getitem__(self, index: int) -> tuple:
        return self.sample()


def run_epochs(
    model: keras.Model,
    train: tuple | FreshBatches,
    val_data: tuple,
    *,
    protocol: TrainingProtocol,
    patience: int,
    eval_batch_size: int,
    desc: str = "",
    verbose: bool = False,
) -> dict:
    """``model.fit`` with early stopping on the validation loss; the best weights restored.

    Parameters
    ----------
    model : keras.Model
        Compiled.
    train : (x, y) or FreshBatches
        Epochs over shuffled data in batches of ``protocol.batch_size``, or fresh batches.
    val_data : (x, y)
        Validation data, evaluated in batches of ``eval_batch_size``.
    protocol : TrainingProtocol
    patience : int
    eval_batch_size : int
    desc : str
        Progress bar label.
    verbose : bool
        Show a progress bar.

    Returns
    -------
    dict
        ``val_loss`` (per epoch), ``best_epoch`` (1-based) and ``epochs_run``.
    """
    bar = tqdm(total=protocol.max_epochs, desc=desc, disable=not verbose, leave=False)
    stopper = _EarlyStopping(patience, bar)
    kwargs = dict(
        validation_data=val_data,
        validation_batch_size=eval_batch_size,
        epochs=protocol.max_epochs,
        callbacks=[stopper],
        verbose=0,
    )
    if isinstance(train, keras.utils.PyDataset):
        model.fit(train, **kwargs)
    else:
        model.fit(*train, batch_size=protocol.batch_size, shuffle=True, **kwargs)
    bar.close()
    return {
        "val_loss": stopper.val_loss,
        "best_epoch": stopper.best_epoch,
        "epochs_run": len(stopper.val_loss),
    }

"""xcsvm: exact all-in-one multi-class linear SVMs (Weston-Watkins, Lee-Lin-Wahba,
Crammer-Singer) for large, sparse, many-class data -- Cython/OpenMP solvers as
scikit-learn estimators (Chapter III of the thesis).

Examples
--------
>>> from sklearn.datasets import load_iris
>>> from xcsvm import WWClassifier
>>> X, y = load_iris(return_X_y=True)
>>> WWClassifier(random_state=0).fit(X, y).predict(X[:3]).tolist()
[0, 0, 0]
"""

__version__ = "0.1.0"

from xcsvm.estimators import CSClassifier, LLWClassifier, WWClassifier
from xcsvm.exceptions import ModelFileError
from xcsvm.io import load_model, save_model
from xcsvm.metrics import ndcg_at_k, precision_at_k, propensities, propensity_scored_precision_at_k

__all__ = [
    "WWClassifier",
    "LLWClassifier",
    "CSClassifier",
    "save_model",
    "load_model",
    "ModelFileError",
    "__version__",
    "precision_at_k",
    "ndcg_at_k",
    "propensity_scored_precision_at_k",
    "propensities",
]

"""Run inside ``mpiexec -n 3`` by ``test_distributed_multilabel.py``: multi-label fits, rank 0 writes JSON.

Usage: ``python _mpi_multilabel_driver.py OUT.json``. Fits
:class:`~xcsvm.distributed.DistributedWWClassifier` on the problems of
:func:`test_distributed_multilabel.problems` (a 2-D indicator ``y``) on all
ranks, then on ranks 0 and 1 alone (one interpreter start for both rank
counts), and records rank 0's model and whether the other ranks hold a ``coef_``.
"""

from __future__ import annotations

import json
import sys


def main(out):
    from mpi4py import MPI

    from xcsvm.distributed import DistributedWWClassifier
    from xcsvm.distributed.exchange import abort_on_error

    world = MPI.COMM_WORLD

    def fit_all():
        from test_distributed_multilabel import FIT, problems

        pair = world.Split(0 if world.rank < 2 else MPI.UNDEFINED, world.rank)
        runs = {}
        for comm in (world, pair):
            if comm == MPI.COMM_NULL:
                continue
            results = []
            for X, Y, sample_weight in problems():
                model = DistributedWWClassifier(**FIT, comm=comm).fit(
                    X, Y, sample_weight=sample_weight
                )
                held = comm.gather(model.coef_ is not None, root=0)
                if comm.rank == 0:
                    results.append(
                        dict(
                            coef=model.coef_.tolist(),
                            intercept=model.intercept_.tolist(),
                            primal=model.primal_objective_,
                            dual=model.dual_objective_,
                            gap=model.dual_gap_,
                            n_iter=model.n_iter_,
                            converged=model.converged_,
                            rule=list(model.decision_rule_),
                            scores=model.decision_function(X).tolist(),
                            held=held,
                            owned=[o.tolist() for o in model.owned_classes_],
                            bundle_bytes=model.bytes_per_epoch_.get("bundle", 0.0),
                        )
                    )
                else:
                    assert model.coef_ is None and model.primal_objective_ is not None
            runs[str(comm.size)] = results
        return runs

    runs = abort_on_error(fit_all)
    if world.rank == 0:
        with open(out, "w") as handle:
            json.dump(runs, handle)


if __name__ == "__main__":
    main(sys.argv[1])

"""Distributed WW / LLW: bytes per epoch against model size, wall time for 1/2/4 ranks, scaling estimate.

Runs ``mpiexec -n P python bench_distributed.py --worker ...`` jobs (the
mpiexec next to this Python) on an LSHTC-like problem from
``shared_datasets`` written to an svmlight file that every rank reads (digest
check, as in production), with the fixed-epoch protocol of Fig. III.2
(a fixed number of epochs, tol = 0 so that nothing stops early, one OpenMP
thread per rank). Prints and writes a markdown section
(``--out``, default ``benchmarks/results/distributed.md``) and a PNG plot.

Usage::

    python benchmarks/bench_distributed.py            # full (about 3-6 min on 2 cores)
    python benchmarks/bench_distributed.py --quick    # smaller problem, fewer runs
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
MPIEXEC = Path(sys.executable).with_name("mpiexec")
MPI_ENV = {
    "MPIR_CVAR_ENABLE_HEAVY_YIELD": "1",
    "MPIR_CVAR_POLLS_BEFORE_YIELD": "1",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
}

#: Network of the thesis' type A machines (§5.1): 10 Gbit/s Ethernet.
BANDWIDTH_BYTES_PER_S = 10e9 / 8
#: Assumed one-way latency of one MPI message on that network.
LATENCY_S = 50e-6


def worker(config_path):
    """Run inside mpiexec: load the svmlight file on every rank, train, rank 0 writes JSON."""
    from mpi4py import MPI

    from xcsvm.distributed import fit_distributed, solver
    from xcsvm.distributed.data import load_svmlight_everywhere
    from xcsvm.distributed.exchange import CountingComm, abort_on_error

    config = json.loads(Path(config_path).read_text())
    # CPU seconds spent inside the (single-threaded) kernels of this rank: the
    # rank's compute, unaffected by other processes taking turns on the cores.
    kernel_cpu = [0.0]
    original = solver._kernels

    def timed(kernel):
        def run_timed(*args):
            start = time.process_time()
            try:
                return kernel(*args)
            finally:
                kernel_cpu[0] += time.process_time() - start

        return run_timed

    def timed_kernels():
        ww, llw = original()
        return timed(ww), timed(llw)

    solver._kernels = timed_kernels

    def run():
        comm = CountingComm(MPI.COMM_WORLD)
        X, y = load_svmlight_everywhere(config["train"], comm, "check", config["n_features"])
        start = time.perf_counter()
        fit = fit_distributed(
            X,
            y,
            formulation=config["formulation"],
            C=config["C"],
            tol=1e-12,
            max_iter=config["epochs"],
            random_state=0,
            exchange=config["exchange"],
            n_threads=1,
            shrinking=False,
            comm=comm,
        )
        seconds = time.perf_counter() - start
        # Bytes per epoch of every rank (rank 0's view is not enough for the estimate).
        mine = np.array([sum(v for k, v in fit.bytes_per_epoch.items())], dtype=np.float64)
        everyone = np.empty(comm.size)
        comm.comm.Allgather(mine, everyone)
        cpu = np.empty(comm.size)
        comm.comm.Allgather(np.array([kernel_cpu[0] / fit.n_iter]), cpu)
        if comm.rank == 0:
            result = dict(
                config,
                n_ranks=comm.size,
                seconds=seconds,
                epoch_seconds=fit.epoch_seconds,
                bytes_per_epoch_rank0=fit.bytes_per_epoch,
                bytes_per_epoch_ranks=everyone.tolist(),
                kernel_cpu_per_epoch_ranks=cpu.tolist(),
                model_nnz=int(fit.coef.nnz),
                model_entries=int(np.prod(fit.coef.shape)),
                primal=fit.primal,
                dual=fit.dual,
            )
            Path(config["out"]).write_text(json.dumps(result))

    abort_on_error(run)


def launch(n_ranks, config, folder):
    config = dict(config, out=str(folder / f"result-{time.monotonic_ns()}.json"))
    path = folder / f"config-{time.monotonic_ns()}.json"
    path.write_text(json.dumps(config))
    command = [
        str(MPIEXEC),
        "-n",
        str(n_ranks),
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        str(path),
    ]
    completed = subprocess.run(
        command, capture_output=True, text=True, timeout=900, env={**os.environ, **MPI_ENV}
    )
    if completed.returncode != 0:
        raise RuntimeError(f"mpiexec -n {n_ranks} failed:\n{completed.stderr[-3000:]}")
    return json.loads(Path(config["out"]).read_text())


def _mb(value):
    return f"{value / 1e6:.2f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="small problem, fewer runs")
    parser.add_argument("--out", default=str(HERE / "results" / "distributed.md"))
    parser.add_argument("--from-json", help="rewrite the report from a previous run's JSON")
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker)
    if args.from_json:
        results = json.loads(Path(args.from_json).read_text())
        first = results[0]
        size = dict(n_samples=first["n_samples"], n_classes=first["n_classes"])
        return write_report(results, size, first["epochs"], args)

    from sklearn.datasets import dump_svmlight_file
    from tqdm import tqdm

    from shared_datasets import load

    if args.quick:
        size = dict(n_samples=3000, n_features=20000, n_classes=40)
        epochs, sweep_C, feature_sweep = 5, [0.01, 1.0], [10000, 20000]
    else:
        size = dict(n_samples=10000, n_features=50000, n_classes=100)
        epochs, sweep_C, feature_sweep = 10, [0.001, 0.01, 0.1, 1.0], [25000, 50000, 100000]
    folder = Path(tempfile.mkdtemp(prefix="xcsvm-bench-"))
    files = {}

    def data_file(n_features):
        if n_features not in files:
            X, y, _, _ = load("lshtc_like", **dict(size, n_features=n_features), random_state=0)
            path = folder / f"train-{n_features}.svm"
            dump_svmlight_file(X, y, str(path))
            files[n_features] = (str(path), X.shape, X.nnz)
        return files[n_features]

    base_d = size["n_features"]
    jobs = []
    # 1) bytes per epoch against model size: WW on 2 ranks, sparse vs dense exchange.
    for n_features in feature_sweep:
        for C in sweep_C if n_features == base_d else [sweep_C[-1]]:
            for exchange in ("sparse", "dense"):
                jobs.append(
                    (
                        "bytes",
                        2,
                        dict(formulation="ww", C=C, exchange=exchange, n_features=n_features),
                    )
                )
    # 2) wall time for 1/2/4 ranks, WW (auto exchange) and LLW.
    for formulation in ("ww", "llw"):
        for n_ranks in (1, 2, 4):
            jobs.append(
                (
                    "time",
                    n_ranks,
                    dict(
                        formulation=formulation,
                        C=sweep_C[-1] if formulation == "ww" else 0.1,
                        exchange="auto",
                        n_features=base_d,
                    ),
                )
            )
    results = []
    for kind, n_ranks, config in tqdm(jobs, desc="mpiexec jobs"):
        path, shape, nnz = data_file(config["n_features"])
        config = dict(config, train=path, epochs=epochs)
        result = launch(n_ranks, config, folder)
        result.update(
            kind=kind,
            n_samples=size["n_samples"],
            n_train=shape[0],
            nnz=nnz,
            n_classes=size["n_classes"],
        )
        results.append(result)
    write_report(results, size, epochs, args)


def write_report(results, size, epochs, args):
    command = "python benchmarks/bench_distributed.py" + (" --quick" if args.quick else "")
    lines = [
        f"Command: `{command}` (mpiexec from the venv, MPICH, 1 OpenMP thread per rank, "
        f"{os.cpu_count()} cores; 4 ranks **oversubscribe** the 2 cores). The machine is shared "
        "with other test runs, so wall times are noisy and speed-ups are lower bounds.",
        f"Data: `shared_datasets.load('lshtc_like', n_samples={size['n_samples']}, "
        f"n_features=d, n_classes={size['n_classes']}, random_state=0)` train split "
        f"({results[0].get('n_train', results[0]['n_samples'])} samples), "
        f"written to svmlight and read by every rank (digest check). Fixed-epoch protocol of "
        f"Fig. III.2: {epochs} epochs from W = 0, no early stop, no shrinking.",
        "",
    ]
    # --- bytes vs model size
    lines += [
        "### Bytes per epoch against model size (WW, 2 ranks)",
        "",
        "Bytes that rank 0 hands to MPI per epoch for the class-bundle exchange (mean over the "
        "epochs; the W non-zeros grow from 0 during the run). Dense W size = 8 · C · d bytes; "
        "sparse sends 12 bytes (int32 position + float64 value) per non-zero + an 8-byte header "
        "per message.",
        "",
        "| d | C (reg.) | W non-zeros (end) | W density | dense W size (MB) | dense exchange (MB/epoch) "
        "| sparse exchange (MB/epoch) | sparse / dense |",
        "|---|---|---|---|---|---|---|---|",
    ]
    byte_rows = [r for r in results if r["kind"] == "bytes"]
    keyed = {}
    for r in byte_rows:
        keyed.setdefault((r["n_features"], r["C"]), {})[r["exchange"]] = r
    for (d, C), pair in sorted(keyed.items()):
        dense, sparse = pair["dense"], pair["sparse"]
        b_dense = dense["bytes_per_epoch_rank0"].get("bundle", 0.0)
        b_sparse = sparse["bytes_per_epoch_rank0"].get("bundle", 0.0)
        lines.append(
            f"| {d} | {C:g} | {sparse['model_nnz']} | {sparse['model_nnz'] / sparse['model_entries']:.2%} "
            f"| {_mb(8 * sparse['model_entries'])} | {_mb(b_dense)} | {_mb(b_sparse)} "
            f"| {b_sparse / b_dense:.3f} |"
        )
    # --- wall time
    lines += [
        "",
        "### Wall time for 1, 2 and 4 ranks (this machine, 2 cores)",
        "",
        "Wall time per epoch, and the CPU time the busiest rank spends inside the kernels per epoch "
        "(its compute share: what the epoch would take with a dedicated core per rank and free "
        "communication).",
        "",
        "| formulation | ranks | wall s / epoch (median) | wall speed-up | busiest rank kernel CPU s / epoch "
        "| compute speed-up | bytes / epoch / rank (mean, MB) | note |",
        "|---|---|---|---|---|---|---|---|",
    ]
    timing = [r for r in results if r["kind"] == "time"]
    base, base_cpu = {}, {}
    for r in timing:
        per_epoch = float(np.median(r["epoch_seconds"]))
        cpu = max(r.get("kernel_cpu_per_epoch_ranks", [float("nan")]))
        if r["n_ranks"] == 1:
            base[r["formulation"]], base_cpu[r["formulation"]] = per_epoch, cpu
        note = "oversubscribed (4 ranks on 2 cores)" if r["n_ranks"] > (os.cpu_count() or 2) else ""
        lines.append(
            f"| {r['formulation'].upper()} | {r['n_ranks']} | {per_epoch:.3f} "
            f"| {base[r['formulation']] / per_epoch:.2f}× | {cpu:.3f} "
            f"| {base_cpu[r['formulation']] / cpu:.2f}× | {_mb(np.mean(r['bytes_per_epoch_ranks']))} "
            f"| {note} |"
        )
    # --- scaling estimate
    lines += [
        "",
        "### Scaling estimate: 4 machines × 20 cores (the thesis' type A machines)",
        "",
        f"Model: T(P machines × c cores) = T₁ / (P·c) + V_P / B + m_P · L per epoch, with T₁ the measured "
        f"1-rank kernel CPU time per epoch here, V_P the measured bytes per epoch of the busiest rank with P ranks "
        f"(one rank per machine), m_P its messages per epoch, B = {BANDWIDTH_BYTES_PER_S * 8 / 1e9:g} Gbit/s "
        f"(thesis §5.1) and L = {LATENCY_S * 1e6:g} µs per message. Compute is assumed to scale linearly "
        "over cores inside a machine (Fig. III.2 shows near-linear speed-up per core).",
        "",
        "The last column extrapolates to 10× the samples at the same model size (compute ×10, "
        "the exchanged weights unchanged), closer to the thesis' LSHTC-large (128 710 samples).",
        "",
        "| formulation | T₁ (s/epoch) | V₄ (MB/epoch) | messages / epoch | T(4×20) compute (ms) "
        "| T(4×20) comm (ms) | estimated speed-up (ideal 80) | same, 10× samples |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for formulation in ("ww", "llw"):
        rows = {r["n_ranks"]: r for r in timing if r["formulation"] == formulation}
        if 1 not in rows or 4 not in rows:
            continue
        t1 = max(
            rows[1].get("kernel_cpu_per_epoch_ranks", [float(np.median(rows[1]["epoch_seconds"]))])
        )
        volume = max(rows[4]["bytes_per_epoch_ranks"])
        if formulation == "ww":
            messages = 3 * 3 + 1  # 3 overlay rounds x 3 exchanges + the violation Allreduce
        else:
            messages = 10 * 2 * 2 + 1  # 10 Allreduces (~2 log2 4 steps each) + violation
        compute = t1 / 80
        comm = volume / BANDWIDTH_BYTES_PER_S + messages * LATENCY_S
        lines.append(
            f"| {formulation.upper()} | {t1:.3f} | {_mb(volume)} | {messages} | {1e3 * compute:.2f} "
            f"| {1e3 * comm:.2f} | {t1 / (compute + comm):.1f} | {10 * t1 / (10 * compute + comm):.1f} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    (out.with_suffix(".json")).write_text(json.dumps(results, indent=1))
    plot(results, out.with_suffix(".png"))


def plot(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    byte_rows = [r for r in results if r["kind"] == "bytes"]
    for exchange, marker in (("dense", "s"), ("sparse", "o")):
        rows = [r for r in byte_rows if r["exchange"] == exchange]
        axes[0].loglog(
            [r["model_nnz"] * 12 for r in rows],
            [r["bytes_per_epoch_rank0"].get("bundle", 0) for r in rows],
            marker,
            label=exchange,
        )
    axes[0].set_xlabel("12 · non-zeros of W at the end (bytes)")
    axes[0].set_ylabel("bundle bytes / epoch (rank 0)")
    axes[0].set_title("WW exchange volume, 2 ranks")
    axes[0].legend()
    for formulation in ("ww", "llw"):
        rows = sorted(
            [r for r in results if r["kind"] == "time" and r["formulation"] == formulation],
            key=lambda r: r["n_ranks"],
        )
        if rows:
            base = np.median(rows[0]["epoch_seconds"])
            axes[1].plot(
                [r["n_ranks"] for r in rows],
                [base / np.median(r["epoch_seconds"]) for r in rows],
                "o-",
                label=formulation.upper(),
            )
    axes[1].plot([1, 4], [1, 4], "k:", label="linear")
    axes[1].axvline(2, color="grey", lw=0.5)
    axes[1].set_xlabel("ranks (beyond 2: oversubscribed)")
    axes[1].set_ylabel("speed-up per epoch")
    axes[1].set_title("this machine (2 cores)")
    axes[1].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()

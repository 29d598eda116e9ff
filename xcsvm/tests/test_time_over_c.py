"""Fig. III.3's time-over-C study and Table III.5's long LLW run on tiny data."""

import csv

import numpy as np
import pytest

from xcsvm.experiments import llw_convergence, time_over_c


@pytest.fixture(scope="module")
def quick_rows(tmp_path_factory):
    out = tmp_path_factory.mktemp("fig_III3")
    return out, time_over_c.run(
        out, quick=True, exponents=[-3, 0], threads=[1], progress=False, repeats=2
    )


def test_without_shrinking_every_epoch_visits_every_dual_variable(quick_rows):
    _, rows = quick_rows
    n, n_classes = time_over_c.QUICK_SIZE["n_train"], time_over_c.QUICK_SIZE["n_classes"]
    # WW has n (K - 1) variables; CS's blocks count y_i too (n K).
    expected = {"WW": n * (n_classes - 1), "CS": n * n_classes}
    for row in rows:
        if row["solver"] == "OVR":
            continue
        variables = expected[row["solver"]]
        assert row["visited_first"] == variables  # the first epoch never shrinks
        if row["shrinking"] is False:
            assert row["visited_total"] == row["epochs"] * variables
            assert row["visited_share"] == 1.0


def test_dual_shares_are_a_partition_and_tiny_C_puts_every_ww_dual_at_its_bound(quick_rows):
    _, rows = quick_rows
    for row in rows:
        if row["solver"] != "OVR":
            total = row["share_at_C"] + row["share_inside"] + row["share_at_0"]
            assert total == pytest.approx(1.0)
    # At C = 1e-3, W stays near 0, every WW margin stays violated and every step clips to C.
    tiny = [r for r in rows if r["solver"] == "WW" and r["log10_C"] == -3]
    assert tiny and all(r["share_at_C"] == 1.0 for r in tiny)


def test_files_written(quick_rows):
    out, rows = quick_rows
    with open(out / "results.csv") as stream:
        assert len(list(csv.DictReader(stream))) == len(rows) == 2 * 2 * (2 + 2 + 1)
    summary = time_over_c.aggregate(rows)
    assert len(summary) == 2 * (2 + 2 + 1)
    for row in summary:
        assert row["repeats"] == 2 and row["seconds_min"] <= row["seconds"] <= row["seconds_max"]
    text = (out / "summary.md").read_text()
    assert "no shrinking" in text and text.count("| -3 | WW 1t") == 2
    # re-tabulating from the CSV gives the same summary (the CSV keeps every value and type)
    time_over_c.tabulate(out, dict(time_over_c.QUICK_SIZE, mode="quick"))
    assert (out / "summary.md").read_text() == text
    for row in rows:
        if row["solver"] != "OVR":
            assert row["epoch_seconds_total"] + row["seconds_outside_epochs"] == pytest.approx(
                row["seconds"]
            )
            assert 0 < row["epoch_seconds_total"] < row["seconds"]
    assert (out / "time_over_c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_dual_shares_by_hand():
    alpha = np.array([[0.0, 1.0, 0.5], [0.0, 0.0, 0.25]])  # y = (0, 2), C = 1
    # WW: variables (0,1)=1 at C, (0,2)=.5 inside, (1,0)=0 and (1,1)=0 at 0
    assert time_over_c.dual_shares("ww", alpha, [0, 2], [1.0, 1.0]) == (0.25, 0.25, 0.5, 0.5)
    # CS: block sums 1.5 (>= C: at the bound) and 0.25 (inside)
    assert time_over_c.dual_shares("cs", alpha, [0, 2], [1.5, 1.0])[:3] == (0.5, 0.5, 0.0)
    with pytest.raises(ValueError, match="'ww' or 'cs'"):
        time_over_c.dual_shares("llw", alpha, [0, 2], [1.0, 1.0])


def test_llw_dual_shares_skip_the_own_class():
    alpha = np.array([[9.0, 2.0], [0.5, 9.0]])  # (K, n), y = (0, 1): the 9s are not variables
    assert llw_convergence.dual_shares(alpha, [0, 1], 2.0) == (0.5, 0.5, 0.0)


def test_extrapolation_recovers_a_power_law():
    epochs = np.arange(1, 101)
    exponent, to_target = llw_convergence.extrapolate(epochs, 2.0 * epochs**-0.5, target=0.01)
    assert exponent == pytest.approx(0.5)
    assert to_target == pytest.approx(200.0**2)
    assert llw_convergence.extrapolate(epochs, np.ones(100))[1] == float("inf")
    decrease, to_target = llw_convergence.extrapolate_linear(epochs, 1 - 0.01 * epochs, 0.01)
    assert decrease == pytest.approx(0.01) and to_target == pytest.approx(99.0)


def test_llw_chunks_continue_the_same_ascent(tmp_path):
    rows = llw_convergence.run(
        tmp_path, exponents=[2], max_epochs=30, chunk=10, quick=True, progress=False
    )
    with open(tmp_path / "history.csv") as stream:
        history = list(csv.DictReader(stream))
    assert [int(h["epoch"]) for h in history] == list(range(1, 31))
    gaps = [float(h["gap"]) for h in history]
    # a warm-started chunk starts from the previous duals, not from 0
    assert gaps[10] < gaps[0] and gaps[20] < gaps[0]
    assert rows[0]["epochs"] == 30 and not rows[0]["converged"]
    assert rows[0]["dual_gap"] == pytest.approx(gaps[-1], rel=1e-6)
    # re-tabulating from the CSVs recomputes the same extrapolations
    again = llw_convergence.retabulate(tmp_path, "quick", 10, 30, None)
    for key in ("epochs_to_gap_0.01", "linear_epochs_to_gap_0.01", "seconds_per_epoch"):
        assert again[0][key] == pytest.approx(rows[0][key], rel=1e-9)
    assert "straight line" in (tmp_path / "summary.md").read_text()


def test_cs_block_violation_counts_the_own_class_free_only_below_the_slack():
    from xcsvm.experiments.cs_stopping import block_violations

    C = 1e-3
    alpha = np.array([[0.0, C * (1 - 1e-11), 0.0]])  # y = 0; block sum 1e-11 (relative) below C
    scores = np.array([[-1.0, 0.0, -5.0]])  # G = (-1, 1, -4): G_y is the smallest
    # kernel's slack 1e-12: y counts as free, so the violation is G_1 - G_y = 2 ...
    assert block_violations(alpha, scores, [0], [C], 1e-12) == pytest.approx([2.0])
    # ... with 1e-9 the block is at its bound and class 1, the only free one, is optimal
    assert block_violations(alpha, scores, [0], [C], 1e-9) == pytest.approx([0.0])

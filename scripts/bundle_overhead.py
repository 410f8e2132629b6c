"""What saving the outputs costs: the comparisons of the quick report, run alternately without and with
the OutputRecorder (hashes; with --arrays also the arrays), in one process; prints each round's
seconds and their ratio, the share of the run with that the recorder (``OutputRecorder.save``, timed
from inside) and the writing of the bundle took, and the size of the quick report's bundle. On a
shared machine the ratio of two runs is noisy; the share, measured inside one run, is not.

    python scripts/bundle_overhead.py [--rounds 5] [--arrays]

The work timed is everything of ``cnn-parity report --quick`` that goes through ``compare()`` — the
parity cases, the sweep, the OpInfo subset, the configuration matrix — without training (which
compares little and would only dilute the ratio). A ratio, measured in one run, is what to quote
from a shared machine.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reports.configurations import report_matrix                      # noqa: E402
from reports.parity.outputs import write_bundle                       # noqa: E402
from reports.parity.records import OutputRecorder                     # noqa: E402
from reports.report import ReportInputs, compared_records, parity_records, run_opinfo   # noqa: E402
from reports.parity.sweeps import SWEEP_EXAMPLES_QUICK, sweep_records  # noqa: E402


def quick_comparisons() -> ReportInputs:
    records = parity_records(quick=True)
    sweeps = sweep_records(0, SWEEP_EXAMPLES_QUICK, ("float64", "float32"))
    corpus, _ = run_opinfo(quick=True)
    matrix = report_matrix("default", quick=True)
    return ReportInputs(records=[r for r in records if r.group != "sweep"], sweeps=sweeps, environment=[],
                        opinfo=corpus, matrix=matrix)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--arrays", action="store_true", help="also keep the arrays and write outputs.npz")
    args = parser.parse_args()
    spent = [0.0]
    save = OutputRecorder.save

    def timed_save(self, record, value):                  # the recorder's own time, inside the timed run
        t = time.perf_counter()
        save(self, record, value)
        spent[0] += time.perf_counter() - t
    OutputRecorder.save = timed_save
    quick_comparisons()                                    # warm up: imports, first calls
    plain, saved, own = [], [], []
    for i in range(args.rounds):
        t0 = time.perf_counter()
        quick_comparisons()
        plain.append(time.perf_counter() - t0)
        t0, spent[0] = time.perf_counter(), 0.0
        with OutputRecorder(arrays=args.arrays) as rec:
            inputs = quick_comparisons()
        t1 = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            names = write_bundle(tmp, compared_records(inputs), rec, [])
            sizes = {n: (Path(tmp) / n).stat().st_size for n in names}
        saved.append(time.perf_counter() - t0)
        own.append((spent[0] + time.perf_counter() - t1) / saved[-1])
        print(f"round {i + 1}: without {plain[-1]:.2f} s, with {saved[-1]:.2f} s "
              f"({saved[-1] / plain[-1]:.3f}); the recorder and the writing {100 * own[-1]:.1f} % of the run with; " + ", ".join(f"{n} {s / 1e6:.2f} MB" for n, s in sizes.items()),
              flush=True)
    ratios = [s / p for s, p in zip(saved, plain)]
    print(f"median share of the recorder and the writing in the run with: {100 * statistics.median(own):.1f} %")
    print(f"median ratio with/without: {statistics.median(ratios):.3f} "
          f"(median seconds {statistics.median(plain):.2f} / {statistics.median(saved):.2f})")


if __name__ == "__main__":
    main()

"""The comparison report: tidy CSV files and one self-contained HTML page, from parity records.

    cnn-parity report [--out DIR] [--data-dir DIR] [--epochs N] [--dtype ...] [--seed S] [--quick]
    pytest parity_tests --parity-report DIR

Both write the same files into ``DIR`` (default ``reports/out/``):

``layers.csv``           every comparison record except the sweeps (one row per case, quantity, dtype)
``sweeps.csv``           the property sweeps: each configuration tried, with its errors
``configurations.csv``   the configuration matrix: each case under each configuration (when it ran)
``training_curves.csv``  lockstep training, one row per step per framework (when training ran)
``training_epochs.csv``  accuracy per epoch per framework (when training ran)
``speed.csv``            a copy of the benchmark results the speed section shows (when there are any)
``speed_memory.csv``     a copy of the benchmarks' peak-memory results (when there are any)
``bugs.csv``             a copy of the bug zoo results the bug zoo section shows (when there are any)
``opinfo.csv``           PyTorch's OpInfo samples through the reference: one row per sample and
                         quantity, a ``reason`` for a sample not run, the torch version (when run)
``environment.csv``      versions, BLAS, CPU/GPU, threads, seed, dtype flags, git commit, date
``outputs.json``         the saved outputs: a hash of every torch result compared (``cnn-parity diff``
                         reads it; ``reports.parity.outputs``); ``outputs.npz`` the arrays (``--save-arrays``)
``index.html``           the page: verdict, per-layer errors, network traces, PyTorch's OpInfo
                         samples, training, filters, speed, the catalog of book-vs-PyTorch
                         differences, im2col step by step, environment

The README documents every column. The CSVs are byte-identical for the same seed (timestamps and
timings live only in ``environment.csv``, the two ``speed`` copies and the page).

Speed
-----
The report never times anything. Its speed section renders the results file of a separate
benchmark run (``python -m benchmarks``): ``--benchmarks FILE``, by default the repository's
``benchmarks/results/latest.csv`` (and ``memory.csv`` beside it). :func:`load_benchmarks` reads
and checks it; without the default file the section says how to make one. The bug zoo section
likewise reads the latest ``cnn-parity bugs --csv benchmarks/results/bugs.csv`` results
(``reports.bugzoo.load_bug_results``): planting every bug takes minutes, so the report never does.

How the pieces fit
------------------
:class:`ReportInputs` holds everything a report shows. :func:`collect_report` computes it (the
CLI path: every registered parity case, a seeded sweep, the catalog, optional lockstep training);
:func:`report_from_records` builds it from the records a pytest session asserted.
:func:`write_report` writes it atomically: files go into a hidden temporary folder next to
``DIR``, which is renamed into place only when complete. A failed or interrupted run leaves the
previous report untouched and no temporary folder behind; an unusable ``DIR`` is reported by
:func:`check_output_dir` (one line naming the path and the reason) before any computation.

Training hook
-------------
The training sections take plain data, so they can be fed by anything:
``curves`` (DataFrame with at least ``net, optimizer, dtype, framework, epoch, step, loss``),
``epochs`` (``net, optimizer, dtype, framework, epoch, train_acc, test_acc``) and ``filters``
(``{"before": W1, "reference": W1_after, "torch": W1_after}`` — the ``first_layer`` dict of
``reports.mnist.training.TrainingResult`` — or ``{"before": {...}, "after": {"reference": ..., "torch": ...}}``).
``cnn-parity report`` calls ``reports.mnist.training.train_lockstep`` (see :func:`run_training`).
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .benchmark_results import (DEFAULT_BENCHMARKS, MEMORY_COLUMNS, SPEED_COLUMNS, BenchmarkError,
                                BenchmarkResults, benchmark_setting, load_benchmarks, resolve_benchmarks)
from .bugzoo import BugZooResults, load_bug_results
from .configurations import configurations_frame, report_matrix, split_matrix_records
from .environment import collect_environment
from .explain import im2col_steps
from .files import MARKER, ReportOutputError, absolute, atomic_output, check_output_dir
from .errors import RunError
from .findings import section_data
from .html.page import render_html
from .mnist.data import describe_source, load_mnist
from .mnist.training import epoch_line, train_lockstep
from .parity.cases import full_size_cases
from .parity.catalog import CATALOG
from .parity.harness import all_parity_records, unavailable_cases
from .parity.opinfo import SUBSET_SCAN, CorpusUnavailable, corpus_from_records, opinfo_frame, run_corpus
from .parity.outputs import write_bundle
from .parity.records import DTYPES, OutputRecorder, Record, case_id, dedupe
from .parity.sweeps import SWEEP_EXAMPLES, SWEEP_EXAMPLES_QUICK, sweep_records

__all__ = ["ReportInputs", "ReportOutputError", "collect_report", "report_from_records", "write_report",
           "write_report_files", "compared_records", "check_output_dir", "atomic_output", "layers_frame", "sweeps_frame",
           "catalog_entries", "run_training", "normalise_filters", "parity_records", "run_opinfo",
           "DEFAULT_OUT", "MARKER",
           "LAYER_COLUMNS", "SWEEP_CONFIG_COLUMNS", "SWEEP_COLUMNS", "BenchmarkResults", "BenchmarkError",
           "load_benchmarks", "DEFAULT_BENCHMARKS", "SPEED_COLUMNS", "MEMORY_COLUMNS"]

DEFAULT_OUT = Path("reports") / "out"

LAYER_COLUMNS = ["group", "case", "case_id", "config", "dtype", "quantity", "ref_shape", "torch_shape",
                 "max_abs", "max_rel", "tol", "headroom", "verdict", "note", "tol_why"]
#: Configuration keys of the swept case factories (conv_case, pool_case, avgpool_case).
SWEEP_CONFIG_COLUMNS = ["N", "C", "H", "W", "FN", "FH", "FW", "ph", "pw", "stride", "pad", "dilation",
                        "groups", "bias", "ceil_mode", "count_include_pad", "divisor_override", "kind"]
#: Columns that hold an int or, per axis, "h,w" (pad also "same" or "valid").
PAIR_COLUMNS = ("stride", "pad", "dilation")
#: Boolean options; an option missing from a configuration has its default (PyTorch's).
SWEEP_DEFAULTS = {"dilation": 1, "groups": 1, "bias": True, "ceil_mode": False}
SWEEP_COLUMNS = (["case", "example", "dtype", "quantity"] + SWEEP_CONFIG_COLUMNS
                 + ["ref_shape", "torch_shape", "max_abs", "max_rel", "tol", "headroom", "verdict", "note", "config"])

def im2col_example() -> dict:
    """The book's 4×4 example computed by the reference, without and with padding, for the
    im2col section: ``{"pad 0": steps, "pad 1": steps}`` (see :func:`reports.explain.im2col_steps`)."""
    return {"pad 0": im2col_steps(), "pad 1": im2col_steps(pad=1)}


@dataclass
class ReportInputs:
    """Everything the report shows. Training fields are optional: ``None`` leaves their sections out."""

    records: list                                   # every non-sweep Record
    sweeps: list                                    # Records of group "sweep"
    environment: list                               # [(key, value)]
    catalog: list = field(default_factory=list)     # catalog_entries()
    curves: pd.DataFrame | None = None
    epochs: pd.DataFrame | None = None
    filters: dict | None = None                     # normalise_filters() form
    timing: dict | None = None                      # {(net, dtype, framework): median seconds per step}
    training_note: str = ""                         # why training is absent, or how it was run
    speed: BenchmarkResults | None = None           # benchmark results (None: no speed section)
    bugzoo: object | None = None                    # reports.bugzoo.BugZooResults (None: no bug zoo section)
    source: str = "cnn-parity report"               # what produced the records
    settings: dict = field(default_factory=dict)
    im2col: dict = field(default_factory=lambda: im2col_example())   # the im2col section's worked example
    opinfo: object | None = None                    # a reports.parity.opinfo.CorpusRun (None: not run)
    opinfo_note: str = ""                           # how the corpus was run, or why it was not
    matrix: object | None = None                    # reports.parity.matrix.MatrixResult (configurations)
    findings: dict | None = None                    # reports.findings.section_data() (None: no Findings section)
    outputs: object | None = None                   # the OutputRecorder that saw every comparison (None: no bundle)
    compare_with: str | None = None                 # an earlier report folder to diff this one with
    compared: object | None = None                  # reports.diff.DiffResult (the "Compared with" section)


# ------------------------------------------------------------------------------------------
# Records -> tidy frames
# ------------------------------------------------------------------------------------------

def _config_dict(config: str) -> dict:
    try:
        value = json.loads(config) if config else {}
        return value if isinstance(value, dict) else {}
    except ValueError:
        return {}


def layers_frame(records) -> pd.DataFrame:
    """``layers.csv``: one row per (case, quantity, dtype) of every non-sweep record."""
    rows = []
    for r in dedupe(r for r in records if r.group != "sweep"):
        rows.append({"group": r.group, "case": r.case, "case_id": case_id(r.case, r.config), "config": r.config,
                     "dtype": r.dtype, "quantity": r.quantity, "ref_shape": r.ref_shape,
                     "torch_shape": r.torch_shape, "max_abs": r.max_abs, "max_rel": r.max_rel, "tol": r.tol,
                     "headroom": r.headroom, "verdict": r.verdict, "note": r.note, "tol_why": r.tol_why})
    return pd.DataFrame(rows, columns=LAYER_COLUMNS)


def sweeps_frame(records) -> pd.DataFrame:
    """``sweeps.csv``: one row per (configuration, dtype, quantity) of the sweep records, with
    the configuration spread over one column per key (empty where a key does not apply) and
    ``example`` numbering the configurations of each (case, dtype) in the order they were tried."""
    rows, examples = [], {}
    for r in dedupe(r for r in records if r.group == "sweep"):
        cfg = _config_dict(r.config)
        seen = examples.setdefault((r.case, r.dtype), {})
        example = seen.setdefault(r.config, len(seen))
        row = {"case": r.case, "example": example, "dtype": r.dtype, "quantity": r.quantity}
        row.update({k: cfg.get(k, SWEEP_DEFAULTS.get(k) if k in _FACTORY_KEYS[r.case] else None)
                    for k in SWEEP_CONFIG_COLUMNS})
        row.update({"ref_shape": r.ref_shape, "torch_shape": r.torch_shape, "max_abs": r.max_abs,
                    "max_rel": r.max_rel, "tol": r.tol, "headroom": r.headroom, "verdict": r.verdict,
                    "note": r.note, "config": r.config})
        rows.append(row)
    frame = pd.DataFrame(rows, columns=SWEEP_COLUMNS)
    for col in SWEEP_CONFIG_COLUMNS:
        if col == "kind":
            frame[col] = frame[col].astype("string")
        elif col in PAIR_COLUMNS:
            frame[col] = frame[col].map(_pair_text).astype("string")
        elif col in ("count_include_pad", "bias", "ceil_mode"):
            frame[col] = frame[col].astype("boolean")
        else:
            frame[col] = frame[col].astype("Int64")        # integers; empty where not applicable
    frame["example"] = frame["example"].astype("int64")
    return frame


#: The options each swept factory has (a missing one is shown with its default, others stay empty).
_FACTORY_KEYS = {"Convolution": {"dilation", "groups", "bias"}, "Pooling": {"dilation", "ceil_mode"},
                 "AvgPooling": {"ceil_mode"}}


def _pair_text(value):
    """A stride/pad/dilation for the CSV: 2, "1,2" for an (h, w) pair, "same"; None stays empty."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


# ------------------------------------------------------------------------------------------
# Catalog and training
# ------------------------------------------------------------------------------------------

def catalog_entries() -> list[dict]:
    """Each entry of ``reports.parity.catalog.CATALOG`` with its measured effect (or the error it raised)."""
    entries = []
    for d in CATALOG:
        try:
            measured, error = d.measure(), ""
        except Exception as exc:                 # shown on the page, not hidden
            measured, error = {}, f"{type(exc).__name__}: {exc}"
        entries.append({"key": d.key, "title": d.title, "book": d.book, "torch": d.torch,
                        "reference": d.reference, "measured": measured, "error": error})
    return entries


def normalise_filters(filters) -> dict | None:
    """First-layer filters in one form: ``{"before": {fw: W1}, "after": {fw: W1}[, "dtype": str]}`` (fw =
    "reference", "torch"; W1 shaped (FN, C, FH, FW)). Accepts that form, or the
    ``first_layer`` dict of ``reports.mnist.training.TrainingResult``: ``{"before": W1,
    "reference": W1_after, "torch": W1_after}`` (both frameworks start from the same weights)."""
    if not filters:
        return None
    if "after" in filters:
        after = {k: np.asarray(v) for k, v in filters["after"].items()}
    else:
        after = {k: np.asarray(filters[k]) for k in ("reference", "torch") if k in filters}
    before = filters.get("before")
    if isinstance(before, dict):
        before = {k: np.asarray(v) for k, v in before.items()}
    elif before is not None:
        before = {"reference": np.asarray(before), "torch": np.asarray(before)}
    out = {"before": before or {}, "after": after}
    if filters.get("dtype"):
        out["dtype"] = str(filters["dtype"])         # which training run the weights come from
    return out


#: The lockstep runs of the report: (net, optimizer, lr, batch size, step cap, accuracy images).
#: SimpleConvNet runs the book's hyper-parameters for the requested epochs; the LeNet-5 and the
#: MNIST AlexNet-style net (which adds LRN and dropout to the comparison) are capped, so that
#: the whole report takes minutes on 2 cores (their float64 steps are the slowest of the report:
#: torch's float64 convolutions have no oneDNN kernel). Accuracy after each epoch is measured
#: on the first that many training and test images.
TRAINING_RUNS = [("simple", "adam", 0.001, 100, None, 2000),
                 ("lenet5", "adam", 0.001, 100, 100, 1000),
                 ("alexnet-mnist", "adam", 0.001, 50, 40, 500)]


#: --quick measures accuracy on this many training and test images (the smoke test's numbers).
QUICK_EVAL_IMAGES = 200


def run_training(*, seed=0, dtypes=DTYPES, epochs=2, quick=False, data_dir=None,
                 log=print, data=None, steps=None, runs=None) -> dict:
    """Lockstep training for the report through ``reports.mnist.training.train_lockstep``.

    Each run of ``runs`` (default :data:`TRAINING_RUNS`), once per dtype: ``epochs`` epochs, or
    fewer steps where the run has a cap. ``quick``: 10 steps on the first 1,000 training images,
    accuracy on the first :data:`QUICK_EVAL_IMAGES` training and test images. ``data`` (as from
    ``load_mnist``) replaces MNIST and ``steps`` caps every run (both for tests). ``log`` gets one
    line per run and one per epoch (as ``cnn-parity train`` prints them). Returns ``{"curves",
    "epochs", "filters", "timing", "note"}``; the filters are SimpleConvNet's first layer, from
    the float64 run when there is one.
    """
    runs = TRAINING_RUNS if runs is None else runs
    source = describe_source(data_dir) if data is None else "given data"
    data = load_mnist(data_dir) if data is None else data
    if quick:
        data = (tuple(a[:1000] for a in data[0]), data[1])
        steps, epochs = 10 if steps is None else steps, 1
        what = f"--quick: {steps} steps on the first 1,000 training images of the {source}"
    else:
        what = f"{epochs} epoch{'s' if epochs != 1 else ''} on the {source}"
    curves, epoch_frames, timing, filters, lines = [], [], {}, None, []
    for net, optimizer, lr, batch_size, cap, n_eval in runs:
        n_eval = min(n_eval, QUICK_EVAL_IMAGES) if quick else n_eval
        (x_train, t_train), (x_test, t_test) = data
        run_data = ((x_train, t_train), (x_test[:n_eval], t_test[:n_eval]))
        per_epoch = max(len(x_train) // batch_size, 1)
        run_steps = min(s for s in (steps, cap, epochs * per_epoch) if s is not None)
        for dtype in dtypes:
            t0 = time.perf_counter()

            def progress(result, epoch, n_epochs, seconds, name=f"{net} {dtype}"):
                log(f"    {name} {epoch_line(result, epoch, n_epochs, seconds)}")
            result = train_lockstep(run_data, net=net, optimizer=optimizer, lr=lr, batch_size=batch_size,
                                    dtype=dtype, seed=seed, progress=None, steps=run_steps, on_epoch=progress,
                                    train_eval_limit=n_eval)
            log(f"  training {net} {dtype}: {len(result.curves) // 2} steps in {time.perf_counter() - t0:.1f} s")
            curves.append(result.curves)
            epoch_frames.append(result.epochs)
            for fw, grp in result.timing.groupby("framework"):
                timing[(net, dtype, fw)] = float(grp.seconds.median())
            if net == "simple" and (filters is None or dtype == "float64"):
                filters = dict(result.first_layer, dtype=dtype)
        capped = cap is not None and run_steps < epochs * per_epoch and not quick
        lines.append(f"{net}: {optimizer} (lr {lr:g}), batch {batch_size}" + (f", {run_steps} steps" if capped else "")
                     + f", accuracy on the first {min(n_eval, len(x_train)):,} training and "
                       f"{len(run_data[1][0]):,} test images")
    note = (f"Seed {seed}; {what}: " + "; ".join(lines) + ". Both frameworks start from the same "
            "weights and see the same minibatches (and dropout masks) in the same order.")
    return {"curves": pd.concat(curves, ignore_index=True), "epochs": pd.concat(epoch_frames, ignore_index=True),
            "filters": filters, "timing": timing, "note": note}


# ------------------------------------------------------------------------------------------
# Collecting a report
# ------------------------------------------------------------------------------------------

def parity_records(dtypes=DTYPES, seed=0, quick=False, log=None) -> list[Record]:
    """``reports.parity.harness.all_parity_records``; with ``quick``, without the full-size AlexNets
    (``reports.parity.cases.full_size_cases``; the page says which were left out, and which cannot
    run here)."""
    return all_parity_records(tuple(dtypes), seed=seed, skip=full_size_cases() if quick else (), log=log)


#: ``--quick`` runs this many OpInfo samples per entry and dtype, drawn (seeded) from each entry's
#: first 48 (``reports.parity.opinfo.SUBSET_SCAN``); the full report runs the whole corpus (1,709
#: samples per dtype: 25 s on two busy cores, most of it the 1,440 max-pool samples).
OPINFO_QUICK_SUBSET = 3


def run_opinfo(*, seed=0, dtypes=DTYPES, quick=False, log=None):
    """PyTorch's OpInfo samples through the reference (:mod:`reports.parity.opinfo`) for the
    report: (CorpusRun or None, a note saying how it was run or why it could not be)."""
    try:
        run = run_corpus(dtypes=tuple(dtypes), seed=seed, subset=OPINFO_QUICK_SUBSET if quick else None)
    except CorpusUnavailable as exc:
        return None, f"The OpInfo corpus could not be run: {exc}."
    if log:
        log(f"  {len(run.results)} OpInfo samples in {run.seconds:.1f} s")
    if quick:
        return run, (f"--quick: {OPINFO_QUICK_SUBSET} samples per entry and dtype, drawn with seed {seed} "
                     f"from each entry's first {SUBSET_SCAN}; the full report runs every sample.")
    return run, f"Every sample of every entry, seed {seed} (samples and cotangents)."


def collect_report(*, seed=0, dtypes=DTYPES, quick=False, epochs=2, data_dir=None,
                   training=None, sweeps=None, log=None, benchmarks=None, opinfo=None,
                   configs=None, bugzoo=None, findings=None, save_arrays=False) -> ReportInputs:
    """Compute everything the CLI report shows.

    Every torch result compared is saved (``reports.parity.records.OutputRecorder``): its hash,
    and with ``save_arrays`` the array (the bundle, ``outputs.json`` and ``outputs.npz``).

    opinfo: ``None`` runs the OpInfo corpus (a seeded subset with ``quick``, see
    :func:`run_opinfo`); ``False`` leaves it out; a ``CorpusRun`` is used as it is.

    training: ``None`` runs lockstep training (:func:`run_training`); ``False`` skips
    it; a dict ``{"curves", "epochs", "filters", "timing", "note"}`` uses given results.
    sweeps: examples per sweep (default 40, 10 with ``quick``).
    benchmarks: the speed section's results — ``None``: the default file (see
    :func:`load_benchmarks`), a path, a :class:`BenchmarkResults`, or ``False`` (no section).
    configs: the configuration matrix — ``None`` or ``"none"``: none; ``"default"``, ``"all"`` or
    names (see ``reports.configurations.report_matrix``).
    bugzoo: the bug zoo section's results — ``None``: the default file, a ``BugZooResults``, or
    ``False`` (no section).
    findings: the Findings section — ``None``: the known findings (the eager ones rerun, seconds
    each; with ``quick`` none: their last recorded rerun) and the last fuzz run's results file;
    a dict as ``reports.findings.section_data`` makes it; ``False`` (no section).
    """
    with OutputRecorder(arrays=save_arrays) as recorder:
        inputs = _collect(seed=seed, dtypes=dtypes, quick=quick, epochs=epochs, data_dir=data_dir,
                          training=training, sweeps=sweeps, log=log or (lambda *a: None),
                          benchmarks=benchmarks, opinfo=opinfo, configs=configs, bugzoo=bugzoo, findings=findings)
    inputs.outputs = recorder
    return inputs


def _collect(*, seed, dtypes, quick, epochs, data_dir, training, sweeps, log, benchmarks, opinfo, configs,
             bugzoo, findings) -> ReportInputs:
    bench = resolve_benchmarks(benchmarks)
    t0 = time.perf_counter()
    records = parity_records(tuple(dtypes), seed=seed, quick=quick, log=lambda line: log(f"  {line}"))
    log(f"  {len(records)} parity comparisons in {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    n = sweeps if sweeps is not None else (SWEEP_EXAMPLES_QUICK if quick else SWEEP_EXAMPLES)
    sweeps_recs = sweep_records(seed, n, dtypes)
    log(f"  {len(sweeps_recs)} sweep comparisons in {time.perf_counter() - t0:.1f} s")
    catalog = catalog_entries()
    if opinfo is None:
        corpus, corpus_note = run_opinfo(seed=seed, dtypes=dtypes, quick=quick, log=log)
    elif opinfo is False:
        corpus, corpus_note = None, ""
    else:
        corpus, corpus_note = opinfo, ""

    note = ""
    trained = None
    if isinstance(training, dict):
        trained = training
    elif training is None:
        trained = run_training(seed=seed, dtypes=dtypes, epochs=epochs, quick=quick, data_dir=data_dir, log=log)
    else:
        note = "Training was not run for this report (--no-training)."
    settings = {"dtypes": " ".join(dtypes), "quick": str(bool(quick)), "epochs": str(epochs),
                "sweep examples per sweep": str(n)}
    if quick:
        settings["left out by --quick"] = "; ".join(c.id for c in full_size_cases()) or "nothing"
    if cannot := unavailable_cases(full_size_cases() if quick else ()):
        settings["left out, cannot run here"] = "; ".join(f"{c.id}: {c.unavailable()}" for c in cannot)
    if trained and training is None:
        settings["MNIST"] = describe_source(data_dir)
    if bench is not None:
        settings["benchmark results"] = benchmark_setting(bench)
    if corpus is not None:
        settings["OpInfo corpus"] = (f"torch {corpus.torch_version}, " + ("every sample" if corpus.subset is None
                                     else f"{corpus.subset} samples per entry and dtype"))
    inputs = ReportInputs(records=[r for r in records if r.group != "sweep"], sweeps=sweeps_recs,
                          environment=[], catalog=catalog, source="cnn-parity report", settings=settings,
                          training_note=note, speed=bench, opinfo=corpus, opinfo_note=corpus_note,
                          bugzoo=_bug_results(bugzoo, settings),
                          findings=_findings(findings, ("eager",) if not quick else (), settings, log))
    if configs is not None:
        inputs.matrix = report_matrix(configs, quick=quick, dtypes=dtypes, seed=seed, log=log, settings=settings)
    return _add_training_and_environment(inputs, trained, seed, settings)


def _bug_results(bugzoo, settings):
    """The bug zoo section's results: ``None`` the default file (``benchmarks/results/bugs.csv``,
    written by ``cnn-parity bugs --csv``), ``False`` none, or a ``BugZooResults``. Read, never run."""
    if bugzoo is False:
        return None
    results = bugzoo if isinstance(bugzoo, BugZooResults) else load_bug_results()
    settings["bug zoo results"] = (f"{results.display_path()} (read, not run by this report)" if results.frame
                                   is not None else f"none ({results.display_path()} does not exist)"
                                   if results.problem == "missing" else f"none ({results.problem})")
    return results


def _findings(findings, rerun_kinds, settings, log=None):
    """The Findings section's data: ``None`` :func:`reports.findings.section_data` (rerunning the
    findings of ``rerun_kinds``), ``False`` none, or a dict as it is."""
    if findings is False:
        return None
    if isinstance(findings, dict):
        return findings
    t0 = time.perf_counter()
    try:
        data = section_data(rerun_kinds=rerun_kinds)
    except RunError as exc:                      # no findings/ beside the package (an installed copy)
        settings["findings"] = f"none ({exc})"
        return None
    if rerun_kinds and log:
        log(f"  the known findings ({', '.join(rerun_kinds)}) rerun in {time.perf_counter() - t0:.1f} s")
    settings["findings"] = (f"{', '.join(rerun_kinds)} ones rerun now, the others' last recorded rerun" if rerun_kinds
                            else "the last recorded rerun of each (none rerun by this report)")
    return data


def _add_training_and_environment(inputs, training, seed, settings):
    """Fill ``inputs`` with the training results (a dict, if any) and then the environment
    (which lists the training's seconds per step)."""
    if training:
        inputs.curves, inputs.epochs = training.get("curves"), training.get("epochs")
        inputs.filters = normalise_filters(training.get("filters"))
        inputs.timing = training.get("timing")
        inputs.training_note = training.get("note", "")
    inputs.environment = _environment(seed, settings, inputs.timing)
    return inputs


def _environment(seed, settings, timing):
    env = collect_environment(seed, settings=settings)
    for (net, dtype, fw), sec in sorted((timing or {}).items()):
        env.append((f"training median seconds per step ({net}, {fw}, {dtype})", f"{sec:.4f}"))
    return env


def report_from_records(records, *, seed=None, source="pytest parity_tests", settings=None,
                        training: dict | None = None, benchmarks=None, bugzoo=None, findings=None) -> ReportInputs:
    """The report of a pytest session: exactly the records its tests asserted (``RECORD_LOG``),
    with the speed section of the default benchmark results (``benchmarks`` as in
    :func:`collect_report`; a problem with the default file is shown on the page, never raised)."""
    records, matrix = split_matrix_records(records)
    settings = dict(settings or {})
    bench = resolve_benchmarks(benchmarks)
    if bench is not None:
        settings["benchmark results"] = benchmark_setting(bench)
    corpus = _session_corpus(records)
    inputs = ReportInputs(records=[r for r in records if r.group not in ("sweep", "opinfo")],
                          sweeps=[r for r in records if r.group == "sweep"], environment=[],
                          catalog=catalog_entries(), source=source, settings=settings,
                          training_note="This report shows the comparisons the test session asserted; "
                                        "training curves are made by cnn-parity report.", speed=bench,
                          opinfo=corpus, opinfo_note="The OpInfo samples the test session ran (the default tier: "
                                                     "a seeded subset; pytest -m opinfo: every sample)." if corpus else "",
                          matrix=matrix, bugzoo=_bug_results(bugzoo, settings),
                          findings=_findings(findings, (), settings))
    return _add_training_and_environment(inputs, training, seed, settings)


def _session_corpus(records):
    """The OpInfo records of a test session as a CorpusRun (None when it ran none)."""
    if not any(r.group == "opinfo" for r in records):
        return None
    return corpus_from_records(records)


def _to_csv(frame: pd.DataFrame, path: Path):
    frame.to_csv(path, index=False, lineterminator="\n")


def write_report_files(folder, inputs: ReportInputs) -> list[str]:
    """Write the CSV files and index.html into ``folder`` (no atomicity: see :func:`write_report`)."""
    folder = Path(folder)
    names = []
    _to_csv(layers_frame(inputs.records), folder / "layers.csv")
    names.append("layers.csv")
    _to_csv(sweeps_frame(inputs.sweeps), folder / "sweeps.csv")
    names.append("sweeps.csv")
    if inputs.matrix is not None:
        _to_csv(configurations_frame(inputs.matrix.records), folder / "configurations.csv")
        names.append("configurations.csv")
    if inputs.curves is not None:
        _to_csv(inputs.curves, folder / "training_curves.csv")
        names.append("training_curves.csv")
    if inputs.epochs is not None:
        _to_csv(inputs.epochs, folder / "training_epochs.csv")
        names.append("training_epochs.csv")
    if inputs.speed is not None and inputs.speed.frame is not None:
        # Byte-for-byte copies of what the speed section shows (measurements: not byte-identical
        # from run to run, like environment.csv).
        (folder / "speed.csv").write_bytes(inputs.speed.data)
        names.append("speed.csv")
        if inputs.speed.memory is not None:
            (folder / "speed_memory.csv").write_bytes(inputs.speed.memory_data)
            names.append("speed_memory.csv")
    if inputs.opinfo is not None:
        _to_csv(opinfo_frame(inputs.opinfo), folder / "opinfo.csv")
        names.append("opinfo.csv")
    if inputs.bugzoo is not None and inputs.bugzoo.frame is not None:
        (folder / "bugs.csv").write_bytes(inputs.bugzoo.data)        # the results the section shows
        names.append("bugs.csv")
    _to_csv(pd.DataFrame(inputs.environment, columns=["key", "value"]), folder / "environment.csv")
    names.append("environment.csv")
    if inputs.outputs is not None:
        names += write_bundle(folder, compared_records(inputs), inputs.outputs, inputs.environment)
    if inputs.compare_with is not None:
        from .diff import diff_reports                    # reads both folders' CSV files and bundles
        inputs.compared = diff_reports(inputs.compare_with, folder)
    html = render_html(inputs, files=names + ["index.html"])
    (folder / "index.html").write_text(html, encoding="utf-8")
    names.append("index.html")
    (folder / MARKER).write_text("This folder is a cnn-parity report; `cnn-parity report` replaces it whole.\n",
                                 encoding="utf-8")
    return names


def compared_records(inputs: ReportInputs) -> list:
    """Every record the CSV files show, as they show them: layers, sweeps, the matrix, OpInfo."""
    records = dedupe(r for r in inputs.records if r.group != "sweep") + dedupe(inputs.sweeps)
    if inputs.matrix is not None:
        records += [r for r in inputs.matrix.records if r.configuration]
    if inputs.opinfo is not None:
        records += [r for res in inputs.opinfo.results for r in res.records]
    return records


def write_report(out, inputs: ReportInputs) -> Path:
    """Write the report into ``out`` atomically (see :func:`atomic_output`)."""
    with atomic_output(out) as tmp:
        write_report_files(tmp, inputs)
    return absolute(out)

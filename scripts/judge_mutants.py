"""Mutation testing of the judges, by hand: plant each fault of MUTANTS in a scratch copy of the
repository, run the judges' tests, and see whether they notice.

    python scripts/judge_mutants.py                         # every mutant against parity_tests/test_judges.py
    python scripts/judge_mutants.py --only J1,Q11           # some of them
    python scripts/judge_mutants.py --tests parity_tests    # against the whole default tier (hours on 2 cores)

A mutant is a plausible fault written as text replacements (the original text must occur exactly
once: a mutant whose text is gone is reported "stale", never silently skipped). Each is applied to
a copy of the tracked files (the working tree is never touched), the tests run with ``-x`` in a
fresh interpreter that writes no bytecode, and the file is restored. Prints one line per mutant
(killed by which test, or survived) and exits 1 if any survived or went stale.

docs/judges.md keeps the table: each mutant, whether ``pytest parity_tests`` noticed it before
parity_tests/test_judges.py existed, and the test that kills it now. Faults that matter beyond this
list (a realistic subset) are planted in the bug zoo too (reports/parity/bugs/judge_bugs.py).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

M = "reports/parity/matrix.py"
CFG = "reports/parity/configs.py"
REC = "reports/parity/records.py"
CEL = "reports/parity/cells.py"
CON = "reports/configurations.py"
OPI = "reports/parity/opinfo.py"
CMD = "reports/commands/opinfo.py"
SEC = "reports/html/sections/corpus.py"
VER = "reports/html/sections/comparisons.py"

MUTANTS = [
    # --- the oracle is fed the run's own values ---
    ("O1", M, [("getattr(ref64, key)[...] = getattr(ref, key)", "getattr(ref64, key)[...] = getattr(ref64, key)")],
     "layer oracle keeps its own float64 draws of the weights"),
    ("O2", M, [("ref64.params[key][...] = ref.params[key]", "ref64.params[key][...] = ref64.params[key]")],
     "net oracle keeps its own float64 draws of the weights"),
    ("O3", M, [("return v.astype(np.float64) if isinstance", "return v.astype(np.float32).astype(np.float64) if isinstance")],
     "upcast rounds through float32 first (a float64 run's values rounded twice)"),
    ("O4", M, [("return v.astype(np.float64) if isinstance", "return v if isinstance")],
     "no upcast: the oracle computes in the run's dtype (the rounding twice)"),
    ("O5", M, [("        dout = run.tensor(np.asarray(rng.standard_normal(np.shape(y_ref)), dtype=dtype),\n"
                "                          y_t.dtype)                              # autograd's dtype for the gradient\n"
                "        dx_ref = oracle.backward(_np64(dout))",
                "        g64 = rng.standard_normal(np.shape(y_ref))\n"
                "        dout = run.tensor(np.asarray(g64, dtype=dtype), y_t.dtype)\n"
                "        dx_ref = oracle.backward(g64)")],
     "layer oracle's upstream gradient is the float64 draw, not the rounded one"),
    ("O6", M, [("    ref, module = case.build(rng, dtype)\n    inputs = case.inputs(rng, dtype)\n    oracle = _Upcast(",
                "    ref, module = case.build(rng, dtype)\n    rng64 = np.random.default_rng(seed); case.build(rng64, np.float64)\n"
                "    inputs64 = case.inputs(rng64, np.float64)\n    inputs = case.inputs(rng, dtype)\n    oracle = _Upcast("),
               ('y_ref, y_t = oracle.forward(inputs["x"]), run.call(x_t)', 'y_ref, y_t = oracle.forward(inputs64["x"]), run.call(x_t)')],
     "layer oracle's input is the float64 draw, not the rounded one"),
    ("O7", M, [('return net_values(case, ref, _up(inputs["x"]), inputs, after_layer)',
                'return net_values(case, ref, (lambda r: (case.build(r, np.float64), case.inputs(r, np.float64))[1])(np.random.default_rng(seed))["x"], inputs, after_layer)')],
     "net oracle's input is the float64 draw"),
    # --- judge_verdict ---
    ("V1", M, [("return \"worse than eager\" if err > MULTIPLE", "return \"worse than eager\" if err >= MULTIPLE")],
     "worse than eager: >= for >"),
    ("V2", M, [("err > MULTIPLE * scale * base_err + floor", "err > MULTIPLE * base_err / scale + floor")],
     "worse than eager: scale inverted"),
    ("V3", M, [("err > MULTIPLE * scale * base_err + floor", "err > MULTIPLE * scale * base_err")],
     "worse than eager: no 16 eps floor"),
    ("V4", M, [("err > MULTIPLE * scale * base_err + floor", "err > MULTIPLE * (scale * base_err + floor)")],
     "worse than eager: the multiple applied to the floor too"),
    ("V5", CEL, [("MULTIPLE = 3.0", "MULTIPLE = 2.0")], "MULTIPLE 2 for 3"),
    ("V6", M, [("    if not within_tol:\n        return \"disagrees\"",
                "    if not within_tol and (base_err is None or err > MULTIPLE * scale * base_err):\n        return \"disagrees\"")],
     "beyond tolerance excused when eager is as far off (dynamo's same() logic)"),
    # --- ratio ---
    ("R1", M, [("        return err / base_err", "        return base_err / err")], "ratio inverted"),
    ("R2", M, [("return math.inf if err > 0 else 1.0", "return 1.0")], "ratio 1 when eager exact and config not"),
    ("R3", M, [("return math.inf if err > 0 else 1.0", "return math.inf")], "ratio inf when both exact"),
    ("R4", M, [("    if base_err > 0:\n        return err / base_err", "    if base_err >= 0:\n        return err / base_err")],
     "ratio divides by an exact eager (ZeroDivisionError)"),
    # --- determinism ---
    ("D1", M, [("if a.shape == b.shape and a.tobytes() == b.tobytes():", "if a.shape == b.shape and a.tobytes() == a.tobytes():")],
     "determinism compares a run with itself"),
    ("D2", M, [("if a.shape == b.shape and a.tobytes() == b.tobytes():", "if a.shape == b.shape and np.array_equal(a, b):")],
     "determinism by value (-0 == 0, NaN != NaN), not bits"),
    ("D3", M, [("float(np.nanmax(diff))", "float(np.max(diff))")], "run_diff NaN when a NaN moved"),
    ("D4", M, [("    if b is None:\n        return \"\", math.nan", "    if b is None:\n        return \"yes\", 0.0")],
     "no second run reported as deterministic"),
    ("D5", M, [("        return \"no\", math.inf\n", "        return \"no\", 0.0\n")], "another shape: run_diff 0"),
    ("D6", M, [("float(np.nanmax(diff))", "float(np.nanmean(diff))")], "run_diff the mean difference"),
    # --- _judge ---
    ("J1", M, [("Tolerance(tol.rtol + base_tol.rtol,", "Tolerance(max(tol.rtol, base_tol.rtol),")],
     "eager tolerance: max of the two for the sum"),
    ("J2", M, [("Tolerance(tol.rtol + base_tol.rtol,", "Tolerance(tol.rtol,")], "eager tolerance: the config's alone"),
    ("J3", M, [("base_tol = config_tolerance(planned.baseline_precision, k, case.tol_factor)",
                "base_tol = config_tolerance(prec, k, case.tol_factor)")], "baseline tolerance in the config's precision"),
    ("J4", M, [("scale = prec.eps / planned.baseline_precision.eps", "scale = planned.baseline_precision.eps / prec.eps")],
     "scale inverted"),
    ("J5", M, [("scale = prec.eps / planned.baseline_precision.eps", "scale = 1.0")], "no scale"),
    ("J6", M, [("case.tol_factor * prec.eps, base_err", "case.tol_factor * (planned.baseline_precision or prec).eps, base_err")],
     "floor in the baseline's precision"),
    ("J7", M, [("case.tol_factor * prec.eps, base_err", "16 * prec.eps, base_err")], "floor ignores the case's factor"),
    ("J8", M, [("base_err = compare(name, q, base_run.oracle[q], base_run.values[q], tol).max_rel",
                "base_err = compare(name, q, run1.oracle[q], value, tol).max_rel")], "eager's error is the config's own"),
    ("J9", M, [("rec = compare(name, q, base_run.values[q], value, pair_tol,", "rec = compare(name, q, value, value, pair_tol,")],
     "eager comparison compares the run with itself"),
    ("J10", M, [("rec = compare(name, q, base_run.values[q], value, pair_tol,", "rec = compare(name, q, base_run.oracle[q], value, pair_tol,")],
     "eager comparison against the baseline's oracle"),
    ("J11", M, [("verdict=\"agrees\" if rec.passed else \"disagrees\",", "verdict=\"agrees\" if rec.max_rel <= tol.rtol else \"disagrees\",")],
     "eager verdict with the config's tolerance, not the sum"),
    ("J12", M, [("det, diff = determinism(value, run2.values.get(q) if run2 else None)",
                 "det, diff = determinism(value, run1.values.get(q) if run2 else None)")], "determinism: run 1 against itself"),
    ("J13", M, [("tol = config_tolerance(prec, k, case.tol_factor)", "tol = config_tolerance(plan.baseline_precision or prec, k, case.tol_factor)")],
     "the config judged with its baseline's precision"),
    ("J14", M, [("verdict = judge_verdict(rec.max_rel, rec.passed,", "verdict = judge_verdict(rec.max_rel, True,")],
     "oracle verdict ignores the tolerance"),
    # --- run_matrix ---
    ("RM1", M, [("run2 = run_case(case, cfg, dtype, seed, oracle, fresh=False)", "run2 = run1")], "the repeat is the first run"),
    ("RM2", M, [("result.records.append(_status(case, cfg, dtype, \"skipped\", planned.skip))\n", "pass\n")],
     "a skipped configuration leaves no record"),
    ("RM3", M, [("_status(case, cfg, dtype, \"skipped\", planned.skip)", "_status(case, cfg, dtype, \"failed\", planned.skip)")],
     "skipped recorded as failed"),
    ("RM4", M, [("_status(case, cfg, dtype, \"failed\", first_line(run1))", "_status(case, cfg, dtype, \"skipped\", first_line(run1))")],
     "failed recorded as skipped"),
    ("RM5", M, [("                    except Exception as exc:\n                        run1 = exc",
                 "                    except Exception as exc:\n                        run2 = None")], "a failing repeat ignored"),
    ("RM6", M, [("base_run = first_run(planned.baseline) if planned.baseline else None", "base_run = run1 if planned.baseline else None")],
     "baseline: the configuration itself"),
    # --- configs ---
    ("P1", CFG, [("    if cfg.computes_in and dtype == \"float32\":", "    if cfg.autocast and dtype == \"float32\":")],
     "precision: TF32 forgotten (only autocast lowers it)"),
    ("P2", CFG, [("    if cfg.computes_in and dtype == \"float32\":", "    if cfg.computes_in:")], "precision lowered for float64 too"),
    ("P3", CFG, [("base = ((baselines or {}).get(cfg.baseline) or by_name(cfg.baseline)) if cfg.baseline else None",
                  "base = by_name(cfg.baseline) if cfg.baseline else None")], "plan ignores the replaced baselines"),
    ("P4", CFG, [("precision_of(base, dtype) if base else None)", "precision_of(cfg, dtype) if base else None)")],
     "baseline precision is the config's"),
    ("P5", CFG, [("    if dtype in cfg.dtypes:\n        return None", "    if dtype in DTYPES:\n        return None")],
     "not-applicable never said"),
    ("P6", CFG, [("skip = f\"{NOT_APPLICABLE}: {why}\"", "skip = why")],
     "not-applicable skip without its prefix"),
    ("P7", REC, [("Precision(\"tf32\", 11)", "Precision(\"tf32\", 10)")], "TF32 p = stored bits (10)"),
    ("P8", REC, [("Precision(\"bfloat16\", 8)", "Precision(\"bfloat16\", 7)")], "bfloat16 p = stored bits (7)"),
    ("P9", REC, [("return 2.0 ** (1 - self.bits)", "return 2.0 ** -self.bits")], "eps is the unit roundoff"),
    ("P10", REC, [("rtol = factor * float(np.sqrt(k)) * precision.eps", "rtol = factor * k * precision.eps")],
     "config tolerance grows with k, not sqrt(k)"),
    ("P11", REC, [("rtol = factor * float(np.sqrt(k)) * precision.eps", "rtol = 16.0 * float(np.sqrt(k)) * precision.eps")],
     "config tolerance ignores the factor"),
    # --- cells ---
    ("C1", CEL, [("verdict = max((r.verdict for r in oracle), key=VERDICT_ORDER.index)",
                  "verdict = min((r.verdict for r in oracle), key=VERDICT_ORDER.index)")], "cell verdict the best"),
    ("C2", CEL, [("VERDICT_ORDER = (\"agrees\", \"worse than eager\", \"disagrees\", \"failed\", \"skipped\")",
                  "VERDICT_ORDER = (\"agrees\", \"disagrees\", \"worse than eager\", \"failed\", \"skipped\")")],
     "verdict order: worse after disagrees"),
    ("C3", CEL, [("worst = min(oracle, key=lambda r: r.bits)", "worst = max(oracle, key=lambda r: r.bits)")], "worst bits: max"),
    ("C4", CEL, [("headroom=min(r.headroom for r in oracle)", "headroom=max(r.headroom for r in oracle)")], "cell headroom: max"),
    ("C5", CEL, [("(\"no\" if any(r.deterministic == \"no\" for r in det) else \"yes\")",
                  "(\"yes\" if any(r.deterministic == \"yes\" for r in det) else \"no\")")], "deterministic if any quantity is"),
    ("C6", CEL, [("nondet = max(det, key=lambda r: r.run_diff) if det else None", "nondet = det[0] if det else None")],
     "run_diff of the first quantity"),
    ("C7", CEL, [("diverging = next((r for r in oracle if r.group == \"trace\" and r.verdict != \"agrees\"), None)",
                  "diverging = None")], "first divergence not from the trace"),
    ("C8", CEL, [("ratio=max(ratios) if ratios else math.nan", "ratio=min(ratios) if ratios else math.nan")], "cell ratio: min"),
    ("C9", CEL, [("off = next((r for r in eager if not r.passed), None)",
                  "off = eager[-1] if eager and not any(r.passed for r in eager) else None")],
     "differs from eager only when every quantity does"),
    ("C10", CEL, [("eager_bits=min(r.bits for r in eager)", "eager_bits=max(r.bits for r in eager)")], "eager bits: max"),
    ("C11", CEL, [("oracle = [r for r in recs if r.compared_with == \"oracle\"]", "oracle = list(recs)")],
     "eager records judged as oracle records"),
    ("C12", CEL, [("if len(oracle) == 1 and oracle[0].verdict in (\"skipped\", \"failed\"):",
                   "if len(oracle) == 1 and oracle[0].verdict == \"skipped\":")], "a failure loses its note"),
    ("C13", CEL, [("return self.eager == \"disagrees\" and self.verdict not in (\"disagrees\", \"failed\", \"skipped\")",
                   "return self.eager == \"disagrees\"")], "differs_from_eager for disagreeing cells"),
    ("C14", CEL, [("return cell.verdict == \"skipped\" and cell.note.startswith(NOT_APPLICABLE)",
                   "return cell.verdict == \"skipped\"")], "every skip is not-applicable"),
    ("C15", CEL, [("i = order.index(layer) + 1 if layer in order else len(order)", "i = order.index(layer) if layer in order else len(order)")],
     "backward divergence attributed to the wrong layer"),
    # --- summaries ---
    ("S1", CEL, [("ran = [c for c in mine if c.verdict not in (\"skipped\", \"failed\")]", "ran = [c for c in mine if c.verdict != \"skipped\"]")],
     "failed cells counted as run"),
    ("S2", CEL, [("\"counts\": {v: sum(c.verdict == v for c in mine) for v in VERDICT_ORDER}",
                  "\"counts\": {v: sum(c.verdict == v for c in ran) for v in VERDICT_ORDER}")], "counts over run cells only"),
    ("S3", CEL, [("\"worst\": min(ran, key=lambda c: c.bits) if ran else None", "\"worst\": max(ran, key=lambda c: c.bits) if ran else None")],
     "worst cell: max bits"),
    ("S4", CEL, [("\"checked\": sum(c.deterministic in (\"yes\", \"no\") for c in ran)", "\"checked\": len(ran)")],
     "every cell counted as checked"),
    ("S5", CEL, [("nondet = [c for c in ran if c.deterministic == \"no\"]", "nondet = [c for c in ran if c.deterministic != \"yes\"]")],
     "unchecked cells counted non-deterministic"),
    ("S6", CEL, [("max(nondet, key=lambda c: c.run_diff) if nondet else None", "min(nondet, key=lambda c: c.run_diff) if nondet else None")],
     "worst non-deterministic: min"),
    ("S7", CEL, [("seconds2 = [v[1] for k, v in seconds.items() if k[1] == name and math.isfinite(v[1])]",
                  "seconds2 = [v[1] for k, v in seconds.items() if k[1] == name]")], "missing second runs (NaN) in the times"),
    ("S8", CEL, [("\"total_s\": sum(firsts) + sum(seconds2)", "\"total_s\": sum(firsts)")], "total without second runs"),
    # --- configurations.py ---
    ("F1", CON, [("\"bits\": r.bits, \"ratio\": r.ratio,", "\"bits\": r.ratio, \"ratio\": r.bits,")], "csv: bits and ratio swapped"),
    ("F2", CON, [("\"max_abs\": r.max_abs, \"max_rel\": r.max_rel,", "\"max_abs\": r.max_rel, \"max_rel\": r.max_abs,")],
     "csv: max_abs and max_rel swapped"),
    ("F3", CON, [("\"config\": r.configuration,", "\"config\": r.config,")], "csv: config is the case's JSON"),
    ("F4", CON, [("for r in records if r.configuration]\n    return pd.DataFrame", "for r in records]\n    return pd.DataFrame")],
     "csv: plain records too"),
    ("F5", CON, [("bad = counts[\"disagrees\"] + counts[\"failed\"]", "bad = counts[\"disagrees\"]")], "matrix_line: failures not bad"),
    ("F6", CON, [("bad = counts[\"disagrees\"] + counts[\"failed\"]", "bad = counts[\"disagrees\"] + counts[\"failed\"] + counts[\"worse than eager\"]")],
     "matrix_line: worse counted bad"),
    ("F7", CON, [("(\"*\" if cell.deterministic == \"no\" else \"\")", "(\"*\" if cell.deterministic != \"yes\" else \"\")")],
     "terminal: * on unchecked cells"),
    ("F8", CON, [("return \"n/a\" if is_not_applicable(cell) else \"skip\"", "return \"skip\" if is_not_applicable(cell) else \"n/a\"")],
     "terminal: n/a and skip swapped"),
    ("F9", CON, [("\"worse than eager\": \"WORSE\", \"disagrees\": \"FAIL\"", "\"worse than eager\": \"FAIL\", \"disagrees\": \"WORSE\"")],
     "terminal: WORSE and FAIL swapped"),
    # --- the corpus ---
    ("Q1", OPI, [("return self.ran and bool(self.records) and all(r.passed for r in self.records)",
                  "return self.ran and all(r.passed for r in self.records)")], "a sample with no record agrees"),
    ("Q2", OPI, [("return self.ran and bool(self.records) and all(r.passed for r in self.records)",
                  "return bool(self.records) or not self.ran")], "a sample not run counted as agreeing"),
    ("Q3", OPI, [("return self.ran and bool(self.records) and all(r.passed for r in self.records)",
                  "return self.ran and bool(self.records) and any(r.passed for r in self.records)")], "agrees if any record passes"),
    ("Q4", OPI, [("row[\"samples\"] += 1", "row[\"samples\"] += res.ran")], "samples not run not counted"),
    ("Q5", OPI, [("row[\"reasons\"][res.reason] = row[\"reasons\"].get(res.reason, 0) + 1\n            continue",
                  "row[\"reasons\"][res.reason] = row[\"reasons\"].get(res.reason, 0) + 1")], "samples not run counted as run"),
    ("Q6", OPI, [("row[\"reasons\"].get(res.reason, 0) + 1", "1")], "each reason counted once"),
    ("Q7", OPI, [("            if r.headroom < row[\"worst\"]:", "            if float(np.minimum(r.headroom, row[\"worst\"])) != row[\"worst\"]:")],
     "worst headroom: NaN wins (np.minimum)"),
    ("Q8", OPI, [("            if r.headroom < row[\"worst\"]:", "            if r.passed and r.headroom < row[\"worst\"]:")],
     "worst headroom over passing records only"),
    ("Q9", OPI, [("row[\"not_run\"] = row[\"samples\"] - row[\"run\"]", "row[\"not_run\"] = len(row[\"reasons\"])")],
     "not run = number of reasons"),
    ("Q10", OPI, [("key = (r.case, r.dtype, config[\"sample\"])", "key = (r.case, config[\"sample\"])")],
     "session corpus merges the dtypes"),
    ("Q11", OPI, [('out["disagree"] = out["run"] - out["agree"]', 'out["disagree"] = out["samples"] - out["agree"]')],
     "totals: not run counts as disagreeing (the exit status)"),
    ("Q12", OPI, [('out["share"] = 100 * out["run"] / out["samples"]', 'out["share"] = 100 * out["agree"] / out["samples"]')],
     "totals: share of agreeing, not of run"),
    ("Q13", OPI, [('out["disagree"] = out["run"] - out["agree"]', 'out["disagree"] = out["run"] - out["agree"]; out["not_run"] = out["samples"] - out["agree"]')],
     "totals: not run = samples - agree"),
    ("Q14", SEC, [("f\"agree ({t['samples'] - t['run']} not run;", "f\"agree ({t['samples'] - t['agree']} not run;")],
     "card: not run = samples - agree"),
    ("Q15", SEC, [('"all_agree": t["disagree"] == 0,', '"all_agree": t["agree"] == t["samples"],')],
     "section: all agree only when every sample ran"),
    ("Q16", OPI, [('out["worst"] = min((row["worst"] for row in rows), default=math.inf)', 'out["worst"] = max((row["worst"] for row in rows), default=math.inf)')],
     "totals: worst headroom the largest"),
    ("Q17", VER, [('inputs.opinfo.totals()["samples"]', 'inputs.opinfo.totals()["run"]')],
     "verdict section: samples counted as the run ones"),
]


def _copy_tree(dest: Path) -> None:
    """The tracked files (and the untracked ones git does not ignore) into ``dest``."""
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT,
                           check=True, capture_output=True).stdout.decode().split("\0")
    for name in filter(None, files):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)


def run_mutant(tree: Path, mutant, tests, timeout=1800) -> dict:
    """Apply one mutant in ``tree``, run ``tests``, restore: {"status", "by", "seconds"}."""
    mid, file, pairs, what = mutant
    path = tree / file
    original = path.read_text(encoding="utf-8")
    stale = [old for old, _ in pairs if original.count(old) != 1]
    if stale:
        return {"status": "stale", "by": f"text not found once: {stale[0][:60]!r}", "seconds": 0.0}
    text = original
    for old, new in pairs:
        text = text.replace(old, new)
    env = dict(os.environ, PYTHONPATH=str(tree), PYTHONDONTWRITEBYTECODE="1")
    t0 = time.perf_counter()
    path.write_text(text, encoding="utf-8")
    try:
        proc = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-n", "0", *tests],
                              cwd=tree, env=env, capture_output=True, text=True, timeout=timeout)
        lines = (proc.stdout + proc.stderr).splitlines()
        failed = [ln.split(" - ")[0].removeprefix("FAILED ").removeprefix("ERROR ") for ln in lines
                  if ln.startswith(("FAILED", "ERROR"))]
        status = "survived" if proc.returncode == 0 else "killed"
        by = failed[0] if failed else (lines[-1] if lines and proc.returncode else "")
    except subprocess.TimeoutExpired:
        status, by = "timeout", f"no answer in {timeout} s"
    finally:
        path.write_text(original, encoding="utf-8")
    return {"status": status, "by": by, "seconds": time.perf_counter() - t0}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Plant each mutant of the judges and run their tests.")
    parser.add_argument("--tests", nargs="+", default=["parity_tests/test_judges.py"],
                        help="what pytest runs for each mutant (default: parity_tests/test_judges.py)")
    parser.add_argument("--only", help="comma-separated mutant ids (default: all)")
    args = parser.parse_args(argv)
    chosen = [m for m in MUTANTS if args.only is None or m[0] in args.only.split(",")]
    bad = 0
    with tempfile.TemporaryDirectory(prefix="judge-mutants-") as tmp:
        tree = Path(tmp)
        _copy_tree(tree)
        for mutant in chosen:
            result = run_mutant(tree, mutant, args.tests)
            bad += result["status"] != "killed"
            print(f"{mutant[0]:<5} {result['status']:<8} {result['seconds']:6.1f} s  {mutant[3]}  <- {result['by']}",
                  flush=True)
    print(f"{len(chosen) - bad} of {len(chosen)} killed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

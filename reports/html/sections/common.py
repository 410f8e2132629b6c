"""What several sections share: display names, chart styles, record grouping, cards and record rows."""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from ..charts import COLORS
from ...parity.records import short_config
from ..format import fmt_headroom, sci

__all__ = ["DTYPE_STYLE", "FW_STYLE", "FW_NAME", "NET_NAME", "OPT_NAME", "run_title", "group_cases", "case_labels",
           "worst", "Card", "RecordRow", "record_row"]

#: Marker colour and shape of each dtype in the charts.
DTYPE_STYLE = {"float64": (COLORS["blue"], "circle"), "float32": (COLORS["orange"], "triangle")}
#: Line colour and dash pattern of each framework in the charts.
FW_STYLE = {"reference": (COLORS["blue"], ""), "torch": (COLORS["vermillion"], "7 4")}
FW_NAME = {"reference": "NumPy reference", "torch": "PyTorch"}
#: Display names of the training module's net and optimizer keys (unknown keys are shown as they are).
NET_NAME = {"simple": "SimpleConvNet", "lenet5": "LeNet-5", "alexnet-mnist": "AlexNet (MNIST)", "alexnet": "AlexNet"}
OPT_NAME = {"sgd": "SGD", "momentum": "Momentum", "adagrad": "AdaGrad", "adam": "Adam"}


def run_title(net, opt, dtype=None) -> str:
    """'SimpleConvNet · Adam · float32'."""
    parts = [NET_NAME.get(str(net), str(net)), OPT_NAME.get(str(opt), str(opt))] + ([str(dtype)] if dtype else [])
    return " · ".join(parts)


def group_cases(records):
    """OrderedDict (case, config) -> {dtype: [records]} in order of first appearance."""
    out = OrderedDict()
    for r in records:
        out.setdefault((r.case, r.config), OrderedDict()).setdefault(r.dtype, []).append(r)
    return out


def case_labels(keys):
    """'Convolution 1', 'Convolution 2', ... for (case, config) keys, numbered within each case."""
    count, labels, totals = {}, {}, {}
    for case, _ in keys:
        totals[case] = totals.get(case, 0) + 1
    for case, config in keys:
        count[case] = count.get(case, 0) + 1
        labels[(case, config)] = f"{case} {count[case]}" if totals[case] > 1 else case
    return labels


def worst(records):
    """The record with the least headroom (a failure first)."""
    return min(records, key=lambda r: (r.passed, r.headroom))


@dataclass
class Card:
    """One summary card: a title, a big value and a note. ``pairs`` [(label, value)] replace the
    value by one small line per pair; ``code``: the value is code; ``long``: a smaller font."""

    title: str
    value: object = ""
    note: str = ""
    pairs: tuple = ()
    code: bool = False
    long: bool = False


@dataclass
class RecordRow:
    """A record's fields as the tables show them (numbers formatted, configuration shortened)."""

    group: str
    case: str
    config: str
    dtype: str
    quantity: str
    shape: str
    max_abs: object
    max_rel: object
    tol: object
    headroom: object
    passed: bool
    note: str


def record_row(r) -> RecordRow:
    return RecordRow(group=r.group, case=r.case, config=short_config(r.config), dtype=r.dtype, quantity=r.quantity,
                     shape=r.ref_shape, max_abs=sci(r.max_abs), max_rel=sci(r.max_rel), tol=sci(r.tol),
                     headroom=fmt_headroom(r.headroom), passed=r.passed, note=r.note)

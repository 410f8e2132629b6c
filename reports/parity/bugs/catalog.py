"""The catalog of the bug zoo: every bug declared once, as data (see ``reports.parity.bugs``)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import reference.fast as F
import reference.layers as L
import reference.lenet as LN
import reference.more_layers as ML
import reference.optimizer as O
import reference.util as U
import torch_impl.transfer as TR

from .. import cells as CE
from .. import configs as CF
from .. import matrix as MX
from .. import opinfo as OI
from .. import records as REC
from . import judge_bugs as JB
from . import layer_bugs as LB
from . import other_bugs as OB
from .planting import all_of, around, around_everywhere, patched, patched_everywhere

__all__ = ["Bug", "GROUPS", "CATALOG", "bug_by_name"]

GROUPS = ("im2col", "conv", "pool", "activation", "affine", "loss", "dropout", "lrn", "lenet",
          "optimizer", "transfer", "subtle", "harness", "judges")


@dataclass(frozen=True)
class Bug:
    """One bug of the zoo.

    name    short, unique (``cnn-parity bugs --bug NAME``)
    group   one of :data:`GROUPS`
    where   the function or method the plant changes
    models  what the bug is and where people make it
    plant   ``plant()`` returns a context manager that plants the bug for its duration
    checks  what must catch it: "parity", "optimizer", "lockstep", "selfcheck", "judges"
    reaches the parity cases that reach the changed code (layer or net names), for fast tests
    """

    name: str
    group: str
    where: str
    models: str
    plant: Callable
    checks: tuple = ("parity",)
    reaches: tuple = ()


def _bug(name, group, where, models, plant, checks=("parity",), reaches=()):
    return Bug(name, group, where, models, plant, tuple(checks), tuple(reaches))


_OPT = ("optimizer", "lockstep")
_JUDGES = ("judges",)

CATALOG: list[Bug] = [
    # im2col / col2im / unfold / fold, output size, padding
    _bug("im2col_channels_last", "im2col", "reference.util.im2col",
         "im2col columns in (FH, FW, C) order, the patch layout of TensorFlow's extract_patches, "
         "while W.reshape(FN, -1) is (C, FH, FW): a port from NHWC code",
         lambda: patched_everywhere(U, "im2col", LB.im2col_channels_last), reaches=("Convolution", "Pooling")),
    _bug("col2im_assigns", "im2col", "reference.util.col2im",
         "col2im writes each window with = instead of +=: where windows overlap (stride < kernel) "
         "only the last window's gradient survives",
         lambda: patched_everywhere(U, "col2im", LB.col2im_assigning), reaches=("Convolution", "Pooling")),
    _bug("unfold_window_transposed", "im2col", "reference.fast.unfold",
         "each window unrolled column by column (Fortran / MATLAB order) while the kernel is "
         "unrolled row by row: the kernel acts transposed",
         lambda: patched_everywhere(F, "unfold", LB.unfold_window_transposed), reaches=("Convolution",)),
    _bug("fold_assigns", "im2col", "reference.fast.fold",
         "fold (the fast path's col2im) assigns overlapping windows instead of adding them",
         lambda: patched_everywhere(F, "fold", LB.fold_assigning), reaches=("Convolution",)),
    _bug("output_size_ceil", "im2col", "reference.util.conv_output_size",
         "OH = ceil((H + 2P − FH)/S) + 1 instead of floor: an off-by-one on inputs the stride does "
         "not divide (Caffe's pooling rounds up)",
         lambda: patched_everywhere(U, "conv_output_size", LB.output_size_ceil), reaches=("Convolution", "SimpleConvNet")),
    _bug("padding_bottom_right", "im2col", "reference.fast.pad_images",
         "all 2P rows and columns of padding put at the bottom/right, as TensorFlow's 'SAME' does "
         "for an odd total, here for every total",
         lambda: patched_everywhere(F, "pad_images", LB.pad_bottom_right), reaches=("Convolution", "Pooling")),
    # Convolution
    _bug("conv_bias_ignored", "conv", "reference.layers.Convolution.forward",
         "the bias never added (forgotten after a refactor to the batched product)",
         lambda: around(L.Convolution, "forward", LB.conv_no_bias), reaches=("Convolution",)),
    _bug("conv_kernel_flipped", "conv", "reference.layers.Convolution.forward",
         "a true convolution (kernel flipped, as in scipy.signal.convolve2d / the maths textbook) "
         "where every framework computes a cross-correlation",
         lambda: around(L.Convolution, "forward", LB.conv_flipped), reaches=("Convolution",)),
    _bug("conv_dW_averaged", "conv", "reference.layers.Convolution.backward_params",
         "dW averaged over the batch instead of summed (the 1/N belongs to the loss only)",
         lambda: around(L.Convolution, "backward_params", LB.conv_dw_mean), reaches=("Convolution",)),
    _bug("conv_db_averaged", "conv", "reference.layers.Convolution.backward_params",
         "db averaged over N·OH·OW positions instead of summed",
         lambda: around(L.Convolution, "backward_params", LB.conv_db_mean), reaches=("Convolution",)),
    _bug("conv_blocked_last_block", "conv", "reference.layers.Convolution.backward_params",
         "the large-input path (a few images at a time) keeps only its last block's dW "
         "(dW = … where dW += … was meant): invisible on small inputs",
         LB.conv_last_block_only, reaches=("Convolution",)),
    _bug("conv_float32_in_float64", "conv", "reference.layers.Convolution.forward",
         "a float32 input computed and returned in float64, as the book's np.zeros(...) does: "
         "silent type promotion",
         lambda: around(L.Convolution, "forward", LB.conv_float64), reaches=("Convolution",)),
    # Pooling
    _bug("maxpool_zero_padding", "pool", "reference.layers.Pooling.forward (pad_value)",
         "max pooling padded with 0 instead of −inf, as the book does: a window of negative "
         "numbers at the border returns 0",
         lambda: all_of(patched(F, "pad_images", LB.pad_with_zero), patched(L, "im2col", LB.pad_with_zero)),
         reaches=("Pooling",)),
    _bug("maxpool_ties_last", "pool", "reference.fast._running_max",
         "ties sent to the last maximum of the window (>= instead of >) where torch takes the "
         "first: after a ReLU many windows are all-zero ties",
         lambda: around(F, "_running_max", LB.ties_to_last), reaches=("Pooling",)),
    _bug("maxpool_nan_dropped", "pool", "reference.fast._running_max",
         "NaN not propagated (np.fmax / np.nanmax semantics): a diverged activation is hidden",
         lambda: around(F, "_running_max", LB.nan_dropped), reaches=("Pooling",)),
    _bug("avgpool_exclude_pad_ignored", "pool", "reference.more_layers.AvgPooling.forward",
         "count_include_pad=False ignored: border windows divided by FH·FW, not by their real pixels",
         lambda: around(ML.AvgPooling, "forward", LB.avg_divisor(True)), reaches=("AvgPooling",)),
    _bug("avgpool_include_pad_ignored", "pool", "reference.more_layers.AvgPooling.forward",
         "count_include_pad=True (torch's default) ignored: border windows divided by their real pixels",
         lambda: around(ML.AvgPooling, "forward", LB.avg_divisor(False)), reaches=("AvgPooling",)),
    _bug("avgpool_backward_undivided", "pool", "reference.more_layers.AvgPooling.backward",
         "the backward pass copies dout to every pixel of the window without dividing by the divisor",
         lambda: around(ML.AvgPooling, "backward", LB.avg_backward_undivided), reaches=("AvgPooling",)),
    # activations
    _bug("relu_grad_at_zero", "activation", "reference.layers.Relu.forward (mask)",
         "ReLU's gradient passed where x == 0 exactly (mask x < 0 instead of x <= 0); torch's is 0 there",
         lambda: around(L.Relu, "forward", LB.relu_passes_zero), reaches=("Relu",)),
    _bug("sigmoid_tanh_derivative", "activation", "reference.layers.Sigmoid.backward",
         "the sigmoid's derivative written as 1 − y² (tanh's) instead of y·(1 − y)",
         lambda: patched(L.Sigmoid, "backward", LB.sigmoid_tanh_derivative), reaches=("Sigmoid", "LeNet5")),
    # Affine
    _bug("affine_flatten_nhwc", "affine", "reference.layers.Affine.forward",
         "the feature maps flattened in (H, W, C) order, as in a model ported from TensorFlow/Keras",
         lambda: around(L.Affine, "forward", LB.affine_nhwc), reaches=("Affine", "SimpleConvNet")),
    _bug("affine_dW_transposed", "affine", "reference.layers.Affine.backward",
         "dW computed with torch's formula dout.T @ x, i.e. in the (out, in) layout, for the book's (in, out) W",
         lambda: around(L.Affine, "backward", LB.affine_dw_transposed), reaches=("Affine",)),
    # loss
    _bug("softmax_book_eps", "loss", "reference.layers.SoftmaxWithLoss.forward",
         "the book's cross-entropy log(y + 1e-7) everywhere instead of log-softmax",
         lambda: around(L.SoftmaxWithLoss, "forward", LB.softmax_book_eps), reaches=("SoftmaxWithLoss",)),
    _bug("softmax_grad_not_divided", "loss", "reference.layers.SoftmaxWithLoss.backward",
         "the gradient y − t not divided by the batch size N while the loss is a mean",
         lambda: around(L.SoftmaxWithLoss, "backward", LB.softmax_grad_times_n), reaches=("SoftmaxWithLoss",)),
    _bug("softmax_no_max_shift", "loss", "reference.layers.SoftmaxWithLoss.forward",
         "log-sum-exp without subtracting the row maximum: exp() overflows for large scores",
         lambda: around(L.SoftmaxWithLoss, "forward", LB.softmax_no_shift), reaches=("SoftmaxWithLoss",)),
    # dropout
    _bug("dropout_not_inverted", "dropout", "reference.layers.Dropout.forward",
         "the book's dropout (no 1/(1 − p) in training, × (1 − p) at inference) against torch's inverted one",
         lambda: around(L.Dropout, "forward", LB.dropout_not_inverted), reaches=("Dropout", "AlexNet")),
    _bug("dropout_eval_scaled", "dropout", "reference.layers.Dropout.forward / backward",
         "inverted dropout that also multiplies by (1 − p) at inference: the book's rule mixed into torch's",
         LB.dropout_eval_scaled, reaches=("Dropout",)),
    # LRN
    _bug("lrn_alpha_not_divided", "lrn", "reference.more_layers.LRN._alpha_eff",
         "α not divided by the window size in torch's convention (the paper's formula for torch's α)",
         lambda: patched(ML.LRN, "_alpha_eff", lambda orig: lambda self: self.alpha), reaches=("LRN",)),
    _bug("lrn_backward_not_mirrored", "lrn", "reference.more_layers.LRN.backward",
         "the backward pass sums over the forward window instead of the mirrored one: wrong for an even size",
         lambda: around(ML.LRN, "backward", LB.lrn_forward_window_in_backward), reaches=("LRN",)),
    # LeNet
    _bug("c3_unconnected_gradient", "lenet", "reference.lenet.PartialConvolution.backward_params",
         "LeNet-5's C3 table applied in forward only: unconnected weights get gradient and "
         "drift away from 0 in training",
         lambda: patched(LN.PartialConvolution, "backward_params",
                         lambda orig: lambda self, dout: L.Convolution.backward_params(self, dout)),
         reaches=("LeNet5",)),
    # optimizers
    _bug("lr_rounded_to_float32", "optimizer", "reference.optimizer.Optimizer.update",
         "lr rounded to float32 for every dtype (torch rounds it to the parameter's dtype): "
         "float64 runs drift by ~1e-8 of each step",
         lambda: around(O.Optimizer, "update", OB.lr_float32), _OPT),
    _bug("sgd_rounding_unlike_torch", "optimizer", "reference.optimizer.SGD._update",
         "p − lr·g rounded twice where torch's kernel rounds once (fma), or the reverse",
         lambda: around(O.SGD, "_update", OB.sgd_other_rounding), _OPT),
    _bug("momentum_state_lost", "optimizer", "reference.optimizer.Momentum._update",
         "the momentum buffer lost at every step (state kept in a local variable): plain SGD",
         lambda: around(O.Momentum, "_update", OB.momentum_forgets), _OPT),
    _bug("momentum_dampened", "optimizer", "reference.optimizer.Momentum._update",
         "v ← μ·v + (1 − μ)·g, an exponential average (dampening = μ), for torch's v ← μ·v + g",
         lambda: around(O.Momentum, "_update", OB.momentum_dampened), _OPT),
    _bug("adagrad_eps_inside_sqrt", "optimizer", "reference.optimizer.AdaGrad._update",
         "eps inside the square root, √(h + eps), instead of √h + eps",
         lambda: patched(O.AdaGrad, "_update", OB.adagrad_eps_inside), _OPT),
    _bug("adam_eps_uncorrected", "optimizer", "reference.optimizer.Adam._update",
         "eps added to the uncorrected √v (the book's and the paper's Algorithm 1 placement) "
         "instead of the bias-corrected √v̂",
         lambda: patched(O.Adam, "_update", OB.adam_variant(eps_uncorrected=True)), _OPT),
    _bug("adam_no_bias_correction", "optimizer", "reference.optimizer.Adam._update",
         "no bias correction: the first steps are ~10× too short",
         lambda: patched(O.Adam, "_update", OB.adam_variant(bias_correction=False)), _OPT),
    _bug("adam_beta1_for_beta2", "optimizer", "reference.optimizer.Adam._update",
         "beta1 used where beta2 belongs (a copy-paste slip)",
         lambda: around(O.Adam, "_update", OB.adam_beta1_for_beta2), _OPT),
    # weight transfer
    _bug("transfer_linear_reshaped", "transfer", "torch_impl.transfer._from_book",
         "a Linear weight reshaped to (out, in) instead of transposed: same shape, scrambled values",
         lambda: patched(TR, "_from_book", OB.linear_reshaped), reaches=("Affine", "SimpleConvNet")),
    _bug("transfer_bias_swapped", "transfer", "torch_impl.transfer._get_mapping",
         "two biases of the same width mapped to each other's layer (a hand-written name map); "
         "invisible to the shape checks",
         lambda: around(TR, "_get_mapping", OB.bias_swapped), reaches=("AlexNet",)),
    # subtle
    _bug("conv_dW_off_1e-4", "subtle", "reference.layers.Convolution.backward_params",
         "dW off by a relative 1e-4 (a wrong constant, a float32 accumulator in a float64 path)",
         lambda: around(L.Convolution, "backward_params", LB.scaled_dW(1 + 1e-4)), reaches=("Convolution",)),
    _bug("conv_dW_off_1e-7", "subtle", "reference.layers.Convolution.backward_params",
         "dW off by a relative 1e-7: float32 rounding where float64 was promised",
         lambda: around(L.Convolution, "backward_params", LB.scaled_dW(1 + 1e-7)), reaches=("Convolution",)),
    # the harness itself
    _bug("compare_blind_to_nonfinite", "harness", "reports.parity.records.compare",
         "the checker replaces NaN/inf by 0 before comparing, so NaN or inf in different "
         "positions pass (a common np.nan_to_num 'fix' for noisy warnings)",
         lambda: patched_everywhere(REC, "compare", OB.compare_blind), ("selfcheck",)),
    _bug("tolerances_1000x_loose", "harness", "reports.parity.records.reduction_tolerance",
         "every tolerance 1000× too loose (a factor written as 16e3 for 16)",
         lambda: patched_everywhere(REC, "reduction_tolerance", OB.tolerance_1000x), ("selfcheck",)),
    _bug("relative_error_wrong_array", "harness", "reports.parity.records.compare",
         "the relative error divided by max|ref| (the array under test) instead of max|torch|: "
         "every max_rel and headroom in the report is off",
         lambda: patched_everywhere(REC, "compare", OB.relative_to_ref), ("selfcheck",)),
    _bug("verdict_ignores_shape", "harness", "reports.parity.records.compare",
         "arrays of different shapes broadcast or reshaped to fit before comparing, as np.allclose "
         "does: a transposed result with the same values passes",
         lambda: patched_everywhere(REC, "compare", OB.shape_blind), ("selfcheck",)),
    # the judges: the configuration matrix, its registry and cells, the OpInfo corpus's counting
    _bug("oracle_own_float64_draws", "judges", "reports.parity.matrix._oracle_layer",
         "the float64 oracle of a float32 run built from its own float64 draws of the weights instead of the "
         "run's float32 weights upcast: an error of float32's rounding, inside every tolerance",
         lambda: patched(MX, "_oracle_layer", JB.oracle_own_draws), _JUDGES),
    _bug("oracle_not_upcast", "judges", "reports.parity.matrix._up",
         "the oracle's inputs not upcast (astype(float64) taken for a no-op): a float32 run's oracle of a "
         "layer without parameters rounds in float32 as the run does",
         lambda: patched(MX, "_up", JB.not_upcast), _JUDGES),
    _bug("eager_tolerance_max", "judges", "reports.parity.matrix.eager_tolerance",
         "against eager, the larger of the two tolerances instead of their sum: two runs each within its own "
         "tolerance of the oracle may differ by the sum, so correct runs 'differ from eager'",
         lambda: patched(MX, "eager_tolerance", JB.eager_tolerance_max), _JUDGES),
    _bug("worse_scale_inverted", "judges", "reports.parity.matrix.judge_verdict",
         "eager's error scaled by eps_eager/eps_config instead of eps_config/eps_eager: a bfloat16 run is held "
         "to float32 eager's error divided by 2^16",
         lambda: patched_everywhere(MX, "judge_verdict", JB.verdict_scale_inverted), _JUDGES),
    _bug("worse_without_floor", "judges", "reports.parity.matrix.judge_verdict",
         "'worse than eager' without the floor of 16·eps: where eager happens to be exact, one rounding makes "
         "a configuration 'worse'",
         lambda: around_everywhere(MX, "judge_verdict", JB.verdict_without_floor), _JUDGES),
    _bug("ratio_swapped", "judges", "reports.parity.matrix._ratio",
         "the ratio to eager with its arguments swapped: a configuration 40 times worse than eager shows 0.025",
         lambda: around(MX, "_ratio", JB.ratio_swapped), _JUDGES),
    _bug("determinism_against_itself", "judges", "reports.parity.matrix.determinism",
         "the determinism check given the first run twice: every configuration 'bit-identical'",
         lambda: around_everywhere(MX, "determinism", JB.determinism_of_itself), _JUDGES),
    _bug("repeat_from_cache", "judges", "reports.parity.matrix.run_case",
         "run_case memoised on (case, configuration, dtype, seed), the repeat included: the second run is "
         "the first, and non-determinism is never seen",
         lambda: around_everywhere(MX, "run_case", JB.run_case_memoised()), _JUDGES),
    _bug("failure_recorded_as_skipped", "judges", "reports.parity.matrix._status",
         "a configuration whose run raised recorded as skipped, as if it could not run here: a compile error "
         "disappears from the failures and the exit status",
         lambda: around(MX, "_status", JB.failure_as_skipped), _JUDGES),
    _bug("verdicts_reordered", "judges", "reports.parity.cells.VERDICT_ORDER",
         "'worse than eager' ranked after 'disagrees': a cell with a disagreeing quantity shows 'worse than "
         "eager', which does not fail the command",
         lambda: patched_everywhere(CE, "VERDICT_ORDER", lambda orig: JB.VERDICTS_REORDERED), _JUDGES),
    _bug("tf32_precision_forgotten", "judges", "reports.parity.configs.precision_of",
         "the precision a configuration computes in read from its autocast only: TF32 runs judged at "
         "float32's tolerance",
         lambda: patched_everywhere(CF, "precision_of", JB.precision_from_autocast), _JUDGES),
    _bug("eps_is_unit_roundoff", "judges", "reports.parity.records.Precision.eps",
         "eps taken as the unit roundoff 2^-p instead of 2^(1-p): every configuration's tolerance halved, "
         "no longer the rule of the other records",
         lambda: patched(REC.Precision, "eps", JB.eps_unit_roundoff), _JUDGES),
    _bug("baseline_in_config_precision", "judges", "reports.parity.configs.plan",
         "the baseline's precision taken from the configuration: an autocast run's eager tolerance and "
         "scale computed as if eager ran in bfloat16",
         lambda: patched_everywhere(CF, "plan", JB.baseline_in_config_precision), _JUDGES),
    _bug("corpus_not_run_agrees", "judges", "reports.parity.opinfo.SampleResult.agrees",
         "a sample the reference cannot express counted as agreeing (all() of no records is True)",
         lambda: patched(OI.SampleResult, "agrees", JB.agrees_without_running), _JUDGES),
    _bug("corpus_worst_over_passing", "judges", "reports.parity.opinfo.summarize",
         "the worst headroom taken over the passing comparisons only: an entry whose samples disagree "
         "shows a comfortable headroom",
         lambda: patched_everywhere(OI, "summarize", JB.worst_over_passing), _JUDGES),
    _bug("corpus_not_run_disagree", "judges", "reports.parity.opinfo.totals",
         "samples not run counted as disagreeing: cnn-parity opinfo exits 1 on a corpus that agrees "
         "wherever it runs",
         lambda: around(OI, "totals", JB.not_run_disagree), _JUDGES),
]


def bug_by_name(name: str) -> Bug:
    """The catalogued bug called ``name`` (KeyError naming the known ones otherwise)."""
    for bug in CATALOG:
        if bug.name == name:
            return bug
    raise KeyError(f"no bug {name!r} in the catalog; known: {', '.join(b.name for b in CATALOG)}")



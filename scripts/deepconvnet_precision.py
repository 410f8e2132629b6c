#!/usr/bin/env python
"""The book's DeepConvNet in half precision, measured: accuracy and agreement with float64.

    python scripts/deepconvnet_precision.py [--data-dir DIR] [--n N] [--variants a,b,...]

DIR holds the four original MNIST files (default: ``$CNN_PARITY_MNIST_DIR``, else the embedded
2,000-image test sample). Needs the book's weights (``../shared/book`` beside the repository or
``$CNN_PARITY_BOOK_DIR``). Prints the known answer (the book's weights through the reference and
the twin), the table of :func:`reports.mnist.precision.precision_study`, and the dtype of each
layer under autocast float16 (:func:`reports.mnist.precision.layer_dtypes`). See docs/deepconvnet.md.
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from reports.mnist.book import book_deep_convnet, book_dir, book_test_set, deep_convnet_answer
from reports.mnist.data import MnistDataError, describe_source, full_mnist_dir
from reports.mnist.precision import VARIANTS, format_precision, layer_dtypes, precision_study


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--data-dir", help="folder with the four MNIST files (default: $CNN_PARITY_MNIST_DIR, "
                                           "else the embedded sample)")
    parser.add_argument("--n", type=int, help="only the first N test images")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated (default: all)")
    args = parser.parse_args(argv)
    variants = [v.strip() for v in args.variants.split(",")]
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        print(f"deepconvnet_precision: unknown variants {unknown}; choose from {','.join(VARIANTS)}",
              file=sys.stderr)
        return 2
    if book_dir() is None:
        print("deepconvnet_precision: the book's weights are not found; set $CNN_PARITY_BOOK_DIR", file=sys.stderr)
        return 2
    data_dir = args.data_dir or full_mnist_dir()
    try:
        x, t = book_test_set(data_dir, args.n)
    except MnistDataError as exc:
        print(f"deepconvnet_precision: {exc}", file=sys.stderr)
        return 1
    print(f"{describe_source(data_dir)}; {len(x)} test images used")
    start = time.perf_counter()
    answer = deep_convnet_answer(x, t)
    print(f"book's weights: reference accuracy {answer.accuracy:.4f}, twin {answer.twin_accuracy:.4f}, "
          f"{answer.disagreements} predictions differ; scores: {answer.record.describe()}")
    print(format_precision(precision_study(x, t, variants, oracle=answer.scores)))
    _, twin32 = book_deep_convnet(dtype=np.float32)
    print("under autocast float16:", ", ".join(f"{n} {i}->{o}" for n, i, o in
                                               layer_dtypes(twin32, x[:2].astype(np.float32), "float16")))
    print(f"({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

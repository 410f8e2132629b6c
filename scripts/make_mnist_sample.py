#!/usr/bin/env python
"""Make the embedded MNIST sample in reports/mnist/sample/ from the four original MNIST files.

    python scripts/make_mnist_sample.py --source DIR --out reports/mnist/sample

DIR holds the original ``train-images-idx3-ubyte.gz``, ``train-labels-idx1-ubyte.gz``,
``t10k-images-idx3-ubyte.gz`` and ``t10k-labels-idx1-ubyte.gz``. The script

1. checks their md5s against torchvision's published list (``MNIST.resources``) and stops
   with a clear error if one differs;
2. takes the first 10,000 training and the first 2,000 test images and labels, in the original
   order, and writes them as IDX files (same magic numbers and dims, only the count changed)
   under the same four names, gzip level 6 (the originals' level) with mtime 0 and no file
   name in the gzip header, so that running it again gives byte-identical files;
3. checks the result with the loader's own structural checks and writes ``README.md``
   (what the sample is, how it was made, md5s, licence);
4. prints the md5s and says if ``SAMPLE_MD5`` in reports/mnist/data.py needs updating.

Byte-identical output needs the same zlib (the ``.gz`` md5s could differ with another deflate
implementation); the uncompressed md5s in the README do not depend on it.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import struct
import sys
from pathlib import Path

import numpy as np

# Run as a plain script from a checkout, the repository root is not on sys.path. Add it, so
# the sample is checked with the loader's own constants and checks instead of copies of them.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from reports.mnist import data as mnist  # noqa: E402

GZIP_LEVEL = 6


def first_items(path: Path, magic: int, count: int) -> bytes:
    """An IDX file holding the first ``count`` items of the IDX ``.gz`` file at ``path``.

    Reads (decompresses) only the needed prefix of the file.
    """
    with gzip.open(path, "rb") as f:
        found = int.from_bytes(f.read(4), "big")
        if found != magic:  # cannot happen after the md5 check; kept as a guard
            raise SystemExit(f"{path}: IDX magic {found}, expected {magic}")
        ndim = magic & 0xFF
        dims = struct.unpack(f">{ndim}I", f.read(4 * ndim))
        item_size = int(np.prod(dims[1:]))  # 784 for images, 1 for labels
        body = f.read(count * item_size)
    if dims[0] < count or len(body) != count * item_size:
        raise SystemExit(f"{path}: holds fewer than {count} items")
    return struct.pack(f">I{ndim}I", magic, count, *dims[1:]) + body


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def readme(rows, counts) -> str:
    """The text of reports/mnist/sample/README.md; it depends only on the sample's content."""
    table = "\n".join(
        f"| {name} | {n:,} | {gz_size:,} | {gz_md5} | {raw_size:,} | {raw_md5} |"
        for name, n, gz_size, gz_md5, raw_size, raw_md5 in rows)
    originals = "\n".join(f"| {name} | {md5_} |" for name, md5_ in mnist.ORIGINAL_MD5.items())
    return f"""# Embedded MNIST sample

A real subset of MNIST, shipped with the package so that `cnn-parity` and the test suite run
offline on a fresh machine. `reports.mnist.data.load_mnist()` (no `data_dir`) reads it.

- **What**: the first {mnist.SAMPLE_TRAIN:,} training images and labels and the first
  {mnist.SAMPLE_TEST:,} test images and labels of MNIST, in the original order, unchanged.
- **Format**: the original IDX format (magic 2051 for images, 2049 for labels, big-endian
  dims; only the item count differs from the originals), gzip-compressed, under the same four
  file names as the originals, so torchvision's `MNIST` class reads them.
- **Full MNIST** (60,000 / 10,000) is not shipped: pass `--data-dir DIR` (a folder with the
  four original files) or `--download`.

| file | items | .gz bytes | .gz md5 | uncompressed bytes | uncompressed md5 |
| --- | --- | --- | --- | --- | --- |
{table}

Labels per digit 0..9: train {counts['train']}, test {counts['test']}.

The loader checks the `.gz` md5s above (`SAMPLE_MD5` in `reports/mnist/data.py`; a test checks that
the constants match these files).

## How it was made

```
python scripts/make_mnist_sample.py --source DIR --out reports/mnist/sample
```

`DIR` holds the four original MNIST files; the script first checks their md5s against the ones
torchvision publishes (`torchvision.datasets.MNIST.resources`):

| original file | md5 |
| --- | --- |
{originals}

The originals used are byte-identical to the files yann.lecun.com/exdb/mnist served.
The sample files are written with gzip level {GZIP_LEVEL}, mtime 0 and no file name in the
header, so running the script again gives byte-identical files (with the same zlib; the
uncompressed md5s do not depend on it).

## Licence and attribution

The MNIST database is by Yann LeCun and Corinna Cortes (with Christopher J.C. Burges) and is
made available under the Creative Commons Attribution-Share Alike 3.0 license (CC BY-SA 3.0,
https://creativecommons.org/licenses/by-sa/3.0/). This sample is a subset of it and is
distributed under the same licence.
"""


def make_sample(source: Path, out: Path) -> dict[str, str]:
    """Write the four sample files and README.md into ``out``; return the ``.gz`` md5s."""
    mnist.verify_checksums(source, mnist.ORIGINAL_MD5)  # raises MnistDataError, naming the file
    out.mkdir(parents=True, exist_ok=True)
    counts = {"train": mnist.SAMPLE_TRAIN, "test": mnist.SAMPLE_TEST}
    rows, label_counts, gz_md5 = [], {}, {}
    for split, (images_name, labels_name) in mnist.SPLITS.items():
        for name, magic in ((images_name, mnist.IMAGE_MAGIC), (labels_name, mnist.LABEL_MAGIC)):
            idx = first_items(source / name, magic, counts[split])
            gz = gzip.compress(idx, compresslevel=GZIP_LEVEL, mtime=0)
            (out / name).write_bytes(gz)
            gz_md5[name] = md5(gz)
            rows.append((name, counts[split], len(gz), gz_md5[name], len(idx), md5(idx)))
            if magic == mnist.LABEL_MAGIC:
                labels = np.frombuffer(idx, np.uint8, offset=8)
                label_counts[split] = np.bincount(labels, minlength=10).tolist()
    # The loader's own checks (gzip stream, IDX headers, sizes, counts) on what was written.
    mnist.validate_mnist_folder(out, expected_md5=None)
    (out / "README.md").write_text(readme(rows, label_counts), encoding="utf-8")
    return gz_md5


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, required=True,
                        help="folder with the four original MNIST .gz files")
    parser.add_argument("--out", type=Path, default=Path("reports/mnist/sample"),
                        help="output folder (default: reports/mnist/sample)")
    args = parser.parse_args(argv)
    try:
        gz_md5 = make_sample(args.source, args.out)
    except mnist.MnistDataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for name, value in gz_md5.items():
        print(f"{value}  {args.out / name}")
    if gz_md5 != mnist.SAMPLE_MD5:
        print("note: these md5s differ from SAMPLE_MD5 in reports/mnist/data.py; update the constants "
              "if this is the shipped sample.", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

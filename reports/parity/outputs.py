"""Saved outputs: the torch results a report compared, as a bundle beside its CSV files.

``cnn-parity report`` writes ``outputs.json`` into its folder (``cnn-parity parity --csv FILE``
writes ``FILE``'s name with ``.outputs.json``); with ``--save-arrays`` also ``outputs.npz``.
``cnn-parity diff`` reads them to say whether two reports' torch results are bit-identical and,
when both hold the arrays, how far apart they are.

``outputs.json`` (the manifest)::

    {"format": "cnn-parity outputs 1",
     "hash": "sha256 of the array's bytes in C order (little-endian); dtype and shape beside it",
     "arrays": "outputs.npz" or null,
     "environment": {"torch": "2.14.1+cu130", ...},        # environment.csv's keys and values
     "columns": ["group", "case_id", "configuration", "compared_with", "dtype", "quantity",
                 "array_dtype", "shape", "sha256"],
     "outputs": [["layer", "Convolution[N=2 ...]", "", "", "float32", "dx",
                  "float32", [2, 3, 9, 7], "5f1c..."], ...]}

One row per comparison of the report's CSV files whose torch result went through
``reports.parity.records.compare`` (the six key columns are
``reports.parity.records.OUTPUT_KEY_FIELDS``, the identity ``cnn-parity diff`` matches on;
``dtype`` is the comparison's, ``array_dtype`` the saved result's). ``outputs.npz`` holds each
distinct array once, named by its SHA-256 (NumPy's ``.npz``: ``numpy.load(path)[sha256]``).

Numpy and the standard library only: the bundle is read without torch.
"""
from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .records import OUTPUT_KEY_FIELDS, OutputRecorder, output_key, record_key

__all__ = ["FORMAT", "MANIFEST", "ARRAYS", "COLUMNS", "Bundle", "BundleError", "bundle_names",
           "write_bundle", "read_bundle"]

FORMAT = "cnn-parity outputs 1"
#: The bundle's file names in a report folder.
MANIFEST, ARRAYS = "outputs.json", "outputs.npz"
COLUMNS = list(OUTPUT_KEY_FIELDS) + ["array_dtype", "shape", "sha256"]
HASH_TEXT = "sha256 of the array's bytes in C order (little-endian); dtype and shape beside it"


class BundleError(Exception):
    """A manifest that cannot be read; the message is one line naming the file and why."""


def bundle_names(stem: str = "outputs") -> tuple[str, str]:
    """(manifest, arrays) file names: ``outputs.json``/``outputs.npz`` in a report folder,
    ``parity.outputs.json``/``parity.outputs.npz`` beside ``parity --csv parity.csv``."""
    return (MANIFEST, ARRAYS) if stem == "outputs" else (f"{stem}.{MANIFEST}", f"{stem}.{ARRAYS}")


def write_bundle(folder, records, recorder: OutputRecorder, environment, *, stem: str = "outputs") -> list[str]:
    """Write the manifest (and, when ``recorder`` kept arrays, the arrays) of ``records`` — each
    record the recorder saved a torch result for, first of each key — into ``folder``; returns
    the names written."""
    folder = Path(folder)
    manifest_name, arrays_name = bundle_names(stem)
    rows, arrays, seen = [], {}, set()
    for r in records:
        saved = recorder.get(r)
        key = record_key(r)
        if saved is None or key in seen:
            continue
        seen.add(key)
        rows.append(list(key) + [saved.dtype, list(saved.shape), saved.sha256])
        if saved.array is not None:
            arrays[saved.sha256] = saved.array
    names = []
    if recorder.arrays:
        with zipfile.ZipFile(folder / arrays_name, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
            for sha, array in arrays.items():        # numpy.savez's layout, written one array at a time
                with zf.open(f"{sha}.npy", "w", force_zip64=True) as f:
                    np.lib.format.write_array(f, np.asarray(array), allow_pickle=False)
        names.append(arrays_name)
    manifest = {"format": FORMAT, "hash": HASH_TEXT, "arrays": arrays_name if recorder.arrays else None,
                "environment": {str(k): str(v) for k, v in environment}, "columns": COLUMNS, "outputs": rows}
    (folder / manifest_name).write_text(json.dumps(manifest, ensure_ascii=False, separators=(",", ":")) + "\n",
                                        encoding="utf-8")
    return [manifest_name] + names


@dataclass
class Bundle:
    """A manifest read back: ``entries`` key -> (array_dtype, shape, sha256); ``arrays`` the path
    of the .npz (None when the arrays were not saved)."""

    path: Path
    environment: dict
    entries: dict
    arrays: Path | None = None
    _npz: object = field(default=None, repr=False)

    def array(self, sha256: str) -> np.ndarray | None:
        """The saved array with this hash (None without arrays)."""
        if self.arrays is None:
            return None
        if self._npz is None:
            self._npz = np.load(self.arrays, allow_pickle=False)
        return self._npz[sha256] if sha256 in self._npz.files else None


def read_bundle(path) -> Bundle:
    """Read a manifest written by :func:`write_bundle` (:class:`BundleError`: one line why not)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise BundleError(f"{path} cannot be read ({type(exc).__name__})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BundleError(f"{path} is not a cnn-parity outputs manifest (format {FORMAT!r})")
    cols = data.get("columns")
    if cols != COLUMNS:
        raise BundleError(f"{path}: unexpected columns {cols!r}")
    entries = {}
    try:
        for row in data["outputs"]:
            entries[output_key(*row[:6])] = (str(row[6]), tuple(int(n) for n in row[7]), str(row[8]))
    except (KeyError, TypeError, ValueError, IndexError):
        raise BundleError(f"{path}: a row of 'outputs' is not {COLUMNS}") from None
    arrays = data.get("arrays")
    arrays = path.parent / arrays if isinstance(arrays, str) else None
    if arrays is not None and not arrays.is_file():
        raise BundleError(f"{path} names {arrays.name}, which is missing")
    env = data.get("environment") if isinstance(data.get("environment"), dict) else {}
    return Bundle(path, {str(k): str(v) for k, v in env.items()}, entries, arrays)

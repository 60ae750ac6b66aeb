"""A compiled one-pass scanner for the SSI Broadcast envelope ``{"DataType": "...", "Content": "<json string>"}``.

The scanner reads the raw ``payload`` bytes in place, from the Arrow buffer of the column (no Python object per
frame, blocks of frames on every core) and, for every frame of the plain shape the feed sends (docs/analytics.md
§1), finds the DataType and the escaped Content span. ``transforms.content`` decodes those spans in place; for
the frames it declines, a second pass copies the Content, unescaped, into one newline-separated buffer that
Polars' NDJSON reader decodes in a single call.

It only says yes when it is sure: any frame that is not exactly ``{"DataType":"<text>","Content":"<text>"}``
(spaces allowed between tokens, keys in this order, no other key, DataType one of the known channels spelled as
on the wire, Content using no escape other than ``\\"``, ``\\\\`` and ``\\/``, no control byte) is reported as
*not handled*, and ``transforms.parse`` decodes it with the general path, which also says why it is bad. The
fast path therefore never changes which frames are quarantined nor why (tests/test_parse.py,
tests/test_equivalence.py).

Compiled with numba (``cache=True``: the first call in a fresh environment compiles for ~1-2 s).
"""

from __future__ import annotations

import numpy as np
import polars as pl
from numba import njit, prange

__all__ = ["Scan", "gather_content", "scan_envelopes", "split_content"]

_SPACE = 32
_QUOTE = 34
_BACKSLASH = 92
_SLASH = 47
_COMMA = 44
_COLON = 58
_LBRACE = 123
_RBRACE = 125
_DATATYPE = np.frombuffer(b'"DataType"', dtype=np.uint8)
_CONTENT = np.frombuffer(b'"Content"', dtype=np.uint8)


@njit(cache=True, inline="always")
def skip_spaces(data, p, e):
    """The first position at or after ``p`` (before ``e``) that is not a space (uint8 ``data``; compiled)."""
    while p < e and data[p] == _SPACE:
        p += 1
    return p


@njit(cache=True, inline="always")
def _lit(data, p, e, lit):
    n = lit.shape[0]
    if p + n > e:
        return -1
    for k in range(n):
        if data[p + k] != lit[k]:
            return -1
    return p + n


@njit(cache=True, inline="always")
def span_equals_row(data, start, table, k, n):
    """True when the ``n`` bytes of ``data`` from ``start`` equal the first ``n`` bytes of row ``k`` of ``table``
    (uint8 arrays; a table of names padded per row). Shared by the scanner and ``transforms.content``."""
    for j in range(n):
        if data[start + j] != table[k, j]:
            return False
    return True


@njit(cache=True, inline="always")
def _key_open(data, p, e, key):
    """``<key> : "`` from ``p`` (spaces allowed around the colon): the position after the opening quote, or -1."""
    p = _lit(data, p, e, key)
    if p < 0:
        return -1
    p = skip_spaces(data, p, e)
    if p >= e or data[p] != _COLON:
        return -1
    p = skip_spaces(data, p + 1, e)
    if p >= e or data[p] != _QUOTE:
        return -1
    return p + 1


_SERIAL_MAX = 8192  # up to this many frames (one block of the parallel kernel) the serial kernel runs


@njit(cache=True, inline="always")
def _scan_outputs(n):  # pragma: no cover - compiled
    """The scanner's per-frame outputs before the scan: code -1 (not handled), content span and length 0."""
    return np.full(n, -1, np.int8), np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n, np.int64)


@njit(cache=True, parallel=True)
def _scan(offsets, data, valid, names, name_lens, datatype, content):  # pragma: no cover - compiled
    n = offsets.shape[0] - 1
    code, cs, ce, ulen = _scan_outputs(n)
    step = 8192  # a literal: numba freezes a global at compile time
    for c in prange((n + step - 1) // step):  # frames are independent: blocks of them on every core
        _scan_rows(c * step, min(n, (c + 1) * step), offsets, data, valid, names, name_lens, datatype, content,
                   code, cs, ce, ulen)
    return code, cs, ce, ulen


@njit(cache=True)
def _scan_serial(offsets, data, valid, names, name_lens, datatype, content):  # pragma: no cover - compiled
    """``_scan`` without the parallel region, for at most one block of frames (same rows, same results)."""
    n = offsets.shape[0] - 1
    code, cs, ce, ulen = _scan_outputs(n)
    _scan_rows(0, n, offsets, data, valid, names, name_lens, datatype, content, code, cs, ce, ulen)
    return code, cs, ce, ulen


@njit(cache=True)
def _scan_rows(lo, hi, offsets, data, valid, names, name_lens, datatype, content, code, cs, ce,
               ulen):  # pragma: no cover - compiled
    for i in range(lo, hi):
        if not valid[i]:
            continue
        p = offsets[i]
        e = offsets[i + 1]
        p = skip_spaces(data, p, e)
        if p >= e or data[p] != _LBRACE:
            continue
        p = _key_open(data, skip_spaces(data, p + 1, e), e, datatype)
        if p < 0:
            continue
        ds = p
        while p < e and data[p] != _QUOTE and data[p] != _BACKSLASH and data[p] >= 32:
            p += 1
        if p >= e or data[p] != _QUOTE:
            continue
        de = p
        p = skip_spaces(data, p + 1, e)
        if p >= e or data[p] != _COMMA:
            continue
        p = _key_open(data, skip_spaces(data, p + 1, e), e, content)
        if p < 0:
            continue
        s = p
        length = 0
        ok = False
        while p < e:
            b = data[p]
            if b == _QUOTE:
                ok = True
                break
            if b < 32:
                break
            if b == _BACKSLASH:
                if p + 1 >= e:
                    break
                c = data[p + 1]
                if c != _QUOTE and c != _BACKSLASH and c != _SLASH:
                    break
                p += 2
            else:
                p += 1
            length += 1
        if not ok:
            continue
        stop = p
        p = skip_spaces(data, p + 1, e)
        if p >= e or data[p] != _RBRACE:
            continue
        p = skip_spaces(data, p + 1, e)
        if p != e:
            continue
        # DataType spelled exactly as one of the channels?
        found = -1
        for k in range(names.shape[0]):
            m = name_lens[k]
            if m != de - ds:
                continue
            if span_equals_row(data, ds, names, k, m):
                found = k
                break
        if found < 0:
            continue
        code[i] = found
        cs[i] = s
        ce[i] = stop
        ulen[i] = length


@njit(cache=True)
def _gather(data, cs, ce, ulen, idx):  # pragma: no cover - compiled
    total = 0
    for k in range(idx.shape[0]):
        total += ulen[idx[k]] + 1
    out = np.empty(total, np.uint8)
    q = 0
    nan = False
    for k in range(idx.shape[0]):
        i = idx[k]
        p = cs[i]
        e = ce[i]
        while p < e:
            b = data[p]
            if b == _BACKSLASH:
                p += 1
                b = data[p]
            elif b == 78 and p + 2 < e and data[p + 1] == 97 and data[p + 2] == 78:  # "NaN"
                nan = True
            out[q] = b
            q += 1
            p += 1
        out[q] = 10
        q += 1
    return out, nan


class Scan:
    """Result of ``scan_envelopes``: per frame the channel index (-1: not handled) and its Content span."""

    def __init__(self, data: np.ndarray, code: np.ndarray, cs: np.ndarray, ce: np.ndarray, ulen: np.ndarray):
        self.data, self.code, self.cs, self.ce, self.ulen = data, code, cs, ce, ulen


def _arrow_buffers(payload: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """Offsets (Int64, n + 1, absolute) and bytes (UInt8) of the payloads as numpy views of one Arrow array.

    Polars' ``to_arrow`` writes the payloads once into a contiguous ``large_string`` array (no Python object, no
    further copy; the array object is only read through the buffer protocol); the views keep that array alive.
    """
    arr = payload.rechunk().to_arrow(compat_level=pl.CompatLevel.oldest())  # one chunk: a large_string Array
    _, off_buf, data_buf = arr.buffers()
    if off_buf is None or len(arr) == 0:
        return np.zeros(1, np.int64), np.zeros(0, np.uint8)
    offsets = np.frombuffer(off_buf, dtype=np.int64)[arr.offset : arr.offset + len(arr) + 1]
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    return offsets, data


def scan_envelopes(payload: pl.Series, channels: list[str]) -> Scan:
    """Scan every frame's Broadcast argument once.

    Parameters
    ----------
    payload : String Series of the raw ``payload`` (the Broadcast argument verbatim; nulls allowed).
    channels : the DataType values to recognise, spelled as on the wire (``transforms.schemas.PARSED`` keys).

    Returns
    -------
    ``Scan`` with ``code`` (Int8 per frame: index into ``channels``, -1 where the frame must take the general
    path) and the escaped Content span of each handled frame. Never raises on data.
    """
    offsets, data = _arrow_buffers(payload)
    valid = payload.is_not_null().to_numpy()
    width = max((len(c) for c in channels), default=1)
    names = np.zeros((len(channels), width), np.uint8)
    lens = np.zeros(len(channels), np.int64)
    for k, c in enumerate(channels):
        b = c.encode()
        names[k, : len(b)] = np.frombuffer(b, np.uint8)
        lens[k] = len(b)
    # One block or less (a live micro-batch): no parallel region. Entering one costs little on an idle machine,
    # but on busy cores its threads wait for each other (and for Polars' pool), ~10 ms per call measured.
    scan = _scan_serial if offsets.shape[0] - 1 <= _SERIAL_MAX else _scan
    code, cs, ce, ulen = scan(offsets, data, valid, names, lens, _DATATYPE, _CONTENT)
    return Scan(data, code, cs, ce, ulen)


def gather_content(scan: Scan, idx: np.ndarray) -> tuple[bytes, bool]:
    """Unescaped Content of the frames ``idx`` (positions of handled frames, in the wanted order).

    Returns
    -------
    (buffer, has_nan): ``buffer`` is every Content followed by ``\\n`` (ready for ``pl.read_ndjson``; a Content
    the scanner accepted holds no raw line break); ``has_nan`` whether the text ``NaN`` occurs anywhere (then the
    caller rewrites NaN before decoding, docs/analytics.md §1).
    """
    out, nan = _gather(scan.data, scan.cs, scan.ce, scan.ulen, idx.astype(np.int64, copy=False))
    return out.tobytes(), bool(nan)


def split_content(buffer: bytes) -> pl.Series:
    """The texts of a ``gather_content`` buffer as a String Series ``_content``, one value per frame."""
    if not buffer:
        return pl.Series("_content", [], dtype=pl.String)
    joined = pl.Series("_content", [buffer], dtype=pl.Binary).cast(pl.String).str.strip_suffix("\n")
    return joined.str.split("\n").explode().rename("_content")

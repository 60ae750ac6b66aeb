"""A compiled one-pass scanner for the SSI Broadcast envelope ``{"DataType": "...", "Content": "<json string>"}``.

The scanner reads the raw ``payload`` bytes straight from their Arrow buffers (no Python object per frame) and,
for every frame of the plain shape the feed sends (ssi-wire.md §1.3 in docs/analytics.md §1), finds the DataType
and the escaped Content span; a second pass copies the Content of a chosen set of frames, unescaped, into one
newline-separated buffer that Polars' NDJSON reader decodes in a single call.

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
import pyarrow as pa
from numba import njit

__all__ = ["Scan", "scan_envelopes", "gather_content"]

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
def _ws(data, p, e):
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


@njit(cache=True)
def _scan(offsets, data, valid, names, name_lens, datatype, content):  # pragma: no cover - compiled
    n = offsets.shape[0] - 1
    code = np.full(n, -1, np.int8)
    cs = np.zeros(n, np.int64)
    ce = np.zeros(n, np.int64)
    ulen = np.zeros(n, np.int64)
    for i in range(n):
        if not valid[i]:
            continue
        p = offsets[i]
        e = offsets[i + 1]
        p = _ws(data, p, e)
        if p >= e or data[p] != _LBRACE:
            continue
        p = _lit(data, _ws(data, p + 1, e), e, datatype)
        if p < 0:
            continue
        p = _ws(data, p, e)
        if p >= e or data[p] != _COLON:
            continue
        p = _ws(data, p + 1, e)
        if p >= e or data[p] != _QUOTE:
            continue
        p += 1
        ds = p
        while p < e and data[p] != _QUOTE and data[p] != _BACKSLASH and data[p] >= 32:
            p += 1
        if p >= e or data[p] != _QUOTE:
            continue
        de = p
        p = _ws(data, p + 1, e)
        if p >= e or data[p] != _COMMA:
            continue
        p = _lit(data, _ws(data, p + 1, e), e, content)
        if p < 0:
            continue
        p = _ws(data, p, e)
        if p >= e or data[p] != _COLON:
            continue
        p = _ws(data, p + 1, e)
        if p >= e or data[p] != _QUOTE:
            continue
        p += 1
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
        p = _ws(data, p + 1, e)
        if p >= e or data[p] != _RBRACE:
            continue
        p = _ws(data, p + 1, e)
        if p != e:
            continue
        # DataType spelled exactly as one of the channels?
        found = -1
        for k in range(names.shape[0]):
            m = name_lens[k]
            if m != de - ds:
                continue
            same = True
            for j in range(m):
                if data[ds + j] != names[k, j]:
                    same = False
                    break
            if same:
                found = k
                break
        if found < 0:
            continue
        code[i] = found
        cs[i] = s
        ce[i] = stop
        ulen[i] = length
    return code, cs, ce, ulen


@njit(cache=True)
def _gather(data, cs, ce, ulen, idx):  # pragma: no cover - compiled
    total = 0
    for k in range(idx.shape[0]):
        total += ulen[idx[k]] + 1
    out = np.empty(total, np.uint8)
    offs = np.empty(idx.shape[0] + 1, np.int64)
    offs[0] = 0
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
        offs[k + 1] = q
    return out, offs, nan


class Scan:
    """Result of ``scan_envelopes``: per frame the channel index (-1: not handled) and its Content span."""

    def __init__(self, data: np.ndarray, code: np.ndarray, cs: np.ndarray, ce: np.ndarray, ulen: np.ndarray):
        self.data, self.code, self.cs, self.ce, self.ulen = data, code, cs, ce, ulen


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
    arr = payload.to_arrow(compat_level=pl.CompatLevel.oldest())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    arr = arr.cast(pa.large_string())
    n = len(arr)
    _, obuf, dbuf = arr.buffers()
    offsets = np.frombuffer(obuf, dtype=np.int64)[arr.offset : arr.offset + n + 1]
    data = np.frombuffer(dbuf, dtype=np.uint8) if dbuf is not None else np.zeros(0, np.uint8)
    valid = arr.is_valid().to_numpy(zero_copy_only=False)
    width = max((len(c) for c in channels), default=1)
    names = np.zeros((len(channels), width), np.uint8)
    lens = np.zeros(len(channels), np.int64)
    for k, c in enumerate(channels):
        b = c.encode()
        names[k, : len(b)] = np.frombuffer(b, np.uint8)
        lens[k] = len(b)
    code, cs, ce, ulen = _scan(offsets, data, valid, names, lens, _DATATYPE, _CONTENT)
    return Scan(data, code, cs, ce, ulen)


def gather_content(scan: Scan, idx: np.ndarray) -> tuple[bytes, pl.Series, bool]:
    """Unescaped Content of the frames ``idx`` (positions of handled frames, in the wanted order).

    Returns
    -------
    (buffer, texts, has_nan): ``buffer`` is every Content followed by ``\\n`` (ready for ``pl.read_ndjson``);
    ``texts`` the same as a String Series, one value per frame, each ending in ``\\n``; ``has_nan`` whether the
    text ``NaN`` occurs anywhere (then the caller rewrites NaN before decoding, ssi-wire.md §2.3).
    """
    out, offs, nan = _gather(scan.data, scan.cs, scan.ce, scan.ulen, idx.astype(np.int64, copy=False))
    buf = out.tobytes()
    arr = pa.LargeStringArray.from_buffers(len(idx), pa.py_buffer(offs), pa.py_buffer(buf))
    return buf, pl.Series("_content", arr, dtype=pl.String), bool(nan)

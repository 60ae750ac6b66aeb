"""A compiled decoder for the Content of plain frames: the wanted wire fields straight into typed columns.

It reads each frame's Content where ``transforms.envelope`` found it (still escaped inside the payload: the
scanner admits only ``\\"``, ``\\\\`` and ``\\/``, undone byte by byte here), so no text is copied and no JSON
reader runs for the frames it accepts. Like the scanner it only says yes when it is sure; a frame is *declined*
(and decoded by the exact path, ``transforms.parse``, which also says why a frame is bad) unless its Content is a
flat JSON object in which

* every key is a plain string (no escape) and no wanted field occurs twice;
* a numeric field's value is a JSON number or ``null``; a text field's value is a string without escape or ``null``;
* any other key's value is a number, a string without escape, ``true``, ``false`` or ``null`` (no object, array);
* the text ``NaN`` occurs nowhere (the exact path rewrites it, docs/ssi-wire.md §2.3); only spaces between tokens.

Numbers follow the JSON grammar exactly (no leading zero, no ``+``, digits on both sides of ``.``). A number of at
most 15 significant digits with a decimal exponent within ±22 is computed exactly-rounded in the compiled code
(one IEEE multiplication or division of two exact doubles: Clinger's fast path); a longer one (for instance
``11.099999999999909``) is handed as text to Polars' correctly rounded String -> Float64 cast. Either way the
value is the double nearest to the decimal, which is what the NDJSON reader returns (tests/test_content.py
compares the two paths on real, simulated and mutated frames).
"""

from __future__ import annotations

import numpy as np
import polars as pl
from numba import njit, prange

from transforms.envelope import skip_spaces, span_equals_row

__all__ = ["decode_contents"]

_QUOTE = 34
_BACKSLASH = 92
_COMMA = 44
_COLON = 58
_LBRACE = 123
_RBRACE = 125
_MINUS = 45
_DOT = 46
_CHUNK = 262_144  # frames per compiled call: bounds the per-field scratch arrays of a full-market day

_POW10 = np.array([10.0**k for k in range(23)])


@njit(cache=True, inline="always")
def _at(data, p):
    """The Content byte at raw position ``p`` (an escaped byte stands for the next one)."""
    b = data[p]
    if b == _BACKSLASH:
        return data[p + 1]
    return b


@njit(cache=True, inline="always")
def _next(data, p):
    if data[p] == _BACKSLASH:
        return p + 2
    return p + 1


@njit(cache=True, inline="always")
def _word(data, p, e, w0, w1, w2, w3, n):
    """After the literal ``null``/``true``/``false`` (first byte already matched): the position, or -1."""
    if p + n > e:
        return -1
    if data[p + 1] != w1 or data[p + 2] != w2 or data[p + 3] != w3:
        return -1
    if n == 5 and data[p + 4] != 101:  # fals-e
        return -1
    return p + n


@njit(cache=True)
def _string_end(data, p, e):
    """From after an opening quote: the position of the closing quote, or -1 (escape, NaN, or no end)."""
    while p < e:
        b = _at(data, p)
        if b == _QUOTE:
            return p
        if b == _BACKSLASH:
            return -1
        if b == 78 and p + 2 < e and data[p + 1] == 97 and data[p + 2] == 78:  # NaN
            return -1
        p = _next(data, p)
    return -1


@njit(cache=True)
def _number(data, p, e, out):
    """A JSON number from ``p``: its end position (or -1 if not a JSON number). ``out[0]`` gets the value when it
    is exactly representable by the fast path, else ``out[1] = 1`` (the caller parses the text)."""
    neg = False
    if p < e and data[p] == _MINUS:
        neg = True
        p += 1
    if p >= e:
        return -1
    b = data[p]
    if b < 48 or b > 57:
        return -1
    mant = 0
    digits = 0  # significant digits kept in mant
    exp = 0
    if b == 48:
        p += 1
        if p < e and 48 <= data[p] <= 57:
            return -1  # leading zero
    else:
        while p < e and 48 <= data[p] <= 57:
            if digits < 19:
                mant = mant * 10 + (data[p] - 48)
                digits += 1
            else:
                exp += 1
                digits += 1
            p += 1
    frac_or_exp = p < e and (data[p] == _DOT or data[p] == 101 or data[p] == 69)
    if p < e and data[p] == _DOT:
        p += 1
        if p >= e or data[p] < 48 or data[p] > 57:
            return -1
        while p < e and 48 <= data[p] <= 57:
            d = data[p] - 48
            if mant == 0 and d == 0:
                exp -= 1  # a leading zero of the fraction: no significant digit yet
            elif digits < 19:
                mant = mant * 10 + d
                digits += 1
                exp -= 1
            else:
                digits += 1
            p += 1
    if p < e and (data[p] == 101 or data[p] == 69):  # e E
        p += 1
        eneg = False
        if p < e and (data[p] == 43 or data[p] == _MINUS):
            eneg = data[p] == _MINUS
            p += 1
        if p >= e or data[p] < 48 or data[p] > 57:
            return -1
        ev = 0
        while p < e and 48 <= data[p] <= 57:
            if ev < 100000:
                ev = ev * 10 + (data[p] - 48)
            p += 1
        exp += -ev if eneg else ev
    if mant == 0:
        out[0] = -0.0 if neg and frac_or_exp else 0.0  # the reader reads an integer literal -0 as 0
    elif digits <= 15 and -22 <= exp <= 22:
        v = float(mant)
        v = v * _POW10[exp] if exp >= 0 else v / _POW10[-exp]
        out[0] = -v if neg else v
    else:
        out[1] = 1.0
    return p


_SMALL_TEXTS = 2048  # up to this many text fields (frames x fields) _text_columns splits them in Python
_SERIAL_MAX = 4096  # up to this many frames (one block of the parallel kernel) the serial kernel runs


@njit(cache=True)
def _outputs(n, n_num, n_str):  # pragma: no cover - compiled
    # row-major: one frame's fields are written side by side
    num = np.empty((n, n_num), np.float64)
    num_state = np.zeros((n, n_num), np.int8)  # 0 null/absent, 1 value in num, 2 long number (text in nstart/nend)
    nstart = np.empty((n, n_num), np.int64)
    nend = np.empty((n, n_num), np.int64)
    sstart = np.empty((n, n_str), np.int64)
    send = np.full((n, n_str), -1, np.int64)  # -1: null/absent
    ok = np.zeros(n, np.bool_)
    return ok, num, num_state, nstart, nend, sstart, send


@njit(cache=True, parallel=True)
def _decode(data, cs, ce, idx, keys, key_lens, is_num, num_slot, str_slot, n_num, n_str):  # pragma: no cover
    n = idx.shape[0]
    ok, num, num_state, nstart, nend, sstart, send = _outputs(n, n_num, n_str)
    step = 4096  # a literal: numba freezes a global at compile time
    for c in prange((n + step - 1) // step):  # frames are independent: blocks of them on every core
        _decode_rows(c * step, min(n, (c + 1) * step), data, cs, ce, idx, keys, key_lens, is_num, num_slot,
                     str_slot, num, num_state, nstart, nend, sstart, send, ok)
    return ok, num, num_state, nstart, nend, sstart, send


@njit(cache=True)
def _decode_serial(data, cs, ce, idx, keys, key_lens, is_num, num_slot, str_slot, n_num,
                   n_str):  # pragma: no cover - compiled
    """``_decode`` without the parallel region, for at most one block of frames (same rows, same results)."""
    n = idx.shape[0]
    ok, num, num_state, nstart, nend, sstart, send = _outputs(n, n_num, n_str)
    _decode_rows(0, n, data, cs, ce, idx, keys, key_lens, is_num, num_slot, str_slot, num, num_state, nstart,
                 nend, sstart, send, ok)
    return ok, num, num_state, nstart, nend, sstart, send


@njit(cache=True)
def _decode_rows(lo, hi, data, cs, ce, idx, keys, key_lens, is_num, num_slot, str_slot, num, num_state, nstart,
                 nend, sstart, send, ok):  # pragma: no cover - compiled
    nf = keys.shape[0]
    seen = np.zeros(nf, np.bool_)
    tmp = np.zeros(2, np.float64)
    for r in range(lo, hi):
        i = idx[r]
        p = cs[i]
        e = ce[i]
        seen[:] = False
        good = False
        p = skip_spaces(data, p, e)
        if p >= e or _at(data, p) != _LBRACE:
            continue
        p = skip_spaces(data, _next(data, p), e)
        if p < e and _at(data, p) == _RBRACE:
            p = skip_spaces(data, _next(data, p), e)
            ok[r] = p == e
            continue
        hint = 0
        while True:
            # key
            if p >= e or _at(data, p) != _QUOTE:
                break
            ks = _next(data, p)
            kend = _string_end(data, ks, e)
            if kend < 0:
                break
            # which wanted field? try the one after the last match first (the feed keeps its key order)
            f = -1
            klen = kend - ks
            for t in range(nf):
                k = hint + t
                if k >= nf:
                    k -= nf
                if key_lens[k] != klen:
                    continue
                if span_equals_row(data, ks, keys, k, klen):
                    f = k
                    break
            p = skip_spaces(data, _next(data, kend), e)
            if p >= e or _at(data, p) != _COLON:
                break
            p = skip_spaces(data, _next(data, p), e)
            if p >= e:
                break
            if f >= 0:
                if seen[f]:
                    break
                seen[f] = True
                hint = f + 1
            b = _at(data, p)
            if b == _QUOTE:
                vs = _next(data, p)
                vend = _string_end(data, vs, e)
                if vend < 0:
                    break
                if f >= 0:
                    if is_num[f]:
                        break
                    sstart[r, str_slot[f]] = vs
                    send[r, str_slot[f]] = vend
                p = _next(data, vend)
            elif b == 110:  # null
                p = _word(data, p, e, 110, 117, 108, 108, 4)
                if p < 0:
                    break
            elif b == 116 or b == 102:  # true false
                if f >= 0:
                    break
                p = _word(data, p, e, 116, 114, 117, 101, 4) if b == 116 else _word(data, p, e, 102, 97, 108, 115, 5)
                if p < 0:
                    break
            else:
                tmp[1] = 0.0
                vs = p
                p = _number(data, p, e, tmp)
                if p < 0:
                    break
                if f < 0 and tmp[1] != 0.0:
                    break  # a long number under another key: the reader may refuse it (beyond the doubles)
                if f >= 0:
                    if not is_num[f]:
                        break
                    s = num_slot[f]
                    if tmp[1] == 0.0:
                        num[r, s] = tmp[0]
                        num_state[r, s] = 1
                    else:
                        num_state[r, s] = 2
                        nstart[r, s] = vs
                        nend[r, s] = p
            p = skip_spaces(data, p, e)
            if p >= e:
                break
            b = _at(data, p)
            p = skip_spaces(data, _next(data, p), e)
            if b == _RBRACE:
                good = p == e
                break
            if b != _COMMA:
                break
        ok[r] = good


@njit(cache=True)
def _texts(data, starts, ends, rows):  # pragma: no cover - compiled
    """The (unescaped) texts of spans ``[starts, ends)`` of ``rows``, each followed by a line break (a span's raw
    bytes may hold the envelope's ``\\/``; a Content the scanner accepted holds no raw control byte)."""
    total = 0
    for k in range(rows.shape[0]):
        total += ends[rows[k]] - starts[rows[k]] + 1
    buf = np.empty(total, np.uint8)
    q = 0
    for k in range(rows.shape[0]):
        r = rows[k]
        p = starts[r]
        while p < ends[r]:
            buf[q] = _at(data, p)
            q += 1
            p = _next(data, p)
        buf[q] = 10
        q += 1
    return buf[:q]


@njit(cache=True)
def _field_texts(data, starts, ends, rows):  # pragma: no cover - compiled
    """Every text field of ``rows`` field by field (``ends == -1``: null, written as an empty text), each text
    followed by a line break: one buffer for one split. Filled frame by frame (each Content read once)."""
    nfield = starts.shape[1]
    size = np.zeros(nfield + 1, np.int64)
    for k in range(rows.shape[0]):
        r = rows[k]
        for s in range(nfield):
            size[s + 1] += 1
            if ends[r, s] >= 0:
                size[s + 1] += ends[r, s] - starts[r, s]  # an upper bound: the span may hold escapes
    pos = np.cumsum(size)[:nfield]
    buf = np.empty(size.sum(), np.uint8)
    for k in range(rows.shape[0]):
        r = rows[k]
        for s in range(nfield):
            q = pos[s]
            if ends[r, s] >= 0:
                p = starts[r, s]
                while p < ends[r, s]:
                    buf[q] = _at(data, p)
                    q += 1
                    p = _next(data, p)
            buf[q] = 10
            pos[s] = q + 1
    # close the gaps an escape left at the end of each field's part
    out = np.empty(size.sum(), np.uint8)
    q = 0
    base = 0
    for s in range(nfield):
        m = pos[s] - base
        out[q : q + m] = buf[base : base + m]
        q += m
        base += size[s + 1]
    return out[:q]


def _text_columns(data: np.ndarray, starts: np.ndarray, ends: np.ndarray, rows: np.ndarray, names: list[str]):
    """The text fields (columns of ``starts``/``ends``) of ``rows`` as String Series named ``names``."""
    m = rows.size
    if not names or m == 0:
        return [pl.Series(w, [], dtype=pl.String) for w in names]
    buf = _field_texts(data, starts, ends, rows)
    null = ends[rows] < 0
    if m * len(names) <= _SMALL_TEXTS:  # a micro-batch: split in Python, no Polars query at all
        texts = buf[:-1].tobytes().decode().split("\n")
        return [pl.Series(w, [None if null[k, s] else texts[s * m + k] for k in range(m)], dtype=pl.String)
                for s, w in enumerate(names)]
    # a span lies between two ASCII quotes of valid UTF-8, so each piece is valid UTF-8 too
    values = pl.Series("v", [buf[:-1].tobytes()], dtype=pl.Binary).cast(pl.String).str.split("\n").explode()
    if null.any():  # null every null field in one pass over all of them (field-major, like ``values``)
        present = pl.Series(np.ascontiguousarray(~null.T).ravel())
        values = pl.select(pl.when(pl.lit(present)).then(pl.lit(values))).to_series()
    return [values.slice(s * m, m).rename(w) for s, w in enumerate(names)]


def _strings(data: np.ndarray, starts: np.ndarray, ends: np.ndarray, name: str) -> pl.Series:
    """A String Series from escaped spans (``ends == -1``: null)."""
    n = ends.shape[0]
    present = np.flatnonzero(ends >= 0)
    if present.size == 0:
        return pl.repeat(None, n, dtype=pl.String, eager=True).rename(name)
    buf = _texts(data, starts, ends, present)
    # a span lies between two ASCII quotes of valid UTF-8, so each piece is valid UTF-8 too
    values = pl.Series(name, [buf[:-1].tobytes()], dtype=pl.Binary).cast(pl.String).str.split("\n").explode()
    if present.size == n:
        return values.rename(name)
    return pl.repeat(None, n, dtype=pl.String, eager=True).scatter(present, values).rename(name)


def decode_contents(
    data: np.ndarray, cs: np.ndarray, ce: np.ndarray, idx: np.ndarray, wire_types: dict[str, pl.DataType]
) -> tuple[pl.DataFrame, np.ndarray]:
    """Decode the Content of frames ``idx`` (positions into the envelope scan) into the wire columns.

    Parameters
    ----------
    data, cs, ce : the payload bytes and each frame's escaped Content span (``transforms.envelope.Scan``).
    idx : Int64 positions of the frames to decode, in the wanted row order.
    wire_types : wire field -> Float64 or String (the NDJSON decode schema of the channel).

    Returns
    -------
    (table, declined): ``table`` has one row per accepted frame (in ``idx`` order) and one column per wire field
    (Float64 or String, null where the field is null or absent), exactly what ``pl.read_ndjson`` with that schema
    returns for those Contents; ``declined`` the Boolean mask over ``idx`` of the frames left to the exact path.
    Never raises on data. Raises ValueError for a field type other than Float64 or String.
    """
    names = list(wire_types)
    if any(t not in (pl.Float64, pl.String) for t in wire_types.values()):
        raise ValueError("decode_contents: only Float64 and String fields")
    width = max((len(w.encode()) for w in names), default=1)
    keys = np.zeros((len(names), width), np.uint8)
    key_lens = np.zeros(len(names), np.int64)
    is_num = np.zeros(len(names), np.bool_)
    num_slot = np.full(len(names), -1, np.int64)
    str_slot = np.full(len(names), -1, np.int64)
    for k, w in enumerate(names):
        b = w.encode()
        keys[k, : len(b)] = np.frombuffer(b, np.uint8)
        key_lens[k] = len(b)
        is_num[k] = wire_types[w] == pl.Float64
        if is_num[k]:
            num_slot[k] = int(is_num[:k].sum())
        else:
            str_slot[k] = k - int(is_num[:k].sum())
    n_num, n_str = int(is_num.sum()), len(names) - int(is_num.sum())
    idx = idx.astype(np.int64, copy=False)
    parts, declined = [], []
    for start in range(0, max(idx.size, 1), _CHUNK):
        part = idx[start : start + _CHUNK]
        # One block or less (a live micro-batch): no parallel region. Entering one costs little on an idle
        # machine, but on busy cores its threads wait for each other (and for Polars' pool), ~10 ms per call.
        decode = _decode_serial if part.size <= _SERIAL_MAX else _decode
        ok, num, state, nstart, nend, sstart, send = decode(
            data, cs, ce, part, keys, key_lens, is_num, num_slot, str_slot, n_num, n_str
        )
        rows = np.flatnonzero(ok)
        refused = np.zeros(rows.size, np.bool_)
        whole = rows.size == ok.size  # the usual case: no row selection, views of the columns
        texts = iter(_text_columns(data, sstart, send, rows, [w for k, w in enumerate(names) if not is_num[k]]))
        cols = []
        for k, w in enumerate(names):
            if is_num[k]:
                s = num_slot[k]
                st = state[:, s] if whole else state[rows, s]
                values = np.ascontiguousarray(num[:, s]) if whole else num[rows, s]
                values[st != 1] = np.nan  # a decoded number is never NaN (declined): NaN marks null here
                col = pl.Series(w, values, nan_to_null=True)
                long_rows = np.flatnonzero(st == 2)
                if long_rows.size:
                    value = _strings(data, nstart[rows[long_rows], s], nend[rows[long_rows], s], w).cast(pl.Float64)
                    col = col.scatter(long_rows, value)
                    overflow = value.is_infinite().to_numpy()  # the reader refuses a number beyond the doubles
                    if overflow.any():
                        refused[long_rows[overflow]] = True
                cols.append(col)
            else:
                cols.append(next(texts))
        table = pl.DataFrame(cols) if cols else pl.DataFrame(height=rows.size)
        if refused.any():
            ok[rows[refused]] = False
            table = table.filter(pl.Series(~refused))
        declined.append(~ok)
        parts.append(table)
    table = pl.concat(parts, how="vertical") if len(parts) > 1 else parts[0]
    return table, np.concatenate(declined)[: idx.size] if idx.size else np.zeros(0, np.bool_)

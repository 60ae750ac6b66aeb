"""The SSI Broadcast argument as on the wire (docs/ssi-wire.md §1.3): ``{"DataType": ..., "Content": "<json>"}``.

Content is itself a JSON *string*, so a payload is JSON inside JSON. Used wherever the project writes frames
(importers, benchmarks, tests); capture never parses Content (docs/architecture.md §3).
"""

from __future__ import annotations

import json

_COMPACT = (",", ":")


def broadcast_argument(data_type: str, content: dict | str) -> str:
    """Render one Broadcast argument exactly as SSI sends it: compact separators, Content as a JSON string.

    Parameters
    ----------
    data_type : the channel, e.g. ``"X-TRADE"``.
    content : the Content object (keys in wire order), or an already-serialised Content string (kept as is).

    Examples
    --------
    >>> broadcast_argument("B", {"RType": "B", "Close": 21750.0})
    '{"DataType":"B","Content":"{\\\\"RType\\\\":\\\\"B\\\\",\\\\"Close\\\\":21750.0}"}'
    """
    inner = content if isinstance(content, str) else json.dumps(content, separators=_COMPACT)
    return json.dumps({"DataType": data_type, "Content": inner}, separators=_COMPACT)

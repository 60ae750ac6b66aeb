"""The report's "Classification algorithms" section: the day's classification-accuracy ledger
(``transforms.classify``, table ``classification_ledger``, written by replay) per algorithm and per split.

Every algorithm is scored against the vendor's aggressor labels (SSI ``Side`` BU/SD, KBS ``match_type`` as
imported); docs/analysis.md "Classification" gives the rules, their sources and how to read the figures.
"""

from __future__ import annotations

from reports.inputs import Input, Runner
from reports.layout import Col, Section, fmt_num, fmt_share, text_col
from transforms.classify import ALGORITHMS

#: One row per algorithm over all labelled trades, with its 60 s bar-level volume accuracy beside it.
LEDGER_OVERALL = """
SELECT a.algorithm, a.trades, a.classified, a.accuracy, a.accuracy_classified, a.volume_accuracy,
       b.accuracy AS bar_accuracy
FROM classification_ledger AS a
LEFT JOIN classification_ledger AS b ON b.algorithm = a.algorithm AND b.split = 'bars'
WHERE a.split = 'all'
ORDER BY list_position($algorithms, a.algorithm)
"""

#: Accuracy per split and bucket, one column per algorithm.
LEDGER_BY_BUCKET = "SELECT split, bucket, max(trades) AS trades, " + ", ".join(
    f"max(accuracy) FILTER (WHERE algorithm = '{a}') AS {a}" for a in ALGORITHMS) + """
FROM classification_ledger
WHERE split IN ('phase', 'tick', 'size')
GROUP BY split, bucket
ORDER BY list_position(['phase', 'tick', 'size'], split),
         list_position(['ato', 'continuous', 'atc', 'uptick', 'downtick', 'zero', 'first', 'small', 'medium',
                        'large'], bucket)
"""


def classification(q: Runner, inputs: dict[str, Input]) -> Section:
    """The section; says why when the day has no ledger or no labelled trade."""
    s = Section("classification", "Classification algorithms (thuật toán phân loại lệnh chủ động)")
    if s.absent(inputs["classification_ledger"], "No classification ledger (no trade with a vendor label, or the "
                                                  "day was not replayed)"):
        return s
    s.note("Each algorithm is applied to every trade that carries the vendor's aggressor label and scored against "
           "it. Accuracy counts unclassified trades as wrong; 'of classified' leaves them out; volume accuracy "
           "weighs trades by shares; bar accuracy is the 60 s bar-level volume measure BVC is judged by. Without "
           "quotes (KBS ticks) every quote-based rule falls back to the tick test and the midpoint rule abstains.")
    s.table("Accuracy per algorithm (all labelled trades)", q(LEDGER_OVERALL, algorithms=list(ALGORITHMS)), [
        text_col("algorithm", "Algorithm"), Col("trades", "Labelled trades", fmt_num),
        Col("classified", "Classified", fmt_num), Col("accuracy", "Accuracy", fmt_share),
        Col("accuracy_classified", "Of classified", fmt_share), Col("volume_accuracy", "Volume accuracy", fmt_share),
        Col("bar_accuracy", "Bar accuracy (60 s)", fmt_share),
    ])
    s.table("Accuracy by phase, tick direction and trade size (shares < 1,000 small, < 10,000 medium)",
            q(LEDGER_BY_BUCKET), [text_col("split", "Split"), text_col("bucket", "Bucket"),
                                  Col("trades", "Trades", fmt_num),
                                  *[Col(a, a, fmt_share) for a in ALGORITHMS]])
    return s

"""Experiments (thử nghiệm): the classification-accuracy ledger of every algorithm, and what changed between two
experiments (``vntrack replay --experiment``, ``vntrack compare``; docs/analysis.md)."""

import polars as pl
import streamlit as st

from app import data
from app.ui.common import header, no_data

header("Experiments (Thử nghiệm)",
       "How each trade-classification algorithm scores against the vendor's aggressor labels, and what changes "
       "when the analytics are replayed under other parameters. Make an experiment with `vntrack replay --date D "
       "--params FILE --experiment NAME`.")

names = data.experiments()
ledger_tab, compare_tab = st.tabs(["Classification (phân loại lệnh)", "Compare (so sánh)"])

with ledger_tab:
    source = st.selectbox("Tables (bảng)", names, key="ledger_source")
    ledger = data.classification_ledger(source)
    if ledger.height == 0:
        no_data("No classification ledger: the lake is empty or no day has trades with vendor labels "
                "(import KBS ticks with `vntrack import`, then `vntrack replay --all`).")
    else:
        days = ledger.get_column("trading_date").drop_nulls().unique().sort().to_list()
        choice = st.selectbox("Day (ngày)", ["all days pooled", *days], key="ledger_day")
        rows = (ledger.filter(pl.col("trading_date").is_null()) if choice == "all days pooled"
                else ledger.filter(pl.col("trading_date") == choice))
        overall = rows.filter(pl.col("split") == "all").select(
            "algorithm", "trades", "classified", "accuracy", "accuracy_classified", "volume_accuracy").join(
            rows.filter(pl.col("split") == "bars").select("algorithm", pl.col("accuracy").alias("bar_accuracy")),
            on="algorithm", how="left", maintain_order="left")
        st.subheader("Accuracy per algorithm (độ chính xác)")
        st.dataframe(overall, hide_index=True, key="ledger_overall")
        st.caption("Accuracy counts unclassified trades as wrong; bar accuracy is the 60 s bar-level volume measure "
                   "bulk volume classification (bvc) is judged by. Without quotes (KBS ticks) the quote-based rules "
                   "fall back to the tick test.")
        st.subheader("By phase, tick direction and trade size")
        pivot = rows.filter(pl.col("split").is_in(["phase", "tick", "size"])).pivot(
            "algorithm", index=["split", "bucket"], values="accuracy")
        st.dataframe(pivot, hide_index=True, key="ledger_buckets")

with compare_tab:
    if len(names) < 2:
        no_data("No experiment yet: `vntrack replay --date D --params FILE --experiment NAME` makes one.")
    else:
        c1, c2, c3 = st.columns(3)
        a = c1.selectbox("A", names, index=0, key="cmp_a")
        b = c2.selectbox("B", names, index=len(names) - 1, key="cmp_b")
        common = sorted(set(data.experiment_days(a)) & set(data.experiment_days(b)))
        if not common:
            st.info(f"{a} and {b} have no day in common.")
        else:
            day = c3.selectbox("Day (ngày)", common, key="cmp_day")
            st.caption(f"{a}: code {data.experiment_manifest(a).get('code_version')} · "
                       f"{b}: code {data.experiment_manifest(b).get('code_version')}")
            for i, (title, sentence, df) in enumerate(data.comparison(a, b, day)):
                st.subheader(title)
                st.write(sentence)
                if df.height:
                    st.dataframe(df, hide_index=True, key=f"cmp_{i}")

"""The helpers on pandas, DuckDB, Polars and Spark over a year of a large organization.

The data is :func:`cfusage.sample.large_store`: 1,000 accounts x 100 metrics x 365 days =
36.5M daily records in a Hive-partitioned Parquet store (cfusage's store layout, generated under
benchmarks/out/ on the first run, about a minute). Five helpers:

- ``discounts(by="product", freq="MS")``;
- ``period_over_period(by="account")`` (months);
- ``price_volume_mix(base=<second to last month>, current=<last month>, by="product")``;
- ``budget_variance(budget=<500 per account per product and month>, by="product")``;
- ``anomalies(by="product")`` (days).

Each runs end to end (from the files on disk to the result in memory) on:

(a) **pandas**: the columns the helper reads, read from the store with pyarrow into a typed
    frame (ids dictionary-encoded, as the loader types them), then the helper. This is the
    lightest pandas path: ``Store(path).read()`` reads and sorts every column and needs about
    800 bytes of memory per row (2.9 GB at 3.65M rows, measured), far more than this machine
    has at 36.5M. The column sets are checked first: on a 5-account store, each helper gives the
    same figures from them as from ``Store(path).read()``.
(b) **DuckDB** over ``Store(path).scan("duckdb")`` (or ``read_parquet(glob,
    hive_partitioning=true)`` before ``Store.scan`` existed), on a UTC connection;
(c) **Polars** lazy over ``Store(path).scan("polars")`` (or ``pl.scan_parquet``);
(d) **Spark** ``local[2]`` over ``spark.read.parquet`` of a 100-account slice (3.65M rows: the
    first 100 accounts of the same organization), compared with pandas on the same slice.

Every (path, helper) runs in a fresh interpreter, so that measurements do not pollute each other.
Wall time: from before the read or scan to the result collected into pandas (imports and the
Spark session's start excluded; the session start is printed). Peak memory: the high-water mark
of the process's resident set (``VmHWM``), plus that of its descendants for Spark (the JVM),
read just before the process ends. A run that passes the memory cap (``CFUSAGE_BENCH_CAP_GB``,
default 14 GB: the machine is shared) is stopped; its time is then a lower bound, and so is the
speed-up over it. Every engine's result is compared with pandas': the same columns and rows in
the same order, the same NA pattern, numbers equal to 1e-9 (relative, or absolute near 0). A
helper without an engine path is reported as "pandas only, not measured".

Size: ``CFUSAGE_BENCH_ACCOUNTS`` (default 1,000; e.g. 50 to try it quickly);
``CFUSAGE_BENCH_SPARK=0`` leaves Spark out (it also is when Java is absent).
Run: ``python -m benchmarks engines``.
"""

from __future__ import annotations

import inspect
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from benchmarks._common import Target
from cfusage.sample._large import N_METRICS, large_store

HELPERS = ("discounts", "period_over_period", "price_volume_mix", "budget_variance", "anomalies")
ENGINES = ("duckdb", "polars")
SPARK_ACCOUNTS = 100
CHECK_ACCOUNTS = 5
TARGET_SPEEDUP = 5.0
TARGET_PEAK_GB = 2.0
TOLERANCE = 1e-9
BUDGET_PER_ACCOUNT = 500.0
TIMEOUT_S = 1800
GB = 1e9

_CONTEXT = [
    "charge_period_start",
    "charge_period_end",
    "billing_period_start",
    "billing_period_end",
    "charge_category",
    "charge_class",
    "billing_currency",
]
_PRICED = [
    "x_billable_metric_id",
    "consumed_quantity",
    "consumed_unit",
    "pricing_quantity",
    "pricing_unit",
    "list_unit_price",
    "contracted_unit_price",
]
#: The columns the pandas path reads for each helper (checked against ``Store.read()``).
COLUMNS = {
    "discounts": [
        *_CONTEXT,
        "x_product_family_name",
        *_PRICED,
        "list_cost",
        "contracted_cost",
        "effective_cost",
        "billed_cost",
    ],
    "period_over_period": [*_CONTEXT, "billing_account_name", "effective_cost"],
    "price_volume_mix": [*_CONTEXT, "x_product_family_name", *_PRICED, "effective_cost"],
    "budget_variance": [*_CONTEXT, "x_product_family_name", "effective_cost"],
    "anomalies": [*_CONTEXT, "x_product_family_name", *_PRICED, "list_cost", "effective_cost"],
}
_IDS = ["x_billable_metric_id", "billing_account_id", "x_product_family_id"]


# -- what is measured ---------------------------------------------------------------------------
def call(helper: str, store: Path, accounts: int) -> tuple[Any, dict[str, Any]]:
    """The helper function and its arguments for this store (the periods are its last months)."""
    import cfusage.analysis as ca

    months = sorted(p.name.removeprefix("month=") for p in store.glob("month=*"))
    kwargs: dict[str, dict[str, Any]] = {
        "discounts": {"by": "product", "freq": "MS"},
        "period_over_period": {"by": "account"},
        "price_volume_mix": {"base": months[-2], "current": months[-1], "by": "product"},
        "budget_variance": {"budget": BUDGET_PER_ACCOUNT * accounts, "by": "product"},
        "anomalies": {"by": "product"},
    }
    return getattr(ca, helper), kwargs[helper]


def describe_call(helper: str, store: Path, accounts: int) -> str:
    _, kwargs = call(helper, store, accounts)
    return f"{helper}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})"


def has_engine_path(helper: str) -> bool:
    """Whether the helper takes engine frames (its code branches on ``_engine.is_engine``)."""
    import cfusage.analysis as ca

    return "is_engine(" in inspect.getsource(getattr(ca, helper))


def pandas_frame(store: Path, columns: list[str]) -> Any:
    """The pandas path's read: ``columns`` of every partition, typed as the loader types them."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(
        store,
        columns=columns,
        read_dictionary=[c for c in _IDS if c in columns],
        partitioning="hive",
    )
    return table.to_pandas(
        types_mapper={pa.float64(): pd.Float64Dtype()}.get, self_destruct=True, split_blocks=True
    )


def _scan(kind: str, store: Path, session: Any) -> tuple[Any, str]:
    """The engine's lazy frame over the store, and how it was made."""
    from cfusage import Store

    if kind == "spark":
        return session.read.parquet(str(store / "month=*" / "part-0.parquet")), "spark.read.parquet"
    if hasattr(Store, "scan"):
        if kind == "duckdb":
            return Store(store).scan("duckdb", connection=session), "Store.scan"
        return Store(store).scan("polars"), "Store.scan"
    glob = str(store / "*" / "*.parquet")
    if kind == "duckdb":
        return session.read_parquet(glob, hive_partitioning=True), "read_parquet(glob)"
    import polars as pl

    return pl.scan_parquet(glob, hive_partitioning=True), "pl.scan_parquet(glob)"


def child(kind: str, helper: str, store: str, accounts: int, out: str) -> dict[str, Any]:
    """One measurement, in its own interpreter: read or scan, the helper, the result collected.

    Writes the collected result to ``out`` (Parquet) and returns the figures.
    """
    warnings.simplefilter("ignore")  # the helpers' "n rows have NA" warnings
    from tests.engines import collect

    path = Path(store)
    fn, kwargs = call(helper, path, accounts)
    session: Any = None
    started = 0.0
    if kind == "duckdb":
        import duckdb

        session = duckdb.connect()
        session.execute("SET TimeZone = 'UTC'")
        session.execute("SET enable_progress_bar = false")
    elif kind == "polars":
        import polars  # noqa: F401  (imported before the clock, as pandas is)
    elif kind == "spark":
        from tests.engines import spark_session

        t = time.perf_counter()
        session = spark_session()
        started = time.perf_counter() - t
    base = _status(os.getpid(), "VmRSS")
    t0 = time.perf_counter()
    if kind == "pandas":
        data, source = pandas_frame(path, COLUMNS[helper]), "pyarrow read"
    else:
        data, source = _scan(kind, path, session)
    frame = collect(fn(data, **kwargs))
    seconds = time.perf_counter() - t0
    peak = _status(os.getpid(), "VmHWM")
    others = sum(_status(p, "VmHWM") for p in _descendants(os.getpid()))
    frame.to_parquet(out)
    if kind == "spark":
        session.stop()
    return {
        "seconds": seconds,
        "peak": peak + others,
        "jvm_peak": others,
        "base": base,
        "source": source,
        "spark_start": started,
        "result_rows": len(frame),
    }


# -- measuring in a fresh process ------------------------------------------------------------------
def _status(pid: int, field: str) -> int:
    """A ``/proc/<pid>/status`` memory field in bytes (0 when the process is gone)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _descendants(pid: int) -> list[int]:
    """Every live process below ``pid`` (read from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def measure(kind: str, helper: str, store: Path, accounts: int, out: Path, cap: float) -> dict:
    """Run :func:`child` in a fresh interpreter, stopping it past ``cap`` bytes of memory."""
    code = (
        "import json, sys; from benchmarks.bench_engines import child; "
        "print(json.dumps(child(*json.loads(sys.argv[1]))))"
    )
    args = json.dumps([kind, helper, str(store), accounts, str(out)])
    root = Path(__file__).resolve().parent.parent
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as err, tempfile.TemporaryFile("w+") as stdout:
        proc = subprocess.Popen(
            [sys.executable, "-c", code, args],
            cwd=root,
            stdout=stdout,
            stderr=err,
            text=True,
            start_new_session=True,  # its own process group: the JVM is stopped with it
        )
        high, stopped = 0, None
        while proc.poll() is None:
            rss = sum(_status(p, "VmRSS") for p in [proc.pid, *_descendants(proc.pid)])
            high = max(high, rss)
            elapsed = time.perf_counter() - t0
            if rss > cap or elapsed > TIMEOUT_S:
                stopped = "memory" if rss > cap else "time"
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                break
            time.sleep(0.2)
        if stopped:
            return {"stopped": stopped, "seconds": time.perf_counter() - t0, "peak": high}
        if proc.returncode != 0:
            err.seek(0)
            lines = [ln for ln in err.read().strip().splitlines() if ln.strip()]
            return {"error": lines[-1] if lines else f"exit status {proc.returncode}"}
        stdout.seek(0)
        return json.loads(stdout.read().strip().splitlines()[-1])


# -- comparing ----------------------------------------------------------------------------------
def compare(got: Any, want: Any) -> tuple[bool, str]:
    """Whether two collected results are equal (``tests.engines.assert_same``'s rules), and the
    largest relative difference of their numbers (or what differs)."""
    import numpy as np

    if list(got.columns) != list(want.columns):
        return False, f"columns differ: {list(got.columns)} vs {list(want.columns)}"
    if len(got) != len(want):
        return False, f"{len(got)} rows vs {len(want)}"
    worst = 0.0
    for c in want.columns:
        g, w = got[c], want[c]
        if not (g.isna().to_numpy() == w.isna().to_numpy()).all():
            return False, f"NA pattern of {c} differs"
        known = w.notna().to_numpy()
        if str(w.dtype) == "Float64":
            a = g[known].to_numpy(dtype=float)
            b = w[known].to_numpy(dtype=float)
            if len(b):
                diff = np.abs(a - b)
                if not (diff <= TOLERANCE * np.maximum(np.abs(b), 1.0)).all():
                    i = int(np.argmax(diff - TOLERANCE * np.maximum(np.abs(b), 1.0)))
                    return False, f"{c} differs (row {i}: {a[i]!r} vs {b[i]!r})"
                worst = max(worst, float((diff / np.maximum(np.abs(b), 1.0)).max()))
        elif g[known].tolist() != w[known].tolist():
            return False, f"{c} differs"
    return True, f"equal (largest difference {worst:.0e})"


def check_columns(store: Path, accounts: int) -> list[str]:
    """Helpers whose result from :data:`COLUMNS` differs from their result on
    ``Store(store).read()`` (the whole typed frame); empty when every column set is enough."""
    from cfusage import Store
    from tests.engines import collect

    whole = Store(store).read()
    whole.attrs.clear()
    bad = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for helper in HELPERS:
            fn, kwargs = call(helper, store, accounts)
            ok, why = compare(
                collect(fn(pandas_frame(store, COLUMNS[helper]), **kwargs)),
                collect(fn(whole, **kwargs)),
            )
            if not ok:
                bad.append(f"{helper}: {why}")
    return bad


# -- the run ------------------------------------------------------------------------------------
def _gb(x: float) -> str:
    return f"{x / GB:.2f}"


def _figures(run: dict) -> tuple[str, str]:
    """Seconds and peak GB as printed ("> " when the run was stopped)."""
    if "error" in run:
        return "error", "-"
    if run.get("stopped"):
        return f"> {run['seconds']:.1f}", f"> {_gb(run['peak'])}"
    return f"{run['seconds']:.2f}", _gb(run["peak"])


def _speedup(ref: dict, run: dict) -> tuple[float | None, str]:
    """(a) time / engine time; a lower bound ("≥") when (a) was stopped."""
    if "error" in ref or "error" in run or run.get("stopped"):
        return None, "-"
    s = ref["seconds"] / run["seconds"]
    return s, (f">= {s:.1f}x" if ref.get("stopped") else f"{s:.1f}x")


def store_path(accounts: int) -> Path:
    """Where the benchmark keeps the store of ``accounts`` accounts (benchmarks/out/, ignored)."""
    return Path(__file__).resolve().parent / "out" / f"org_{accounts}a_{N_METRICS}m_365d_s0"


def main() -> list[Target]:
    accounts = int(os.environ.get("CFUSAGE_BENCH_ACCOUNTS", "1000"))
    cap = float(os.environ.get("CFUSAGE_BENCH_CAP_GB", "14")) * GB
    spark_accounts = min(SPARK_ACCOUNTS, accounts)
    spark = bool(shutil.which("java")) and os.environ.get("CFUSAGE_BENCH_SPARK", "1") != "0"
    t = time.perf_counter()
    full = large_store(store_path(accounts), accounts=accounts, quiet=False)
    part = large_store(store_path(spark_accounts), accounts=spark_accounts, quiet=False)
    check = large_store(store_path(CHECK_ACCOUNTS), accounts=CHECK_ACCOUNTS)
    rows = accounts * N_METRICS * 365
    part_rows = spark_accounts * N_METRICS * 365
    print(
        f"   store: {accounts:,} accounts x {N_METRICS} metrics x 365 days = {rows:,} rows "
        f"({sum(f.stat().st_size for f in full.glob('month=*/*.parquet')) / GB:.2f} GB of "
        f"Parquet, {full}); Spark slice: the first {spark_accounts} accounts = {part_rows:,} "
        f"rows; ready in {time.perf_counter() - t:.0f} s",
        flush=True,
    )
    bad = check_columns(check, CHECK_ACCOUNTS)
    print(
        "   pandas column sets against Store.read() on a 5-account store: "
        + ("the same figures" if not bad else "DIFFER: " + "; ".join(bad)),
        flush=True,
    )
    landed = {h: has_engine_path(h) for h in HELPERS}
    for helper in HELPERS:
        print(f"   {describe_call(helper, full, accounts)}", flush=True)
    import pandas as pd

    rows_of: list[tuple[str, ...]] = []
    speed: dict[str, list[tuple[float | None, str, str]]] = {e: [] for e in ENGINES}
    peaks: dict[str, list[tuple[float, str]]] = {e: [] for e in ENGINES}
    equal: list[tuple[str, bool, str, bool]] = []
    sources: set[str] = set()
    ref: dict[tuple[str, int], tuple[dict, Any]] = {}
    results: dict[tuple[str, str, int], Any] = {}

    def record(helper: str, kind: str, store: Path, n: int, tmp: str) -> None:
        out = Path(tmp) / f"{helper}-{kind}-{n}.parquet"
        run = measure(kind, helper, store, n, out, cap)
        sources.add(run.get("source", ""))
        secs, peak = _figures(run)
        size = f"{n * N_METRICS * 365 / 1e6:.2f}M"
        got = pd.read_parquet(out) if out.exists() and "error" not in run else None
        results[helper, kind, n] = got
        note = run.get("error", "")
        if kind == "pandas":
            ref[helper, n] = (run, got)
            shown, same = "1.0x", "reference"
            if run.get("stopped") == "memory":
                note = f"stopped past the {_gb(cap)} GB cap: needs more (lower bounds below)"
            elif run.get("stopped"):
                note = f"stopped after {TIMEOUT_S} s"
        else:
            base, want = ref[helper, n]
            value, shown = _speedup(base, run)
            same = "-"
            if got is not None and want is not None:
                ok, same = compare(got, want)
                equal.append((f"{helper} on {kind} ({size} rows)", ok, same, True))
            elif (
                got is not None
                and kind == "polars"
                and results.get((helper, "duckdb", n)) is not None
            ):
                ok, why = compare(got, results[helper, "duckdb", n])
                same = f"= DuckDB's: {why}"
                equal.append((f"{helper}: Polars vs DuckDB ({size} rows)", ok, why, False))
            if kind == "spark" and "error" not in run:
                note = (
                    f"session start {run['spark_start']:.1f} s (not counted); "
                    f"JVM peak {_gb(run['jvm_peak'])} GB"
                )
            if kind in ENGINES and n == accounts:
                speed[kind].append((value, shown, helper))
                if "error" not in run:
                    peaks[kind].append((run["peak"], helper))
        rows_of.append((helper, kind, size, secs, peak, shown, same, note))
        print("     " + "  ".join(x for x in rows_of[-1] if x), flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        # the full size first (pandas, then each engine) ...
        for helper in HELPERS:
            for kind in ("pandas", *(ENGINES if landed[helper] else ())):
                record(helper, kind, full, accounts, tmp)
        # ... then the slice: pandas and Spark, and DuckDB and Polars where pandas could not
        # give the full size's reference (so that their figures are still checked against it)
        for helper in (h for h in HELPERS if landed[h]):
            no_ref = ref[helper, accounts][1] is None
            if part != full and (spark or no_ref):
                record(helper, "pandas", part, spark_accounts, tmp)
                if no_ref:
                    for kind in ENGINES:
                        record(helper, kind, part, spark_accounts, tmp)
            if spark:
                record(helper, "spark", part, spark_accounts, tmp)
    table = []
    for helper in HELPERS:
        table += [r for r in rows_of if r[0] == helper]
        if not landed[helper]:
            table.append((helper, "engines", "-", "-", "-", "-", "pandas only, not measured", ""))
    head = ("helper", "path", "rows", "seconds", "peak GB", "(a)/path", "figures", "note")
    print("   " + f"sources: {', '.join(sorted(s for s in sources if s))}")
    print(_table(head, table))
    return _targets(accounts, rows, landed, speed, peaks, equal, spark)


def _table(head: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    cells = [head, *rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(head))]
    lines = [
        "   " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
        for r in cells
    ]
    lines.insert(1, "   " + "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _targets(
    accounts: int,
    rows: int,
    landed: dict[str, bool],
    speed: dict[str, list[tuple[float | None, str, str]]],
    peaks: dict[str, list[tuple[float, str]]],
    equal: list[tuple[str, bool, str, bool]],
    spark: bool,
) -> list[Target]:
    size = f"{rows / 1e6:.1f}M rows"
    out = []
    have = [h for h in HELPERS if landed[h]]
    missing = [h for h in HELPERS if not landed[h]]
    out.append(
        Target(
            "helpers with an engine path (measured)",
            f"{len(HELPERS)} of {len(HELPERS)}",
            f"{len(have)} of {len(HELPERS)}"
            + (f" (pandas only: {', '.join(missing)})" if missing else ""),
            not missing,
        )
    )
    for engine in ENGINES:
        name = {"duckdb": "DuckDB", "polars": "Polars"}[engine]
        got = speed[engine]
        known = [(v, s, h) for v, s, h in got if v is not None]
        if known:
            worst = min(known)
            measured = f"worst {worst[1]} ({worst[2]}), best {max(known)[1]} ({max(known)[2]})"
        else:
            measured = "not measured"
        out.append(
            Target(
                f"{name} end to end vs pandas (a), {size}",
                f">= {TARGET_SPEEDUP:.0f}x each helper",
                measured
                + (f"; {len(got) - len(known)} not measured" if len(known) < len(got) else ""),
                bool(known)
                and len(known) == len(got)
                and all(v >= TARGET_SPEEDUP for v, _, _ in known),
            )
        )
        p = peaks[engine]
        out.append(
            Target(
                f"{name} peak memory, {size}",
                f"<= {TARGET_PEAK_GB:.0f} GB each helper",
                f"worst {_gb(max(p)[0])} GB ({max(p)[1]})" if p else "not measured",
                bool(p) and max(p)[0] <= TARGET_PEAK_GB * GB,
            )
        )
    vs_pandas = [e for e in equal if e[3]]
    between = [e for e in equal if not e[3]]
    bad = [f"{what}: {why}" for what, ok, why, _ in equal if not ok]
    engines = "DuckDB, Polars" + (", Spark" if spark else " (no Spark)")
    measured = f"{sum(e[1] for e in vs_pandas)} of {len(vs_pandas)} equal pandas'"
    if between:
        measured += (
            f"; {sum(e[1] for e in between)} of {len(between)} equal each other where pandas "
            "could not run the full size"
        )
    out.append(
        Target(
            f"{engines} figures equal pandas'",
            "to 1e-9, same NA, same order",
            measured + (f"; {'; '.join(bad)}" if bad else ""),
            bool(vs_pandas) and not bad,
        )
    )
    return out


if __name__ == "__main__":
    from benchmarks._common import target_table

    print(target_table(main()))

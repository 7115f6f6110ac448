"""Store faults: killed syncs, damaged files, concurrent writers, file modes (issue 11).

Kill and concurrency trials run ``Store.sync`` in subprocesses against the sample API server on
127.0.0.1, bounded in count and time. Glob readers are checked the way users read the store:
a glob of the partition files that, like DuckDB's and Polars', also matches names starting with
``.`` or ``_`` (``glob(..., include_hidden=True)``), ``pyarrow.dataset`` on the directory, and
DuckDB / Polars themselves when installed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import glob
import json
import os
import queue
import random
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

import cfusage.fetch._store as store_module
from cfusage import schema
from cfusage.errors import DataError, StoreError
from cfusage.fetch import Client, Store, atomic_write_bytes
from cfusage.fetch._store import LOCK, MANIFEST, STAGING

UTC = dt.UTC
KEY = list(dict.fromkeys(["charge_period_start", *schema.KEY]))
FAR = dt.datetime(2027, 6, 1, tzinfo=UTC)  # every day of the sample is final by then


def client_for(srv) -> Client:
    return Client(
        token="store-faults-token",
        base_url=srv.base_url,
        organization_id=srv.org_id,
        progress=False,
        cache=False,
    )


@pytest.fixture
def client(sample_server):
    with client_for(sample_server) as c:
        yield c


def synced(path: Path, client, first="2026-02-01", last="2026-03-31") -> Store:
    store = Store(path)
    store.sync(client, first, last, now=FAR)
    return store


# -- readers ---------------------------------------------------------------------------------
def _files_table(files: list[str]) -> pa.Table | None:
    tables = [pq.read_table(f, partitioning=None) for f in sorted(files)]
    return pa.concat_tables(tables, promote_options="permissive") if tables else None


def glob_readers() -> dict:
    """Readers of the store as users run them: name -> function(path) -> pandas frame."""

    def hidden_glob(pattern: str):
        def read(root: Path) -> pd.DataFrame:
            files = glob.glob(str(root / pattern), recursive=True, include_hidden=True)
            return _frame(_files_table([f for f in files if os.path.isfile(f)]))

        return read

    readers = {
        "glob */*.parquet": hidden_glob("*/*.parquet"),
        "glob **/*.parquet": hidden_glob("**/*.parquet"),
        "pyarrow.dataset": lambda root: _frame(
            pads.dataset(root, format="parquet", partitioning="hive").to_table()
        ),
    }
    with contextlib.suppress(ImportError):
        import duckdb

        readers["duckdb"] = lambda root: _frame(
            duckdb.sql(
                f"select * from read_parquet('{root}/*/*.parquet', hive_partitioning=true)"
            ).to_arrow_table()
        )
    with contextlib.suppress(ImportError):
        import polars

        readers["polars"] = lambda root: _frame(
            polars.scan_parquet(f"{root}/*/*.parquet", hive_partitioning=True).collect().to_arrow()
        )
    return readers


COLS = [*KEY, "billed_cost"]


def _frame(table: pa.Table | None) -> pa.Table:
    """The key columns and the money in one canonical form, sorted: times as UTC epoch
    microseconds, text as plain strings, money as doubles (nulls kept as nulls)."""
    if table is None:
        return pa.table({c: pa.array([], pa.string()) for c in COLS})
    columns = {}
    for name in COLS:
        col = table.column(name)
        if pa.types.is_timestamp(col.type):
            col = pc.cast(col.cast(pa.timestamp("us", tz="UTC")), pa.int64())
        elif pa.types.is_floating(col.type):
            col = col.cast(pa.float64())
        else:
            col = col.cast(pa.string())
        columns[name] = col.cast(pa.string()) if pa.types.is_null(col.type) else col
    out = pa.table(columns)
    return out.take(pc.sort_indices(out, [(c, "ascending") for c in COLS]))


def typed_frame(df: pd.DataFrame) -> pa.Table:
    """A typed cfusage frame (from Store.read or Client.usage) in the readers' form."""
    df = df[[*KEY, "billed_cost"]].copy()
    df.attrs = {}
    return _frame(pa.Table.from_pandas(df, preserve_index=False))


def store_frame(store: Store) -> pa.Table:
    return typed_frame(store.read())


def assert_same_rows(got: pa.Table, expected: pa.Table, what: str) -> None:
    assert got.num_rows == expected.num_rows, (
        f"{what}: {got.num_rows} rows, expected {expected.num_rows}"
    )
    for name in COLS:
        a, b = got.column(name), expected.column(name)
        if a.type != b.type:  # an all-null column read back as another type
            a, b = a.cast(pa.string()), b.cast(pa.string())
        assert a.equals(b), f"{what}: column {name} differs"


def duplicates(table: pa.Table) -> int:
    """Records (by key) present more than once."""
    counts = table.group_by(KEY, use_threads=False).aggregate([([], "count_all")])
    return int(pc.sum(pc.greater(counts["count_all"], 1)).as_py() or 0)


# -- item 2: staged files are invisible; leftovers are cleaned ---------------------------------
def test_files_staged_by_a_sync_are_invisible_to_glob_readers(tmp_path, client, monkeypatch):
    """While a sync writes, every reader still sees exactly the previous data."""
    store = synced(tmp_path, client, "2026-02-20", "2026-03-10")
    before = store_frame(store)
    readers = glob_readers()
    seen: list[tuple[str, int]] = []
    real_write = store_module._write_parquet
    real_atomic = store_module.atomic_write_bytes

    def check_readers() -> None:
        for name, read in readers.items():
            got = read(tmp_path)
            seen.append((name, len(got)))
            assert_same_rows(got, before, f"{name} while a sync is staging")

    def write_then_look(table, path) -> None:
        real_write(table, path)
        check_readers()

    def atomic_then_look(path, data, **kw) -> None:
        if Path(path).name == store_module._JOURNAL:
            check_readers()  # everything staged, just before the commit
        real_atomic(path, data, **kw)

    monkeypatch.setattr(store_module, "_write_parquet", write_then_look)
    monkeypatch.setattr(store_module, "atomic_write_bytes", atomic_then_look)
    store.sync(client, "2026-02-20", "2026-03-10", now=FAR, lookback_days=10_000)
    assert len(seen) == 3 * len(readers)  # two partitions staged, then the commit
    assert not (tmp_path / STAGING).exists()
    for read in readers.values():
        assert_same_rows(read(tmp_path), store_frame(store), "after the sync")


def test_next_sync_removes_temp_files_of_earlier_versions(tmp_path, client):
    """Stores written before this fix may hold month=*/.tmp-*.parquet files that globs count."""
    store = synced(tmp_path, client)
    good = store_frame(store)
    part = tmp_path / "month=2026-03" / "part-0.parquet"
    leftover = part.with_name(".tmp-k3j2h1.parquet")
    leftover.write_bytes(part.read_bytes())
    (tmp_path / ".tmp-abcdef").write_bytes(b'{"format": 1')
    counted = glob_readers()["glob */*.parquet"](tmp_path)
    assert len(counted) > len(good)  # the money counted twice, as the issue found
    assert_same_rows(store_frame(store), good, "Store.read ignores the leftover")
    report = store.verify()
    assert [(p.kind, p.path) for p in report.problems] == [
        ("stray", "month=2026-03/.tmp-k3j2h1.parquet")
    ]
    assert store.sync(client, "2026-02-01", "2026-03-31", now=FAR).fetched == ()  # nothing due
    assert not leftover.exists() and not (tmp_path / ".tmp-abcdef").exists()
    for name, read in glob_readers().items():
        assert_same_rows(read(tmp_path), good, name)
    assert store.verify().ok


def documented_query(library: str) -> str:
    """The query the store's docstring recommends for ``library``, as written there."""
    lines = [ln.strip() for ln in store_module.__doc__.splitlines()]
    (line,) = [ln for ln in lines if ln.startswith(f"{library}.")]
    return line


def run_documented_query(library: str, root: Path) -> pa.Table:
    module = pytest.importorskip(library)
    if library == "pyarrow":
        import pyarrow.dataset  # noqa: F401  (the query names pyarrow.dataset)
    code = documented_query(library).replace('"path', f'"{root}').replace("'path", f"'{root}")
    result = eval(code, {library: module})  # the docstring's own text
    if library == "duckdb":
        return result.to_arrow_table()
    if library == "polars":
        return result.collect().to_arrow()
    return result.to_table()


@pytest.mark.parametrize("library", ["pyarrow", "duckdb", "polars"])
def test_the_documented_queries_see_what_store_read_returns(tmp_path, client, library):
    """The docstring's DuckDB / Polars / pyarrow queries, run as written, on a store holding
    what a sync killed while staging leaves (staged partitions, a manifest temp file)."""
    store = synced(tmp_path, client)
    staging = tmp_path / STAGING
    staging.mkdir()
    for month in ("2026-02", "2026-03"):
        part = tmp_path / f"month={month}" / "part-0.parquet"
        (staging / f"month={month}.0123456789ab.tmp").write_bytes(part.read_bytes())
    (staging / ".tmp-0123456789abcdef").write_bytes((tmp_path / MANIFEST).read_bytes())
    got = _frame(run_documented_query(library, tmp_path))
    assert_same_rows(got, store_frame(store), documented_query(library))


FORK_SERVER = textwrap.dedent(
    """
    import json, os, signal, sys, time
    from cfusage.fetch import Client, Store

    def sync(cmd, forked_at):  # times are counted from the fork, as the parent's kill delay
        exit_at = cmd.get("exit_at", 0)
        if exit_at:  # die (like SIGKILL: no clean-up) at the |exit_at|-th os.replace,
            real_replace, calls = os.replace, [0]  # before it if negative, after if positive

            def replace(src, dst):
                calls[0] += 1
                if calls[0] == -exit_at:
                    os._exit(137)
                real_replace(src, dst)
                if calls[0] == exit_at:
                    os._exit(137)

            os.replace = replace
        client = Client(token="kill-test-token", base_url=cmd["base_url"],
                        organization_id=cmd["org"], progress=False, cache=False)
        fetched = []

        class Timed:  # notes when the last fetch returned: the write phase starts there
            def usage(self, first, last):
                df = client.usage(first, last)
                fetched.append(time.monotonic() - forked_at)
                return df

        result = Store(cmd["path"]).sync(Timed(), cmd["first"], cmd["last"],
                                         lookback_days=cmd["lookback"])
        return {"seconds": time.monotonic() - forked_at, "fetched": fetched[-1],
                "days": len(result.fetched)}

    print(json.dumps({"ready": os.getpid()}), flush=True)
    for line in sys.stdin:  # one JSON list of syncs per line, started together
        cmds = json.loads(line)
        pids = []
        forked_at = time.monotonic()
        for cmd in cmds:
            pid = os.fork()
            if pid == 0:
                try:
                    print(json.dumps({"done": sync(cmd, forked_at)}), flush=True)
                    os._exit(0)
                except BaseException as e:
                    print(json.dumps({"error": repr(e)}), flush=True)
                    os._exit(1)
            pids.append(pid)
        delay = cmds[0].get("kill_after")
        if delay is not None:  # the parent kills its own child: never a reused pid
            time.sleep(delay)
            for pid in pids:
                os.kill(pid, signal.SIGKILL)
        codes = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in pids]
        print(json.dumps({"exits": codes}), flush=True)
    """
)


class Forker:
    """One subprocess that imports cfusage once, then forks a child per sync it is sent (so a
    trial costs a sync, not an interpreter start). It can SIGKILL its children after a delay."""

    def __init__(self, tmp_path: Path, srv) -> None:
        script = tmp_path / "fork_server.py"
        script.write_text(FORK_SERVER)
        self.srv = srv
        self.proc = subprocess.Popen(
            [sys.executable, str(script)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        assert "ready" in self._next(120)

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)

    def _next(self, timeout: float) -> dict:
        return json.loads(self.lines.get(timeout=timeout))

    def run(self, path: Path, *ranges, kill_after=None, exit_at=0, lookback=10_000) -> dict:
        """Sync ``ranges`` (one child each, started together); their exit codes and outputs."""
        cmds = [
            {
                "base_url": self.srv.base_url,
                "org": self.srv.org_id,
                "path": str(path),
                "first": first,
                "last": last,
                "lookback": lookback,
                "exit_at": exit_at,
                "kill_after": kill_after,
            }
            for first, last in ranges
        ]
        self.proc.stdin.write(json.dumps(cmds) + "\n")
        self.proc.stdin.flush()
        done, errors = [], []
        while True:
            message = self._next(120)
            if "exits" in message:
                return {"exits": message["exits"], "done": done, "errors": errors}
            (done if "done" in message else errors).append(message)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


@pytest.fixture(scope="module")
def forker(tmp_path_factory, sample_server):
    forker = Forker(tmp_path_factory.mktemp("forker"), sample_server)
    yield forker
    forker.close()


def check_after_kill(path: Path, trial: dict) -> None:
    """What every reader sees after a kill, before and after cfusage touches the store."""
    readers = glob_readers()
    for name, read in readers.items():  # before: no record counted twice
        got = read(path)
        dup = duplicates(got)
        assert dup == 0, f"{name}: {dup} records counted twice after kill {trial}"
    trial["staged_left"] = len(list((path / STAGING).glob("*"))) if (path / STAGING).exists() else 0
    trial["committed"] = (path / STAGING / store_module._JOURNAL).exists()
    store = Store(path)
    expected = store_frame(store)  # finishes a committed sync first
    assert not (path / STAGING / store_module._JOURNAL).exists()
    for name, read in readers.items():
        assert_same_rows(read(path), expected, f"{name} vs Store.read after kill {trial}")
    report = store.verify()
    assert report.ok, report
    trial["rows"] = len(expected)


def test_killed_syncs_never_leave_rows_that_glob_readers_count(tmp_path, forker, client):
    """SIGKILL a sync at random points (30 trials, at least 20 of them landing before the sync
    ended), on one store; after each kill every reader counts each record once and equals
    Store.read; then a complete sync leaves exactly what the API serves."""
    path = tmp_path / "store"
    span = ("2026-01-20", "2026-04-10")  # four partitions, each rewritten by every sync
    for _ in range(2):  # the second sync, on a full store, sets the time scale of the kills
        timing = forker.run(path, span)
        assert timing["exits"] == [0], timing
    seconds, fetched = (timing["done"][0]["done"][k] for k in ("seconds", "fetched"))
    rng = random.Random(20261201)
    trials = []
    deadline = time.monotonic() + 240
    n = 0
    while n < 30 or sum(t["killed"] for t in trials) < 20:  # 30 trials, 20 of them kills
        assert n < 60 and time.monotonic() < deadline, f"{n} trials: {trials}"
        # even trials: anywhere in the sync; odd ones: in its write phase (staging, commit, moves)
        delay = rng.uniform(0, seconds * 1.2) if n % 2 == 0 else rng.uniform(fetched, seconds)
        outcome = forker.run(path, span, kill_after=delay)
        assert not outcome["errors"], outcome
        trial = {"trial": n, "delay": round(delay, 3), "killed": outcome["exits"] == [-9]}
        trial["phase"] = "write" if delay >= fetched else "fetch"
        check_after_kill(path, trial)
        trials.append(trial)
        n += 1
        if outcome["done"]:  # a sync that finished: the machine's speed now sets the time scale
            seconds, fetched = (outcome["done"][0]["done"][k] for k in ("seconds", "fetched"))
    print(f"\nsync {seconds:.3f} s, write phase from {fetched:.3f} s; kill trials:")
    print(json.dumps(trials))
    assert forker.run(path, span)["exits"] == [0]
    assert not (path / STAGING).exists()
    expected = typed_frame(client.usage(*span))
    for name, read in glob_readers().items():
        assert_same_rows(read(path), expected, f"{name} after the final sync")
    assert_same_rows(store_frame(Store(path)), expected, "Store.read after the final sync")


@pytest.mark.parametrize("exit_at", [-1, 1, 3, 6])
def test_a_sync_killed_at_each_step_of_its_commit_is_finished_or_undone(
    tmp_path, sample_server, forker, exit_at
):
    """Die just before the commit (-1: the journal's rename), or right after the k-th rename
    (1: the commit; 3: two of the four partitions moved into place; 6: the manifest)."""
    path = tmp_path / "store"
    with client_for(sample_server) as c:
        Store(path).sync(c, "2026-01-01", "2026-02-10", now=FAR)
        everything = typed_frame(c.usage("2026-01-01", "2026-04-10"))
    before = store_frame(Store(path))
    outcome = forker.run(path, ("2026-01-20", "2026-04-10"), exit_at=exit_at)
    assert outcome["exits"] == [137], outcome
    committed = (path / STAGING / store_module._JOURNAL).exists()
    assert committed == (exit_at >= 1)  # the journal goes last
    check_after_kill(path, {"exit_at": exit_at})
    if exit_at < 0:  # not committed: the previous data, nothing else
        assert_same_rows(store_frame(Store(path)), before, "undone")
        assert Store(path).days[-1] == dt.date(2026, 2, 10)
    else:  # committed: finished, every day of the sync is there
        assert_same_rows(store_frame(Store(path)), everything, "finished")
        assert Store(path).days[-1] == dt.date(2026, 4, 10)


# -- item 3: damage is named, verify reports it, repair re-fetches -------------------------------
def damage_then_repair(tmp_path, client, damage, kind: str) -> StoreError:
    """Sync Feb-Mar, damage it, check the error and the report, repair, check the rows."""
    store = synced(tmp_path, client)
    good = store_frame(store)
    march = pd.Timestamp("2026-03-01", tz="UTC").value // 1000  # epoch microseconds
    feb_rows = pc.sum(pc.less(good["charge_period_start"], march)).as_py()
    damage(tmp_path / "month=2026-02" / "part-0.parquet")
    with pytest.raises(StoreError) as info:
        store.read()
    error = info.value
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    assert manifest["partitions"]["2026-02"]["rows"] == feb_rows
    assert isinstance(error, DataError)
    assert "month=2026-02" in str(error) and "repair=True" in str(error)
    assert [p.kind for p in error.problems] == [kind]
    assert error.problems[0].expected_rows == feb_rows
    # March is intact and still readable on its own
    assert len(store.read(start="2026-03-01")) == len(good) - feb_rows
    # a plain sync refuses to write into the damaged partition
    with pytest.raises(StoreError, match="month=2026-02"):
        store.sync(client, "2026-02-01", "2026-02-28", now=FAR, lookback_days=10_000)
    report = store.verify()
    assert not report.ok
    assert [(p.kind, p.partition) for p in report.problems] == [(kind, "month=2026-02")]
    assert report.refetch == [dt.date(2026, 2, 1) + dt.timedelta(days=i) for i in range(28)]
    assert "month=2026-02" in repr(report) and "month=2026-02" in report._repr_html_()
    result = store.sync(client, "2026-03-01", "2026-03-31", now=FAR, repair=True)
    assert [p.kind for p in result.repaired] == [kind]
    assert result.fetched[0] == dt.date(2026, 2, 1) and len(result.fetched) == 28
    assert store.verify().ok
    assert_same_rows(store_frame(store), good, "after repair")
    return error


def test_deleted_partition_is_named_and_refetched(tmp_path, client):
    error = damage_then_repair(tmp_path, client, Path.unlink, "missing")
    assert error.problems[0].found_rows is None
    assert "file missing" in str(error)


def test_truncated_partition_is_named_and_rewritten(tmp_path, client):
    def truncate(path: Path) -> None:
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])

    damage_then_repair(tmp_path, client, truncate, "unreadable")


def test_corrupted_page_is_caught_by_its_checksum_and_rewritten(tmp_path, client):
    def flip(path: Path) -> None:  # same size, intact footer: only the page CRC can tell
        data = bytearray(path.read_bytes())
        data[len(data) // 3] ^= 0xFF
        path.write_bytes(bytes(data))

    damage_then_repair(tmp_path, client, flip, "unreadable")


def test_partition_with_other_rows_than_recorded_is_named(tmp_path, client):
    def halve(path: Path) -> None:
        table = pq.read_table(path, partitioning=None)
        pq.write_table(table.slice(0, table.num_rows // 2), path)

    error = damage_then_repair(tmp_path, client, halve, "rows")
    problem = error.problems[0]
    assert problem.found_rows == problem.expected_rows // 2
    assert f"{problem.found_rows:,} rows found" in str(error)
    assert f"records {problem.expected_rows:,} rows" in str(error)


def test_truncated_manifest_is_a_store_error_and_repair_rebuilds_it(tmp_path, client):
    store = synced(tmp_path, client)
    good = store_frame(store)
    text = (tmp_path / MANIFEST).read_bytes()
    (tmp_path / MANIFEST).write_bytes(text[: len(text) // 2])
    with pytest.raises(StoreError, match="not valid JSON") as info:
        store.read()
    assert MANIFEST in str(info.value) and info.value.problems[0].kind == "manifest"
    assert "manifest damaged" in repr(store)
    assert [p.kind for p in store.verify().problems] == ["manifest"]
    result = store.sync(client, "2026-03-01", "2026-03-02", now=FAR, repair=True)
    assert len(result.fetched) == 59  # every day found in the files, re-fetched
    assert store.verify().ok and store.complete_through == dt.date(2026, 3, 31)
    assert_same_rows(store_frame(store), good, "after rebuilding the manifest")


def test_deleted_manifest_leaves_unrecorded_partitions_that_repair_refetches(tmp_path, client):
    store = synced(tmp_path, client)
    good = store_frame(store)
    (tmp_path / MANIFEST).unlink()
    with pytest.raises(StoreError, match="does not record"):
        store.read()
    report = store.verify()
    assert [(p.kind, p.partition) for p in report.problems] == [
        ("unrecorded", "month=2026-02"),
        ("unrecorded", "month=2026-03"),
    ]
    assert len(report.refetch) == 59
    result = store.sync(client, "2026-03-01", "2026-03-02", now=FAR, repair=True)
    assert len(result.fetched) == 59
    assert store.verify().ok and store.complete_through == dt.date(2026, 3, 31)
    assert_same_rows(store_frame(store), good, "after repair")


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda m: m.pop("days"), "no 'days'"),
        (lambda m: m.pop("partitions"), "no 'partitions'"),
        (lambda m: m["days"].update({"2026-02-03": {"complete": True}}), "2026-02-03"),
        (lambda m: m["partitions"]["2026-02"].update(rows="many"), "2026-02"),
    ],
)
def test_malformed_manifest_names_what_is_wrong(tmp_path, client, edit, match):
    store = synced(tmp_path, client, "2026-02-01", "2026-02-05")
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    edit(manifest)
    (tmp_path / MANIFEST).write_text(json.dumps(manifest))
    for call in (store.read, lambda: store.pending("2026-02-01", "2026-02-05")):
        with pytest.raises(StoreError, match=match):
            call()


def test_unrecorded_partition_is_named_and_refetched(tmp_path, client):
    store = synced(tmp_path, client)
    good = store_frame(store)
    other = synced(tmp_path / "other", client, "2026-04-01", "2026-04-03")
    src = other.path / "month=2026-04"
    (tmp_path / "month=2026-04").mkdir()
    (tmp_path / "month=2026-04" / "part-0.parquet").write_bytes(
        (src / "part-0.parquet").read_bytes()
    )
    with pytest.raises(StoreError, match=r"month=2026-04.*does not record"):
        store.read()
    assert len(store.read(end="2026-03-31")) == len(good)
    report = store.verify()
    assert [p.kind for p in report.problems] == ["unrecorded"]
    assert report.refetch == [dt.date(2026, 4, 1), dt.date(2026, 4, 2), dt.date(2026, 4, 3)]
    store.sync(client, "2026-02-01", "2026-02-02", now=FAR, repair=True)
    assert store.verify().ok
    assert len(store.read()) == len(good) + len(other.read())


def test_format_1_store_is_read_and_upgraded(tmp_path, client):
    """Stores written before row counts were recorded still read, and get counts on the next
    sync."""
    store = synced(tmp_path, client)
    good = store_frame(store)
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    manifest["format"] = 1
    del manifest["partitions"]
    (tmp_path / MANIFEST).write_text(json.dumps(manifest))
    assert_same_rows(store_frame(store), good, "format 1")
    assert store.verify().ok
    store.sync(client, "2026-04-01", "2026-04-02", now=FAR)
    upgraded = json.loads((tmp_path / MANIFEST).read_text())
    assert upgraded["format"] == 2
    assert sorted(upgraded["partitions"]) == ["2026-02", "2026-03", "2026-04"]
    (tmp_path / "month=2026-02" / "part-0.parquet").unlink()
    assert [p.kind for p in store.verify().problems] == ["missing"]


def test_report_renders_as_text_and_escaped_html(tmp_path, client):
    path = tmp_path / "<b>store"
    store = synced(path, client, "2026-02-01", "2026-02-03")
    report = store.verify()
    assert report.ok and repr(report).startswith(f"Store {str(path)!r}: OK (1 partitions")
    (path / "month=2026-02" / "part-0.parquet").unlink()
    report = store.verify()
    html = report._repr_html_()
    assert "<b>store" not in html and "&lt;b&gt;store" in html
    assert "<td>missing</td>" in html and "<td>month=2026-02</td>" in html
    assert "missing: month=2026-02/part-0.parquet: file missing" in repr(report)


# -- item 3: one writer at a time ----------------------------------------------------------------
def test_two_processes_syncing_at_once_keep_each_others_days(tmp_path, forker, client):
    """Two syncs of overlapping ranges started together, 12 times: every day and every row."""
    a, b = ("2026-01-01", "2026-01-20"), ("2026-01-11", "2026-02-10")
    expected = typed_frame(client.usage("2026-01-01", "2026-02-10"))
    want_days = [dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(41)]
    deadline = time.monotonic() + 240
    for n in range(12):
        assert time.monotonic() < deadline, f"only {n} trials in the time allowed"
        path = tmp_path / f"store-{n}"
        outcome = forker.run(path, a, b)
        assert outcome["exits"] == [0, 0], outcome
        store = Store(path)
        assert store.days == want_days, f"trial {n}: days lost"
        assert store.verify().ok
        assert_same_rows(store_frame(store), expected, f"trial {n}")


def test_a_reader_waits_for_a_writer_holding_the_lock(tmp_path, client):
    store = synced(tmp_path, client, "2026-02-01", "2026-02-03")
    fd = os.open(tmp_path / LOCK, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)  # as a writer does while it writes
    done = threading.Event()
    reader = threading.Thread(target=lambda: (store.read(), done.set()), daemon=True)
    reader.start()
    reader.join(0.5)
    assert not done.is_set()  # blocked on the lock
    os.close(fd)
    reader.join(30)
    assert done.is_set()


# -- item 10: file modes follow the umask --------------------------------------------------------
@pytest.fixture
def umask():
    old = os.umask(0o022)
    yield lambda mask: os.umask(mask)
    os.umask(old)


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o077], ids=["022", "027", "077"])
def test_store_files_follow_the_umask(tmp_path, client, umask, mask):
    umask(mask)
    store = Store(tmp_path / "shared")
    store.sync(client, "2026-02-27", "2026-03-02", now=FAR)
    store.sync(client, "2026-02-27", "2026-03-03", now=FAR)  # rewrites, replaces
    files = [p for p in store.path.rglob("*") if p.is_file()]
    for p in files:
        assert stat.S_IMODE(p.stat().st_mode) == 0o666 & ~mask, p
    names = sorted(p.relative_to(store.path).as_posix() for p in files)
    assert names == sorted(
        [LOCK, MANIFEST, "month=2026-02/part-0.parquet", "month=2026-03/part-0.parquet"]
    )
    for p in [store.path, *[d for d in store.path.rglob("*") if d.is_dir()]]:
        assert stat.S_IMODE(p.stat().st_mode) == 0o777 & ~mask, p
    out = tmp_path / "out.csv"
    atomic_write_bytes(out, b"a,b\n")
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~mask

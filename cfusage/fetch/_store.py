"""An incremental local store of usage records: a month-partitioned Parquet dataset.

A notebook syncs into it (:meth:`Store.sync`, which fetches only the days that are missing or not
yet final) and reads typed frames back from it (:meth:`Store.read`) without calling the API again.

Layout (hive partitioning, readable by DuckDB, Polars, Spark, Dask or pyarrow directly)::

    path/
        month=2026-02/part-0.parquet
        month=2026-03/part-0.parquet
        _cfusage_store.json          the manifest
        _cfusage_store.lock          the lock file (fcntl.flock)
        _cfusage_staging/            only while a sync writes: files named *.tmp, never *.parquet

Each ``part-0.parquet`` holds the records whose ``charge_period_start`` falls in that month (UTC),
one row per record, columns under their python names (:data:`cfusage.schema.COLUMNS`) with arrow
types derived from the schema: datetimes ``timestamp[us, tz=UTC]``, money / quantities / prices
``double`` (null where the API sent none: never 0), low-cardinality text ``dictionary<int32,
string>``, ids ``string``, ``tags`` a JSON object as ``string``; extra columns are kept (object
columns as JSON text). Pages carry CRC checksums. The ``month`` partition key lives in the
directory name only. Read the dataset with a glob of the partition files, which sees exactly the
``part-0.parquet`` files (a sync in progress or killed leaves nothing it can see)::

    duckdb.sql("select * from read_parquet('path/*/*.parquet', hive_partitioning=true)")
    polars.scan_parquet("path/*/*.parquet", hive_partitioning=True)
    pyarrow.dataset.dataset("path", format="parquet", partitioning="hive")

(``path/**/*.parquet`` works too; Polars' ``scan_parquet("path/")`` without a glob does not, as the
directory also holds the manifest.)

``_cfusage_store.json`` (the manifest) records, for each day fetched, ``fetched_at`` (UTC) and
whether the API had delivered it in full (``complete``); ``complete_through``: the last day of the
unbroken run of complete days from the first stored day; and, for each partition (month), the
``rows``, ``bytes`` and ``sha256`` of the file written, against which the files are checked.

Rules
-----
* Days are UTC calendar days; ranges are inclusive (``sync(c, "2026-01-01", "2026-01-31")`` is
  all of January), as in :meth:`cfusage.fetch._client.Client.usage`.
* A stored day is **final** once it was fetched at least ``lookback_days`` whole days after it
  ended (``fetched_at >= day + 1 + lookback_days``): the API delivers a day about a day late and
  may revise its latest days. :meth:`Store.sync` fetches every day of its range that is missing or
  not final, so the trailing look-back is always re-fetched, and older days never are.
* Each re-fetched day replaces its earlier version (its rows are deleted, then the new rows
  inserted); within the written rows, records are unique on :data:`cfusage.schema.KEY`, the later
  fetch winning. Corrections (``charge_class == "Correction"``) have their own key and are kept
  as their own rows. Re-syncing a range is idempotent.
* **Writes are all-or-nothing.** A sync stages every new partition file and the new manifest in
  ``_cfusage_staging/`` (invisible to the globs above and to pyarrow, which skips ``_`` names),
  then commits by renaming a journal into place there, then moves the files into place. Killed
  before the commit, nothing changed (the staged files are removed by the next sync); killed
  after it, the next ``sync``, ``read`` or ``verify`` finishes the moves. Until then a glob reader
  may see some months already at their new version, each record still at most once.
* **One writer at a time, enforced.** Writers take an exclusive ``fcntl.flock`` on
  ``_cfusage_store.lock`` while they write (a sync fetches first, unlocked, then locks, re-reads
  the manifest and merges); readers (``read``, ``verify``) take a shared lock, so they wait for a
  write in progress (seconds) and never see it half done. ``sync(repair=True)`` holds the lock
  for the whole repair, fetches included. The lock is released when the process ends, however
  it ends. (flock is local to a machine: on a network file system, sync from one machine. On
  Windows, which has no flock, there is no lock: run one sync at a time.)
* **Damage is noticed, not read around.** :meth:`Store.read` checks the manifest against the
  partitions it reads (file present, size, row count, page checksums) and raises
  :class:`cfusage.errors.StoreError` naming each damage (partition, expected vs found rows);
  :meth:`Store.sync` refuses to write into a damaged store. :meth:`Store.verify` reports every
  damage (it also compares each file's SHA-256 and lists stray files that glob readers would
  count), and ``sync(client, start, end, repair=True)`` re-fetches what was lost.
* Files get the usual mode of new files (``0o666`` less the process umask), so a store in a shared
  directory is readable by others when the umask allows it.

Examples
--------
>>> from cfusage import Client, Store  # doctest: +SKIP
>>> store = Store("usage-store")  # doctest: +SKIP
>>> store.sync(Client(), "2026-01-01", "2026-06-30")  # doctest: +SKIP
>>> df = store.read(start="2026-03-01", columns=["billed_cost"])  # doctest: +SKIP
>>> df.attrs["cfusage"]["complete_through"]  # doctest: +SKIP
datetime.date(2026, 6, 30)
>>> store.verify()  # doctest: +SKIP
Store 'usage-store': OK (6 partitions, 9,123 rows, 181 days recorded)
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import html
import json
import os
import secrets
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .. import schema
from ..errors import MissingColumnsError, StoreError
from ..io import DateLike, Engine, concat, empty_scan, engine_module, scan_files, utc_day
from ..io import complete_columns as _complete

try:
    import fcntl
except ImportError:  # Windows: no flock; one writer at a time is then up to the user
    fcntl = None  # type: ignore[assignment]

__all__ = ["Store", "StoreProblem", "StoreReport", "SyncResult"]

MANIFEST = "_cfusage_store.json"
LOCK = "_cfusage_store.lock"
STAGING = "_cfusage_staging"
_JOURNAL = "commit.json"
_FORMAT = 2
_READABLE_FORMATS = (1, 2)
_PART = "part-0.parquet"
_DAY = pd.Timedelta(days=1)
_EPOCH = "1970-01-01T00:00:00Z"
_UNKNOWN_FORMAT = f"{MANIFEST}: unknown store format"
#: Damage that repair fixes by re-fetching the partition's days.
_REFETCH_KINDS = ("missing", "unreadable", "rows", "changed", "unrecorded")


class _UsageClient(Protocol):
    def usage(self, start: Any, end: Any) -> pd.DataFrame: ...


class StoreProblem(NamedTuple):
    """One damage found in a store (see :meth:`Store.verify`).

    Attributes
    ----------
    kind : str
        ``"manifest"`` (the manifest cannot be read or is malformed), ``"missing"`` (a partition
        the manifest records has no file), ``"unreadable"`` (a partition file cannot be read:
        truncated, corrupted, a page checksum fails), ``"rows"`` (the file holds another number of
        rows than recorded), ``"changed"`` (same rows, but the file's size or SHA-256 is not
        what was written), ``"unrecorded"`` (a partition file on days the manifest does not
        record), ``"stray"`` (a file inside a partition directory that is not the partition file:
        glob readers would read it too), ``"interrupted"`` (a committed sync that could not be
        finished here, e.g. without write access).
    partition : str or None
        The partition directory (``"month=2026-02"``), or None for the manifest.
    path : str
        The file concerned, relative to the store.
    expected_rows, found_rows : int or None
        Rows the manifest records for the partition / rows found in the file (None if unknown:
        no record, or the file is missing or unreadable).
    days : tuple of datetime.date
        The days a repair re-fetches for this damage (the days recorded in the partition, or
        the days found in an unrecorded file).
    message : str
        The damage in words.
    """

    kind: str
    partition: str | None
    path: str
    expected_rows: int | None
    found_rows: int | None
    days: tuple[dt.date, ...]
    message: str


@dataclasses.dataclass(frozen=True)
class StoreReport:
    """What :meth:`Store.verify` found. Renders as text (``repr``) and as a table in notebooks.

    Attributes
    ----------
    path : str
        The store directory.
    problems : tuple of StoreProblem
        Every damage found; empty when the store is sound.
    partitions : int
        Partition files found.
    rows : int
        Rows in the readable partition files (what a glob reader of ``*/*.parquet`` counts,
        stray files aside).
    days : int
        Days recorded in the manifest.
    """

    path: str
    problems: tuple[StoreProblem, ...]
    partitions: int
    rows: int
    days: int

    @property
    def ok(self) -> bool:
        """True when no damage was found."""
        return not self.problems

    @property
    def refetch(self) -> list[dt.date]:
        """The days ``sync(..., repair=True)`` re-fetches, besides the pending days of its range."""
        return sorted({d for p in self.problems if p.kind in _REFETCH_KINDS for d in p.days})

    def __repr__(self) -> str:
        head = (
            f"Store {self.path!r}: "
            + ("OK" if self.ok else f"{len(self.problems)} problem(s)")
            + f" ({self.partitions} partitions, {self.rows:,} rows, {self.days} days recorded)"
        )
        lines = [head, *(f"  {p.kind}: {p.message}" for p in self.problems)]
        if not self.ok:
            lines.append("  " + _REPAIR_HINT + f" ({len(self.refetch)} day(s) to re-fetch)")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        esc = html.escape
        status = "OK" if self.ok else f"{len(self.problems)} problem(s)"
        head = (
            f"<p><b>Store</b> <code>{esc(self.path)}</code>: <b>{esc(status)}</b> "
            f"({self.partitions} partitions, {self.rows:,} rows, {self.days} days recorded)</p>"
        )
        if self.ok:
            return head
        cells = "".join(
            "<tr>"
            + "".join(
                f"<td>{esc(str(v))}</td>"
                for v in (
                    p.kind,
                    p.partition or "",
                    "" if p.expected_rows is None else f"{p.expected_rows:,}",
                    "" if p.found_rows is None else f"{p.found_rows:,}",
                    len(p.days),
                    p.message,
                )
            )
            + "</tr>"
            for p in self.problems
        )
        return (
            head
            + "<table><thead><tr><th>kind</th><th>partition</th><th>expected rows</th>"
            + "<th>found rows</th><th>days to re-fetch</th><th>damage</th></tr></thead>"
            + f"<tbody>{cells}</tbody></table><p>{esc(_REPAIR_HINT)}</p>"
        )


_REPAIR_HINT = "repair: store.sync(client, start, end, repair=True) re-fetches what was lost"


class SyncResult(NamedTuple):
    """What :meth:`Store.sync` did.

    Attributes
    ----------
    fetched : tuple of datetime.date
        The days fetched (missing or not yet final, plus, with ``repair=True``, the days of the
        damaged partitions), in order.
    rows : int
        Records written for those days.
    complete_through : datetime.date or None
        The store's complete-through day after the sync.
    repaired : tuple of StoreProblem
        With ``repair=True``: the damage found and repaired (empty otherwise).
    """

    fetched: tuple[dt.date, ...]
    rows: int
    complete_through: dt.date | None
    repaired: tuple[StoreProblem, ...] = ()


class Store:
    """A month-partitioned Parquet store of usage records that syncs incrementally.

    See the module docstring for the layout, the manifest, the finality rule, locking and
    damage checks.

    Parameters
    ----------
    path : str or path
        Directory of the dataset (created on the first sync).

    Examples
    --------
    >>> import tempfile
    >>> store = Store(tempfile.mkdtemp())
    >>> len(store.read()), store.complete_through
    (0, None)
    >>> store.verify().ok
    True
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()

    def __repr__(self) -> str:
        try:
            manifest = self._load_manifest()
        except StoreError:
            return f"Store({str(self.path)!r}, manifest damaged: see .verify())"
        return (
            f"Store({str(self.path)!r}, days={len(manifest['days'])}, "
            f"complete_through={manifest['complete_through']})"
        )

    # -- manifest ----------------------------------------------------------------------------
    @property
    def manifest_path(self) -> Path:
        """Path of the JSON manifest."""
        return self.path / MANIFEST

    @property
    def _staging(self) -> Path:
        return self.path / STAGING

    def _load_manifest(self) -> dict[str, Any]:
        """The manifest, checked; an empty one when there is none. Raises StoreError."""
        try:
            text = self.manifest_path.read_bytes()
        except FileNotFoundError:
            return _empty_manifest()
        return _parse_manifest(text, self)

    def _days(self) -> dict[str, dict[str, Any]]:
        return self._load_manifest()["days"]

    @property
    def complete_through(self) -> dt.date | None:
        """The last day through which the stored data is complete (None if nothing is)."""
        value = self._load_manifest()["complete_through"]
        return dt.date.fromisoformat(value) if value else None

    @property
    def days(self) -> list[dt.date]:
        """Every day fetched into the store, in order."""
        return sorted(dt.date.fromisoformat(d) for d in self._days())

    def fetched_at(self, day: DateLike) -> dt.datetime | None:
        """When ``day`` was last fetched (UTC), or None if it never was.

        Examples
        --------
        >>> import tempfile
        >>> Store(tempfile.mkdtemp()).fetched_at("2026-03-01") is None
        True
        """
        entry = self._days().get(utc_day(day, "day").isoformat())
        return dt.datetime.fromisoformat(entry["fetched_at"]) if entry else None

    def pending(
        self,
        start: DateLike,
        end: DateLike,
        *,
        lookback_days: int = 3,
    ) -> list[dt.date]:
        """The days of ``start``..``end`` (inclusive) that a sync would fetch.

        A day is fetched when it is missing or not final: fetched less than ``lookback_days``
        whole days after it ended.

        Parameters
        ----------
        start, end : str, date, datetime or pandas.Timestamp
            First and last day, both included.
        lookback_days : int
            How many days after its end the API may still revise a day.
        Returns
        -------
        list of datetime.date

        Examples
        --------
        >>> import tempfile
        >>> Store(tempfile.mkdtemp()).pending("2026-03-01", "2026-03-03")
        [datetime.date(2026, 3, 1), datetime.date(2026, 3, 2), datetime.date(2026, 3, 3)]
        """
        first, last = _range(start, end)
        _check_lookback(lookback_days)
        return _pending(self._days(), first, last, lookback_days)

    # -- locking and the commit journal --------------------------------------------------------
    @contextlib.contextmanager
    def _lock(self, *, exclusive: bool) -> Iterator[int | None]:
        """Hold ``flock`` on the lock file: exclusive to write, shared to read.

        A reader that cannot create or open the lock file (a read-only store) reads unlocked
        (yields None).
        """
        path = self.path / LOCK
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError:
            if exclusive:
                raise
            try:
                fd = os.open(path, os.O_RDONLY)
            except OSError:
                yield None
                return
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            yield fd
        finally:
            os.close(fd)  # releases the lock

    def _settle(self, fd: int | None) -> None:
        """Holding the shared lock: finish a committed sync left by a killed writer."""
        while (self._staging / _JOURNAL).exists():
            if fd is None:
                raise self._error([_interrupted(self, "no lock file can be opened here")])
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                self._recover()
            except OSError as e:
                raise self._error([_interrupted(self, str(e))]) from None
            finally:
                if fcntl is not None:
                    fcntl.flock(fd, fcntl.LOCK_SH)

    def _recover(self) -> None:
        """Holding the exclusive lock: finish a committed journal, then clear the staging area."""
        journal = self._staging / _JOURNAL
        if journal.exists():
            try:
                plan = json.loads(journal.read_bytes())
                moves = [(str(a), str(b)) for a, b in plan["replace"]]
                removals = [str(r) for r in plan["remove"]]
                manifest = plan["manifest"]
            except (ValueError, KeyError, TypeError) as e:
                raise self._error(
                    [
                        StoreProblem(
                            "interrupted",
                            None,
                            f"{STAGING}/{_JOURNAL}",
                            None,
                            None,
                            (),
                            f"{STAGING}/{_JOURNAL}: the journal of an interrupted sync cannot "
                            f"be read ({e}); move it away and run sync(..., repair=True)",
                        )
                    ]
                ) from None
            self._apply(moves, removals, manifest)
        self._clean()

    def _apply(
        self, moves: Sequence[tuple[str, str]], removals: Sequence[str], manifest: dict
    ) -> None:
        """Move staged files into place, remove dropped partitions, write the manifest, and
        delete the journal. Idempotent: a killed recovery is simply run again."""
        for src, dst in moves:
            staged, target = self._staging / src, self.path / dst
            if staged.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(staged, target)
                _fsync_dir(target.parent)
        for rel in removals:
            target = self.path / rel
            target.unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                target.parent.rmdir()
        atomic_write_bytes(self.manifest_path, _manifest_bytes(manifest), tmp_dir=self._staging)
        _fsync_dir(self.path)
        (self._staging / _JOURNAL).unlink(missing_ok=True)

    def _clean(self) -> None:
        """Holding the exclusive lock, no journal: remove what interrupted writes left behind
        (the staging area; temp files of earlier cfusage versions inside the partitions)."""
        if self._staging.is_dir():
            for leftover in self._staging.iterdir():
                with contextlib.suppress(FileNotFoundError, IsADirectoryError):
                    leftover.unlink()
            with contextlib.suppress(OSError):
                self._staging.rmdir()
        for leftover in [*self.path.glob("month=*/.tmp-*"), *self.path.glob(".tmp-*")]:
            with contextlib.suppress(FileNotFoundError, IsADirectoryError):
                leftover.unlink()

    def _exists(self) -> bool:
        """Whether there is a store here (so reading an empty directory leaves no lock file)."""
        return (
            self.manifest_path.exists()
            or self._staging.exists()
            or any(self.path.glob("month=*/" + _PART))
        )

    def _leftovers(self) -> bool:
        return self._staging.exists() or any(self.path.glob("month=*/.tmp-*"))

    def _error(self, problems: Sequence[StoreProblem]) -> StoreError:
        shown = "\n".join(f"  {p.message}" for p in problems[:5])
        more = f"\n  ... and {len(problems) - 5} more" if len(problems) > 5 else ""
        return StoreError(
            f"store {str(self.path)!r} is damaged:\n{shown}{more}\n"
            f"Store.verify() lists every damage; {_REPAIR_HINT}.",
            path=str(self.path),
            problems=problems,
        )

    # -- checks ------------------------------------------------------------------------------
    def _files(self) -> dict[str, Path]:
        return {p.parent.name.removeprefix("month="): p for p in self.path.glob("month=*/" + _PART)}

    def _inspect(
        self,
        manifest: dict[str, Any],
        *,
        months: Iterable[str] | None = None,
        deep: bool = False,
    ) -> list[StoreProblem]:
        """The damage found in the partitions (``months``, default all).

        Quick (``deep=False``): each recorded partition has a file of the recorded size and row
        count, and each file is recorded. Deep: also every page readable with its checksum, the
        SHA-256 as written, and stray files inside partition directories.
        """
        recorded = _recorded_months(manifest["days"])
        known = manifest["partitions"] or {}
        files = self._files()
        wanted = set(recorded) | set(known) | set(files)
        if months is not None:
            wanted &= set(months)
        problems = []
        for month in sorted(wanted):
            problem = self._check_partition(
                month, files.get(month), recorded.get(month, ()), known.get(month), deep
            )
            if problem is not None:
                problems.append(problem)
        if deep and months is None:
            problems.extend(self._strays())
        return problems

    def _check_partition(
        self,
        month: str,
        path: Path | None,
        days: Sequence[dt.date],
        entry: dict[str, Any] | None,
        deep: bool,
    ) -> StoreProblem | None:
        partition = f"month={month}"
        rel = f"{partition}/{_PART}"
        expected = entry["rows"] if entry else None
        recorded = f"{expected:,} rows on {len(days)} days" if entry else f"{len(days)} days"
        days = tuple(days)

        def problem(kind: str, found: int | None, what: str, refetch=days) -> StoreProblem:
            return StoreProblem(kind, partition, rel, expected, found, refetch, f"{rel}: {what}")

        if path is None:
            return problem("missing", None, f"file missing (manifest: {recorded}; found: none)")
        try:
            size = path.stat().st_size
            found = pq.read_metadata(path).num_rows
            if deep:
                table = pq.read_table(path, partitioning=None, page_checksum_verification=True)
                digest = _sha256(path)
        except (OSError, pa.ArrowException) as e:
            return problem(
                "unreadable",
                None,
                f"cannot be read ({_short(e)}) (manifest: {recorded}; found: unreadable)",
                days,
            )
        if not days and entry is None:
            found_days = _days_in(table) if deep else ()
            return problem(
                "unrecorded",
                found,
                f"{found:,} rows on {len(found_days) if deep else 'some'} days "
                "the manifest does not record",
                found_days,
            )
        if entry is None:  # a store of format 1: no counts to compare
            return None
        if found != expected:
            return problem("rows", found, f"{found:,} rows found, the manifest records {recorded}")
        if size != entry["bytes"]:
            return problem(
                "changed",
                found,
                f"{size:,} bytes, the manifest records {entry['bytes']:,} "
                f"(the file was rewritten or damaged; manifest: {recorded})",
            )
        if deep and digest != entry["sha256"]:
            return problem(
                "changed",
                found,
                f"SHA-256 differs from the file cfusage wrote (manifest: {recorded})",
            )
        return None

    def _strays(self) -> list[StoreProblem]:
        problems = []
        for folder in sorted(self.path.glob("month=*")):
            if not folder.is_dir():
                continue
            for item in sorted(folder.iterdir()):
                if item.name == _PART:
                    continue
                rel = f"{folder.name}/{item.name}"
                why = (
                    "temporary file left by an interrupted sync of an earlier cfusage version; "
                    "the next sync removes it"
                    if item.name.startswith(".tmp-")
                    else "not written by cfusage; move it out of the store"
                )
                problems.append(
                    StoreProblem(
                        "stray",
                        folder.name,
                        rel,
                        None,
                        None,
                        (),
                        f"{rel}: {why} (glob readers such as DuckDB and Polars read it too)",
                    )
                )
        return problems

    # -- verify ------------------------------------------------------------------------------
    def verify(self) -> StoreReport:
        """Check every file of the store against the manifest and report the damage.

        Checks, for each partition: the file exists, has the size, row count and SHA-256 the
        manifest records, and every page reads with its checksum; each partition file is
        recorded; no other file sits in a partition directory (glob readers would count it);
        the manifest itself parses. A sync killed after its commit is finished first.

        Returns
        -------
        StoreReport
            ``ok``, the ``problems`` (each naming the partition, expected vs found rows and the
            days a repair re-fetches), and the partitions, rows and days found. Renders as text
            and, in a notebook, as a table.

        Examples
        --------
        >>> import tempfile
        >>> Store(tempfile.mkdtemp()).verify()  # doctest: +ELLIPSIS
        Store '...': OK (0 partitions, 0 rows, 0 days recorded)
        """
        if not self._exists():
            return StoreReport(str(self.path), (), 0, 0, 0)
        with self._lock(exclusive=False) as fd:
            try:
                self._settle(fd)
            except StoreError as e:
                return StoreReport(str(self.path), tuple(e.problems), 0, 0, 0)
            manifest: dict[str, Any] | None
            try:
                loaded = self._load_manifest()
            except StoreError as e:
                problems = [*e.problems, *self._strays()]
                manifest = None
            else:
                problems = self._inspect(loaded, deep=True)
                manifest = loaded
            files = self._files()
            rows = 0
            for path in files.values():
                with contextlib.suppress(OSError, pa.ArrowException):
                    rows += pq.read_metadata(path).num_rows
        return StoreReport(
            str(self.path),
            tuple(problems),
            len(files),
            rows,
            len(manifest["days"]) if manifest else 0,
        )

    # -- sync --------------------------------------------------------------------------------
    def sync(
        self,
        client: _UsageClient,
        start: DateLike,
        end: DateLike,
        *,
        lookback_days: int = 3,
        now: dt.datetime | None = None,
        repair: bool = False,
    ) -> SyncResult:
        """Fetch the days of ``start``..``end`` that are missing or not final, and store them.

        Contiguous runs of pending days are fetched with one ``client.usage(first, last)`` call
        each (the client splits them into API windows). Each fetched day replaces what the store
        held for it; see the module docstring for the rules, the locking and the commit.

        Parameters
        ----------
        client : cfusage.Client
            Anything with ``usage(start, end) -> typed frame`` (inclusive days). Its frame's
            ``attrs["cfusage"]["complete_through"]`` says which days were delivered in full;
            without it, days after the last day with rows count as not complete.
        start, end : str, date, datetime or pandas.Timestamp
            First and last day, both included.
        lookback_days : int
            Days after its end during which the API may still revise a day (default 3); such days
            are fetched again on every sync.
        now : datetime, optional
            The time stamped as ``fetched_at`` (UTC); default the current time.
        repair : bool
            Repair the damage :meth:`verify` finds before syncing: every partition that is
            missing, unreadable, holds other rows than recorded or is not recorded is rebuilt
            from a fresh fetch of its days (also outside ``start``..``end``); a manifest that
            cannot be read is rebuilt from the partition files, their days marked not complete
            and all re-fetched. Stray files not written by cfusage are only reported (by
            :meth:`verify`). Holds the store's lock for the whole repair.

        Returns
        -------
        SyncResult
            The days fetched, the rows written for them, the new ``complete_through`` and, with
            ``repair=True``, the damage repaired.

        Raises
        ------
        cfusage.errors.StoreError
            If the store is damaged and ``repair`` is False (nothing is fetched or written).
        cfusage.APIError, cfusage.TransportError, cfusage.ResponseError
            From the client; the store is left as it was.
        ValueError
            If a day cannot be read, ``end`` is before ``start`` or ``lookback_days`` < 0.

        Examples
        --------
        >>> result = store.sync(client, "2026-01-01", "2026-03-31")  # doctest: +SKIP
        >>> len(result.fetched)  # doctest: +SKIP
        90
        """
        now = _utc(now)
        first, last = _range(start, end)
        _check_lookback(lookback_days)
        self.path.mkdir(parents=True, exist_ok=True)
        if repair:
            return self._repair(client, first, last, lookback_days, now)
        with self._lock(exclusive=False) as fd:
            self._settle(fd)
            manifest = self._load_manifest()
            problems = self._inspect(manifest)
            leftovers = self._leftovers()
        if problems:
            raise self._error(problems)
        todo = _pending(manifest["days"], first, last, lookback_days)
        if not todo:
            if leftovers:
                with self._lock(exclusive=True):
                    self._recover()
            return SyncResult((), 0, _date(manifest["complete_through"]))
        fetched, complete = _fetch(client, todo)
        with self._lock(exclusive=True):
            self._recover()
            manifest = self._load_manifest()  # another process may have written meanwhile
            problems = self._inspect(manifest)
            if problems:
                raise self._error(problems)
            rows, manifest = self._commit(manifest, fetched, todo, complete, now)
        return SyncResult(tuple(todo), rows, _date(manifest["complete_through"]))

    def _repair(
        self,
        client: _UsageClient,
        first: dt.date,
        last: dt.date,
        lookback_days: int,
        now: dt.datetime,
    ) -> SyncResult:
        with self._lock(exclusive=True):
            self._recover()
            try:
                manifest = self._load_manifest()
                problems: list[StoreProblem] = []
            except StoreError as e:
                if any(p.message.startswith(_UNKNOWN_FORMAT) for p in e.problems):
                    raise  # written by a newer cfusage: not ours to rebuild
                problems = list(e.problems)
                manifest = self._manifest_from_files()
            problems += [p for p in self._inspect(manifest, deep=True) if p.kind != "stray"]
            rebuild = {p.partition.removeprefix("month=") for p in problems if p.partition}
            todo_set = set(_pending(manifest["days"], first, last, lookback_days))
            todo_set |= {d for p in problems for d in p.days}
            if any(p.kind == "manifest" for p in problems):
                todo_set |= {dt.date.fromisoformat(d) for d in manifest["days"]}
            for month in rebuild:  # a rebuilt partition gets every recorded day back
                todo_set |= {d for d in _recorded_months(manifest["days"]).get(month, ())}
            todo = sorted(todo_set)
            fetched, complete = _fetch(client, todo)
            rows, manifest = self._commit(manifest, fetched, todo, complete, now, rebuild)
        return SyncResult(tuple(todo), rows, _date(manifest["complete_through"]), tuple(problems))

    def _manifest_from_files(self) -> dict[str, Any]:
        """A manifest for a store whose manifest is lost: the days found in the readable
        partition files, none of them complete (so all are re-fetched)."""
        manifest = _empty_manifest()
        for month, path in sorted(self._files().items()):
            try:
                table = pq.read_table(path, partitioning=None, page_checksum_verification=True)
            except (OSError, pa.ArrowException):
                continue  # inspected as unrecorded and unreadable: rebuilt or removed
            for day in _days_in(table):
                manifest["days"][day.isoformat()] = {"fetched_at": _EPOCH, "complete": False}
            manifest["partitions"][month] = _file_entry(path, table.num_rows)
            if "tags" in table.column_names:  # always JSON; extra JSON columns come back with
                manifest["json_columns"] = ["tags"]  # the re-fetch of every day (to_arrow)
        manifest["days"] = dict(sorted(manifest["days"].items()))
        return manifest

    def _commit(
        self,
        manifest: dict[str, Any],
        fetched: pd.DataFrame,
        days: Sequence[dt.date],
        complete: dict[dt.date, bool],
        now: dt.datetime,
        rebuild: Iterable[str] = (),
    ) -> tuple[int, dict[str, Any]]:
        """Holding the exclusive lock: stage, commit and apply one write.

        Each touched partition is read, its rows of ``days`` dropped (a partition in ``rebuild``
        is started afresh), the fetched rows of that month appended, and the result staged in
        ``_cfusage_staging``; the new manifest is staged with them in the journal, whose rename
        is the commit; then the files are moved into place (:meth:`_apply`).
        """
        rebuild = set(rebuild)
        fetched = _dedupe(fetched)
        fetched_day = _charge_days(fetched)
        day_set = pd.DatetimeIndex([pd.Timestamp(d, tz="UTC") for d in days])
        in_days = fetched_day.isin(day_set).to_numpy()
        month_of = fetched_day.dt.strftime("%Y-%m").to_numpy()
        table, json_columns = to_arrow(fetched)
        day_values = pa.array(day_set.as_unit("us"), type=pa.timestamp("us", tz="UTC"))

        new = json.loads(json.dumps(manifest))  # a copy
        stamp = now.isoformat().replace("+00:00", "Z")
        for day in days:
            new["days"][day.isoformat()] = {"fetched_at": stamp, "complete": complete[day]}
        new["days"] = dict(sorted(new["days"].items()))
        new["complete_through"] = _complete_through(new["days"])
        new["json_columns"] = sorted(set(new.get("json_columns", [])) | json_columns)
        new["format"] = _FORMAT
        recorded = _recorded_months(new["days"])
        files = self._files()
        partitions = new["partitions"]
        if partitions is None:  # format 1: record what the untouched files hold
            partitions = {m: _file_entry(p, pq.read_metadata(p).num_rows) for m, p in files.items()}
        new["partitions"] = partitions

        self._staging.mkdir(exist_ok=True)
        moves: list[tuple[str, str]] = []
        removals: list[str] = []
        rows = 0
        try:
            for month in sorted({d.strftime("%Y-%m") for d in days} | rebuild):
                target = self._partition(month)
                rel = target.relative_to(self.path).as_posix()
                if month not in recorded:  # a rebuilt partition with no day left
                    partitions.pop(month, None)
                    if month in files:
                        removals.append(rel)
                    continue
                fresh = table.filter(pa.array(in_days & (month_of == month)))
                rows += fresh.num_rows
                parts = [fresh]
                if month in files and month not in rebuild:
                    old = self._read_part(target, [], manifest)
                    refetched = pc.is_in(
                        pc.floor_temporal(old["charge_period_start"], unit="day"),
                        value_set=day_values,
                    )
                    parts.insert(0, old.filter(pc.invert(refetched)))
                merged = pa.concat_tables(parts, promote_options="permissive")
                merged = merged.take(
                    pc.sort_indices(merged, sort_keys=[("charge_period_start", "ascending")])
                ).combine_chunks()
                name = f"month={month}.{secrets.token_hex(6)}.tmp"
                staged = self._staging / name
                moves.append((name, rel))
                _write_parquet(merged, staged)
                partitions[month] = _file_entry(staged, merged.num_rows)
            plan = {"manifest": new, "replace": moves, "remove": removals}
            atomic_write_bytes(
                self._staging / _JOURNAL, _manifest_bytes(plan), tmp_dir=self._staging
            )  # the commit
        except BaseException:
            for name, _ in moves:
                (self._staging / name).unlink(missing_ok=True)
            raise
        _fsync_dir(self._staging)
        self._apply(moves, removals, new)
        self._clean()
        return rows, new

    # -- read --------------------------------------------------------------------------------
    def read(
        self,
        start: DateLike | None = None,
        end: DateLike | None = None,
        columns: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """The stored records of ``start``..``end`` (inclusive days) as a typed frame.

        The partitions read are first checked against the manifest (file present, size, row
        count; page checksums as they are read), under a shared lock (see the module docstring).

        Parameters
        ----------
        start, end : str, date, datetime or pandas.Timestamp, optional
            First and last charge day, both included; default everything.
        columns : sequence of str, optional
            Python column names to return (default all, schema columns first).

        Returns
        -------
        pandas.DataFrame
            Typed as :func:`cfusage.to_frame` types it (:func:`cfusage.schema.dtypes`), sorted by
            charge day and key. ``df.attrs["cfusage"]`` holds ``complete_through`` (a
            ``datetime.date`` or None) and ``store`` (the path).

        Raises
        ------
        cfusage.errors.StoreError
            If a partition of the range is missing, unreadable, holds other rows than the
            manifest records or is not recorded, or the manifest cannot be read; the message
            names each damage (see :meth:`verify` and ``sync(..., repair=True)``).
        MissingColumnsError
            If a requested column is in no stored file and not in the schema.
        ValueError
            If a day cannot be read or ``end`` is before ``start``.

        Examples
        --------
        >>> import tempfile
        >>> df = Store(tempfile.mkdtemp()).read(columns=["billed_cost"])
        >>> list(df.columns), str(df["billed_cost"].dtype)
        (['billed_cost'], 'Float64')
        """
        first = utc_day(start, "start") if start is not None else None
        last = utc_day(end, "end") if end is not None else None
        if first is not None and last is not None and last < first:
            raise ValueError(f"end={last} is before start={first}")
        if not self._exists():
            return self._frame(None, [], None, columns)
        with self._lock(exclusive=False) as fd:
            self._settle(fd)
            manifest = self._load_manifest()
            files = self._files()
            months = set(files) | set(manifest["partitions"] or {})
            months |= set(_recorded_months(manifest["days"]))
            months = {
                m
                for m in months
                if (first is None or m >= first.strftime("%Y-%m"))
                and (last is None or m <= last.strftime("%Y-%m"))
            }
            problems = self._inspect(manifest, months=months)
            if problems:
                raise self._error(problems)
            parts = [files[m] for m in sorted(months)]
            if columns is not None:
                known = {c.python for c in schema.COLUMNS}
                for part in parts:
                    known.update(pq.read_schema(part).names)
                missing = [c for c in columns if c not in known]
                if missing:
                    raise MissingColumnsError(
                        missing,
                        f"columns {missing} are in no stored file and not in the usage schema; "
                        f"known columns: {sorted(known)}",
                    )
            filters = []
            if first is not None:
                filters.append(("charge_period_start", ">=", pd.Timestamp(first, tz="UTC")))
            if last is not None:
                filters.append(("charge_period_start", "<", pd.Timestamp(last, tz="UTC") + _DAY))
            tables = [self._read_part(p, filters, manifest) for p in parts]
        return self._frame(tables, manifest["json_columns"], manifest, columns)

    def scan(self, engine: Engine = "duckdb", *, connection: Any = None) -> Any:
        """A lazy frame over the stored records, for DuckDB or Polars: nothing is read into memory.

        The store is checked first as :meth:`read` checks it (a committed sync left by a killed
        writer is finished; each partition file present with the size and row count the
        manifest records), under the shared lock; the frame then reads exactly the partition
        files checked (``month=YYYY-MM/part-0.parquet``, Hive-partitioned), when it is collected
        or a helper aggregates it. Columns are the stored ones (:meth:`read`'s, under their
        python names): datetimes ``timestamp[us, UTC]``, money / quantities / prices ``double``
        (null where unknown), ``tags`` and other JSON columns as JSON text (:meth:`read` decodes
        them). The ``month`` partition key is not a column (the record's day is
        ``charge_period_start``). Page checksums are verified by :meth:`read` and
        :meth:`verify`, not by the engines. A sync that runs while the frame is collected may
        be seen as a glob reader sees it (some months at their new version, each record at most
        once).

        Parameters
        ----------
        engine : {"duckdb", "polars"}
            ``"duckdb"`` gives a ``duckdb.DuckDBPyRelation``, ``"polars"`` a
            ``polars.LazyFrame``.
        connection : duckdb.DuckDBPyConnection, optional
            The DuckDB connection (default: cfusage's own connection, in UTC). The helpers refuse a
            connection whose time zone is not UTC (``SET TimeZone = 'UTC'``).

        Returns
        -------
        duckdb.DuckDBPyRelation or polars.LazyFrame
            One row per stored record. An empty store (or none yet) gives a frame with no rows
            and every column of :data:`cfusage.schema.COLUMNS` typed as above.

        Raises
        ------
        cfusage.errors.StoreError
            If the store is damaged (as :meth:`read`; see :meth:`verify`).
        cfusage.ArgumentError
            For an engine other than ``"duckdb"`` or ``"polars"`` (or ``connection=`` with
            Polars).
        ImportError
            If the engine's package is missing (``pip install 'cfusage[duckdb]'``).

        Examples
        --------
        >>> import tempfile
        >>> scan = Store(tempfile.mkdtemp()).scan("duckdb")
        >>> scan.aggregate("count(*)").fetchall(), "charge_period_start" in scan.columns
        ([(0,)], True)
        >>> import cfusage
        >>> cfusage.discounts(Store("usage-store").scan("polars"), by="product")  # doctest: +SKIP
        """
        what = "Store.scan()"
        engine_module(engine, what)
        if not self._exists():
            return empty_scan(engine, connection, what)
        with self._lock(exclusive=False) as fd:
            self._settle(fd)
            manifest = self._load_manifest()
            problems = self._inspect(manifest)
            if problems:
                raise self._error(problems)
            parts = [str(path) for _, path in sorted(self._files().items())]
        if not parts:
            return empty_scan(engine, connection, what)
        native = scan_files(parts, fmt="parquet", engine=engine, connection=connection, what=what)
        if engine == "duckdb":
            return native.project("* EXCLUDE (month)")
        return native.drop("month")

    def _read_part(self, path: Path, filters: list, manifest: dict[str, Any]) -> pa.Table:
        try:
            return pq.read_table(
                path,
                filters=filters or None,
                partitioning=None,
                page_checksum_verification=True,
            )
        except (OSError, pa.ArrowException) as e:
            month = path.parent.name.removeprefix("month=")
            entry = (manifest["partitions"] or {}).get(month)
            days = tuple(_recorded_months(manifest["days"]).get(month, ()))
            rel = f"month={month}/{_PART}"
            rows = entry["rows"] if entry else None
            raise self._error(
                [
                    StoreProblem(
                        "unreadable",
                        f"month={month}",
                        rel,
                        rows,
                        None,
                        days,
                        f"{rel}: cannot be read ({_short(e)}) (manifest: "
                        + (f"{rows:,} rows on " if entry else "")
                        + f"{len(days)} days; found: unreadable)",
                    )
                ]
            ) from None

    def _frame(
        self,
        tables: list[pa.Table] | None,
        json_columns: Iterable[str],
        manifest: dict[str, Any] | None,
        columns: Sequence[str] | None,
    ) -> pd.DataFrame:
        if columns is not None and tables:
            wanted = set(columns) | set(_SORT_KEYS)
            tables = [t.select([n for n in t.column_names if n in wanted]) for t in tables]
        df = _from_arrow(
            pa.concat_tables(tables, promote_options="permissive") if tables else None,
            set(json_columns),
        )
        df = df.sort_values(_sort_keys(df), kind="stable", ignore_index=True)
        for name in df.columns:
            if isinstance(df[name].dtype, pd.CategoricalDtype):
                present = df[name].cat.remove_unused_categories()
                categories = pd.Index(sorted(present.cat.categories), dtype="str")
                df[name] = present.astype(pd.CategoricalDtype(categories))
        if columns is not None:
            missing = [c for c in columns if c not in df.columns]
            if missing:
                raise MissingColumnsError(
                    missing, f"columns {missing} are in no stored file and not in the usage schema"
                )
            df = df[list(columns)]
        df.attrs["cfusage"] = {
            "complete_through": _date(manifest["complete_through"]) if manifest else None,
            "store": str(self.path),
        }
        return df

    # -- files -------------------------------------------------------------------------------
    def _partition(self, month: str) -> Path:
        return self.path / f"month={month}" / _PART


# -- module helpers --------------------------------------------------------------------------
def _range(start: DateLike, end: DateLike) -> tuple[dt.date, dt.date]:
    first, last = utc_day(start, "start"), utc_day(end, "end")
    if last < first:
        raise ValueError(f"end={last} is before start={first}")
    return first, last


def _dates(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def _runs(days: Sequence[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Contiguous runs of sorted days as (first, last) pairs."""
    runs: list[tuple[dt.date, dt.date]] = []
    for day in days:
        if runs and (day - runs[-1][1]).days == 1:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def _utc(now: dt.datetime | None) -> dt.datetime:
    if now is None:
        return dt.datetime.now(dt.UTC)
    if now.tzinfo is None:
        raise ValueError(f"now={now!r} must be timezone-aware (UTC)")
    return now.astimezone(dt.UTC)


def _is_final(day: dt.date, entry: dict[str, Any], lookback_days: int) -> bool:
    fetched = dt.datetime.fromisoformat(entry["fetched_at"])
    settled = dt.datetime.combine(
        day + dt.timedelta(days=1 + lookback_days), dt.time(), tzinfo=dt.UTC
    )
    return bool(entry.get("complete")) and fetched >= settled


def _complete_through(days: dict[str, dict[str, Any]]) -> str | None:
    """Last day of the unbroken run of complete days starting at the first stored day."""
    through: dt.date | None = None
    for key in sorted(days):
        day = dt.date.fromisoformat(key)
        if not days[key].get("complete"):
            break
        if through is not None and (day - through).days != 1:
            break
        through = day
    return through.isoformat() if through else None


def _charge_days(df: pd.DataFrame) -> pd.Series:
    return df["charge_period_start"].dt.floor("D")


def _concat(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if f is not None]
    if not frames:
        return _typed(None)
    return concat([_typed(f) for f in frames], dedupe=True)


def _dedupe(df: pd.DataFrame) -> pd.DataFrame:
    keys = [k for k in schema.KEY if k in df.columns]
    out = df.drop_duplicates(subset=keys, keep="last")
    return out.sort_values(_sort_keys(out), kind="stable", ignore_index=True)


_SORT_KEYS = ("charge_period_start", *schema.KEY)


def _sort_keys(df: pd.DataFrame) -> list[str]:
    return [k for k in _SORT_KEYS if k in df.columns]


def _from_arrow(table: pa.Table | None, json_columns: Iterable[str]) -> pd.DataFrame:
    """A typed frame from a stored table: floats as ``Float64``, JSON text decoded."""
    if table is None:
        return _typed(None)
    df = table.to_pandas(types_mapper=_types_mapper, ignore_metadata=True)
    for name in json_columns:
        if name in df.columns:
            df[name] = _decode_json(df[name])
    return _typed(df)


def _typed(df: pd.DataFrame | None) -> pd.DataFrame:
    """Every schema column present with its schema dtype (the loader's own rule)."""
    return _complete(pd.DataFrame(index=pd.RangeIndex(0)) if df is None else df)


def _types_mapper(arrow_type: pa.DataType) -> Any:
    if pa.types.is_floating(arrow_type):
        return pd.Float64Dtype()
    return None


def arrow_type(col: schema.Column) -> pa.DataType:
    """The store's Arrow type of a column: UTC timestamps, doubles, dictionaries, text."""
    if col.kind == "datetime":
        return pa.timestamp("us", tz="UTC")
    if col.kind in ("money", "quantity", "price"):
        return pa.float64()
    if col.kind == "category":
        return pa.dictionary(pa.int32(), pa.string())
    return pa.string()


def _to_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _decode_json(text: pd.Series) -> pd.Series:
    """JSON text back to python values; nulls become ``pd.NA`` (object dtype)."""
    present = text.notna().to_numpy()
    values = np.full(len(text), pd.NA, dtype=object)
    values[present] = [json.loads(v) for v in text.to_numpy()[present]]
    return pd.Series(values, index=text.index, dtype=object)


def to_arrow(df: pd.DataFrame) -> tuple[pa.Table, set[str]]:
    """The frame as an arrow table with the schema's types; returns the JSON-encoded columns."""
    arrays: list[pa.Array] = []
    fields: list[pa.Field] = []
    json_columns: set[str] = set()
    known = {c.python: c for c in schema.COLUMNS}
    for name in df.columns:
        col = df[name]
        spec = known.get(name)
        if (spec is not None and spec.kind == "tags") or (
            spec is None
            and col.dtype == object
            and not col.map(lambda v: isinstance(v, str), na_action="ignore").all()
        ):
            values = col.map(_to_json, na_action="ignore")
            mask = col.isna().to_numpy()
            array = pa.array(values.astype(object).to_numpy(), type=pa.string(), mask=mask)
            json_columns.add(name)
        elif spec is not None and spec.dtype == "Float64":
            array = pa.array(
                col.to_numpy(dtype=np.float64, na_value=np.nan),
                type=pa.float64(),
                mask=col.isna().to_numpy(),
            )
        elif spec is not None:
            array = pa.array(col, type=arrow_type(spec), from_pandas=True)
        else:
            array = pa.array(col, from_pandas=True)
        arrays.append(array)
        fields.append(pa.field(name, array.type, nullable=True))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields)), json_columns


def _write_parquet(table: pa.Table, path: Path) -> None:
    """Write one partition file, fsync'd, with page checksums; the file gets the mode of a new
    file (0o666 less the umask). Module-level so tests can make it fail."""
    with open(path, "xb") as fh:
        pq.write_table(table, fh, compression="zstd", write_page_checksum=True)
        fh.flush()
        os.fsync(fh.fileno())


def atomic_write_bytes(path: Path, data: bytes, *, tmp_dir: Path | None = None) -> None:
    """Write ``data`` to ``path`` atomically: a temp file (``.tmp-*`` in ``tmp_dir``, default the
    target's directory; same file system), fsync'd, then ``os.replace``. The file gets the mode
    of a new file (0o666 less the process umask)."""
    path = Path(path)
    folder = Path(tmp_dir) if tmp_dir is not None else path.parent
    path.parent.mkdir(parents=True, exist_ok=True)
    folder.mkdir(parents=True, exist_ok=True)
    name = folder / f".tmp-{secrets.token_hex(8)}"
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)
        raise


# -- manifest and check helpers --------------------------------------------------------------
def _empty_manifest() -> dict[str, Any]:
    return {
        "format": _FORMAT,
        "complete_through": None,
        "days": {},
        "json_columns": [],
        "partitions": {},
    }


def _manifest_bytes(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, indent=1) + "\n").encode("utf-8")


def _parse_manifest(text: bytes, store: Store) -> dict[str, Any]:
    """The manifest checked field by field; StoreError (kind "manifest") naming what is wrong."""

    def bad(what: str) -> StoreError:
        return store._error(
            [StoreProblem("manifest", None, MANIFEST, None, None, (), f"{MANIFEST}: {what}")]
        )

    try:
        data = json.loads(text)
    except (UnicodeDecodeError, ValueError) as e:
        raise bad(f"not valid JSON, truncated or corrupted ({e})") from None
    if not isinstance(data, dict):
        raise bad(f"not a JSON object but {type(data).__name__}")
    if data.get("format") not in _READABLE_FORMATS:
        raise bad(
            f"unknown store format {data.get('format')!r} (this cfusage reads formats "
            f"{', '.join(map(str, _READABLE_FORMATS))}; a newer cfusage may have written it)"
        )
    days = data.get("days")
    if not isinstance(days, dict):
        raise bad("no 'days' object (the record of the days fetched)")
    for key, entry in days.items():
        try:
            dt.date.fromisoformat(key)
            stamp = dt.datetime.fromisoformat(entry["fetched_at"])
            if stamp.tzinfo is None or not isinstance(entry.get("complete"), bool):
                raise ValueError("fetched_at without a UTC offset, or complete not a bool")
        except (TypeError, KeyError, ValueError) as e:
            raise bad(f"days[{key!r}] = {_short(entry)} is not a day record ({e})") from None
    json_columns = data.get("json_columns", [])
    if not (isinstance(json_columns, list) and all(isinstance(c, str) for c in json_columns)):
        raise bad(f"json_columns = {_short(json_columns)} is not a list of names")
    partitions = data.get("partitions")
    if data["format"] >= 2:
        if not isinstance(partitions, dict):
            raise bad("no 'partitions' object (the rows, bytes and SHA-256 of each file)")
        for month, entry in partitions.items():
            ok = (
                isinstance(entry, dict)
                and all(isinstance(entry.get(k), int) and entry[k] >= 0 for k in ("rows", "bytes"))
                and isinstance(entry.get("sha256"), str)
            )
            if not ok:
                raise bad(f"partitions[{month!r}] = {_short(entry)} is not a partition record")
    else:
        partitions = None  # format 1 kept no counts: they are recorded on the next write
    return {
        "format": data["format"],
        "complete_through": _complete_through(days),
        "days": dict(sorted(days.items())),
        "json_columns": json_columns,
        "partitions": partitions,
    }


def _recorded_months(days: dict[str, Any]) -> dict[str, list[dt.date]]:
    out: dict[str, list[dt.date]] = {}
    for key in sorted(days):
        out.setdefault(key[:7], []).append(dt.date.fromisoformat(key))
    return out


def _file_entry(path: Path, rows: int) -> dict[str, Any]:
    return {"rows": rows, "bytes": path.stat().st_size, "sha256": _sha256(path)}


def _sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _days_in(table: pa.Table) -> tuple[dt.date, ...]:
    if "charge_period_start" not in table.column_names or table.num_rows == 0:
        return ()
    days = pc.unique(pc.floor_temporal(table["charge_period_start"], unit="day")).to_pylist()
    return tuple(sorted(d.date() for d in days if d is not None))


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _interrupted(store: Store, why: str) -> StoreProblem:
    rel = f"{STAGING}/{_JOURNAL}"
    return StoreProblem(
        "interrupted",
        None,
        rel,
        None,
        None,
        (),
        f"{rel}: a sync was interrupted after its commit and cannot be finished here ({why}); "
        "any sync, read or verify with write access to the store finishes it",
    )


def _short(value: Any, limit: int = 160) -> str:
    text = str(value) if isinstance(value, BaseException) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def _check_lookback(lookback_days: int) -> None:
    if lookback_days < 0:
        raise ValueError(f"lookback_days must be >= 0, got {lookback_days!r}")


def _pending(
    days: dict[str, dict[str, Any]], first: dt.date, last: dt.date, lookback_days: int
) -> list[dt.date]:
    out = []
    day = first
    while day <= last:
        entry = days.get(day.isoformat())
        if entry is None or not _is_final(day, entry, lookback_days):
            out.append(day)
        day += dt.timedelta(days=1)
    return out


def _fetch(
    client: _UsageClient, todo: Sequence[dt.date]
) -> tuple[pd.DataFrame, dict[dt.date, bool]]:
    """Fetch ``todo`` in contiguous runs; which days the API delivered in full."""
    frames = []
    complete: dict[dt.date, bool] = {}
    for first, last in _runs(todo):
        df = client.usage(first, last)
        through = (df.attrs.get("cfusage") or {}).get("complete_through")
        if through is None and len(df):
            through = df["charge_period_start"].max().date()
        through = utc_day(through, "complete_through") if through is not None else None
        for day in _dates(first, last):
            complete[day] = through is not None and day <= through
        frames.append(df)
    return _concat(frames), complete

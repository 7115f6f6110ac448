"""The ``cfusage`` command: fetch usage, serve the sample API, write a report, summarise files.

Each command parses its arguments, calls the library and prints; nothing here that a notebook
could not do with the same functions.

Commands
--------
``cfusage fetch``
    Organization usage for a date range into a ``.parquet`` or ``.csv`` file, or into an
    incremental :class:`cfusage.Store` (``--store DIR``).
``cfusage serve-sample``
    The local sample API (:class:`cfusage.sample._server.SampleServer`) until Ctrl-C.
``cfusage report``
    The HTML spend report (:func:`cfusage.viz._report.write_report`) from the API or the sample.
``cfusage summary``
    Rows, dates, accounts, metrics and spend of usage files or a store.

The API token is read from ``CLOUDFLARE_API_TOKEN`` only (never a command-line value, which
would land in shell history); the base URL from ``--base-url`` or ``CLOUDFLARE_BASE_URL``; the
organization from ``--org`` or ``CLOUDFLARE_ORGANIZATION_ID``.

Exit codes
----------
0 success; 2 input or usage error (arguments, dates, files, data that fails validation);
3 authentication or permission (401, 403, no token); 4 rate limited (the message says when to
retry); 5 any other API, server or transport error; 1 an unexpected error (a bug); 130
interrupted. Errors are printed to stderr
as one line and a hint, without a traceback and never with the token.

What the command prints
-----------------------
Text that came from outside (API messages, account and product names, file contents) is printed
with control characters and terminal escape sequences removed, so a name cannot move the
cursor, recolour or retitle the terminal. The token (``$CLOUDFLARE_API_TOKEN``) is replaced by
``[secure]`` wherever it appears as a value in a message, in any of its written forms (as is,
repr- or backslash-escaped, percent-encoded); the hints are cfusage's own words and are left
as written. While fetching, warnings (a rate limit and when the client retries; a range that
returned no records) go to stderr as ``cfusage: warning: ...``.

Examples
--------
>>> from cfusage.cli import main
>>> main(["summary", "--help"])  # doctest: +SKIP
0
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from . import errors

if TYPE_CHECKING:
    import pandas as pd

    from .fetch import Client, Retry

__all__ = ["main"]

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_RATE_LIMIT = 4
EXIT_API = 5
EXIT_INTERRUPTED = 130
EXIT_UNEXPECTED = 1

TOKEN_ENV = "CLOUDFLARE_API_TOKEN"
ORG_ENV = "CLOUDFLARE_ORGANIZATION_ID"

#: Retry policy of the clients the CLI builds (None: the client's default). A test seam.
_RETRY: Retry | None = None


class _UsageError(Exception):
    """A problem with what the user asked for (exit 2)."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint


# -- argument parsing ------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="cfusage",
        description="Cloudflare billable usage as typed data: fetch, serve a sample API, report.",
        epilog=(
            "examples:\n"
            "  cfusage serve-sample --port 8787\n"
            "  cfusage fetch --org ORG_ID --from 2026-01-01 --to 2026-06-30 --out usage.parquet\n"
            "  cfusage report --sample --out report.html\n"
            "  cfusage summary usage.parquet\n\n"
            f"The API token is read from ${TOKEN_ENV}."
        ),
        formatter_class=fmt,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    fetch = sub.add_parser(
        "fetch",
        help="fetch organization usage into a file or a store",
        description=_doc(_cmd_fetch),
        formatter_class=fmt,
    )
    _add_source_args(fetch)
    fetch.add_argument("--from", dest="start", required=True, metavar="YYYY-MM-DD")
    fetch.add_argument("--to", dest="end", required=True, metavar="YYYY-MM-DD")
    target = fetch.add_mutually_exclusive_group(required=True)
    target.add_argument("--out", type=Path, metavar="FILE", help="a .parquet or .csv file")
    target.add_argument("--store", type=Path, metavar="DIR", help="sync into a cfusage Store")
    fetch.add_argument(
        "--lookback-days",
        type=int,
        default=3,
        metavar="N",
        help="with --store: re-fetch days fetched less than N days after they ended (default 3)",
    )
    _add_client_args(fetch)
    fetch.set_defaults(func=_cmd_fetch)

    serve = sub.add_parser(
        "serve-sample",
        help="serve the sample organization on a local imitation of the API",
        description=_doc(_cmd_serve_sample),
        formatter_class=fmt,
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8787, help="0 picks a free port (printed)")
    serve.add_argument("--token", help="accept only this bearer token (default: any)")
    serve.add_argument("--latency", type=float, default=0.0, metavar="S", help="seconds/request")
    serve.add_argument("--revision", choices=("A", "B", "C"), default="B")
    serve.add_argument("--no-costs", action="store_true", help="serve usage without costs")
    serve.add_argument("--error-rate", type=float, default=0.0, metavar="F", help="5xx fraction")
    serve.add_argument("--drop-rate", type=float, default=0.0, metavar="F")
    serve.add_argument("--truncate-rate", type=float, default=0.0, metavar="F")
    serve.add_argument("--rate-limit-storm", type=int, default=0, metavar="N")
    serve.add_argument("--retry-after", type=float, default=None, metavar="S")
    serve.add_argument("--to-exclusive", action="store_true", help="serve [from, to)")
    serve.add_argument("--seed", type=int, default=0)
    serve.set_defaults(func=_cmd_serve_sample)

    report = sub.add_parser(
        "report",
        help="write the HTML spend report",
        description=_doc(_cmd_report),
        formatter_class=fmt,
    )
    source = report.add_mutually_exclusive_group()
    source.add_argument("--sample", action="store_true", help="use the bundled sample (offline)")
    _add_source_args(report, org_group=source)
    report.add_argument("--from", dest="start", metavar="YYYY-MM-DD")
    report.add_argument("--to", dest="end", metavar="YYYY-MM-DD")
    report.add_argument("--out", type=Path, required=True, metavar="FILE")
    report.add_argument(
        "--budget", type=Path, metavar="CSV", help="columns period (YYYY-MM), budget"
    )
    report.add_argument(
        "--month",
        metavar="YYYY-MM",
        help="the month to describe, for month-end close (default: the last complete month)",
    )
    _add_client_args(report)
    report.set_defaults(func=_cmd_report)

    summary = sub.add_parser(
        "summary",
        help="summarise usage files or a store",
        description=_doc(_cmd_summary),
        formatter_class=fmt,
    )
    summary.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    summary.set_defaults(func=_cmd_summary)
    return parser


def _add_source_args(
    parser: argparse.ArgumentParser, org_group: argparse._MutuallyExclusiveGroup | None = None
) -> None:
    (org_group or parser).add_argument(
        "--org", metavar="ID", help=f"organization id (default ${ORG_ENV})"
    )
    parser.add_argument(
        "--base-url", metavar="URL", help="API base URL (default $CLOUDFLARE_BASE_URL)"
    )


def _add_client_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--concurrency", type=int, default=4, metavar="N")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--no-cache", action="store_true", help="bypass the response cache")


def _doc(func: Any) -> str:
    return (func.__doc__ or "").strip()


# -- commands --------------------------------------------------------------------------------
def _cmd_fetch(args: argparse.Namespace, out: TextIO) -> int:
    """Fetch organization usage for a date range (both days included).

    Writes a .parquet or .csv file (--out), or syncs an incremental store (--store), which
    fetches only the days it lacks or that the API may still revise.

    examples:
      export CLOUDFLARE_API_TOKEN=...   # Billing Read
      cfusage fetch --org ORG_ID --from 2026-01-01 --to 2026-06-30 --out usage.parquet
      cfusage fetch --org ORG_ID --from 2026-01-01 --to 2026-06-30 --store usage-store/
    """
    start, end = _date_range(args.start, args.end)
    kind = _output_kind(args.out) if args.out is not None else ""
    if args.lookback_days < 0:
        raise _UsageError(f"--lookback-days must be >= 0, got {args.lookback_days}")
    with _client(args) as client:
        if args.store is not None:
            from .fetch import Store

            store = Store(args.store)
            result = store.sync(client, start, end, lookback_days=args.lookback_days)
            _print(
                f"{args.store}: fetched {len(result.fetched)} day(s), {result.rows:,} records; "
                f"complete through {result.complete_through}",
                out,
            )
            if result.fetched and not result.rows:
                _warn_nothing(client.organization_id, start, end)
            return EXIT_OK
        df = client.usage(start, end)
    _write_frame(df, args.out, kind)
    through = df.attrs.get("cfusage", {}).get("complete_through")
    if len(df):
        _print(
            f"wrote {len(df):,} records ({start}..{end}, complete through {through}) to {args.out}",
            out,
        )
    else:
        _print(f"wrote 0 records ({start}..{end}: nothing came back) to {args.out}", out)
        _warn_nothing(client.organization_id, start, end)
    return EXIT_OK


def _warn_nothing(org: str | None, start: dt.date, end: dt.date) -> None:
    """Say on stderr that a fetch returned no records, and what that usually means."""
    today = dt.datetime.now(dt.UTC).date()
    future = " (part of it is in the future)" if end >= today - dt.timedelta(days=1) else ""
    _print(
        f"cfusage: warning: the API returned no records for organization {org} from {start} to "
        f"{end}{future}. This usually means a wrong organization id (--org), a token without "
        "access to it (the API answers an unknown organization with an empty result, not an "
        "error), or a range with no data yet (a day is delivered about 2 days after it ends)",
        sys.stderr,
    )


def _cmd_serve_sample(args: argparse.Namespace, out: TextIO) -> int:
    """Serve the sample organization on a local imitation of the billable-usage API.

    Paths, envelopes, parameter rules, auth and rate-limit headers as the real API; fault knobs
    to rehearse retries. Serves until Ctrl-C.

    examples:
      cfusage serve-sample --port 8787
      cfusage serve-sample --port 0 --latency 0.2 --error-rate 0.1 --revision C --no-costs
    """
    from .sample import SampleServer

    try:
        srv = SampleServer(
            host=args.host,
            port=args.port,
            token=args.token,
            latency=args.latency,
            revision=args.revision,
            costs=not args.no_costs,
            rate_limit_storm=args.rate_limit_storm,
            retry_after=args.retry_after,
            error_rate=args.error_rate,
            drop_rate=args.drop_rate,
            truncate_rate=args.truncate_rate,
            seed=args.seed,
            to_inclusive=not args.to_exclusive,
        ).start()
    except ValueError as exc:
        raise _UsageError(str(exc)) from exc
    except OSError as exc:
        raise _UsageError(
            f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}",
            "pick another --port (0 picks a free one)",
        ) from exc
    _print(f"Sample Cloudflare billable-usage API at {srv.base_url}", out)
    _print(f"organization id: {srv.org_id}", out)
    _print(f"data: {srv.first_day} .. {srv.last_day}", out)
    _print(
        f"try: CLOUDFLARE_BASE_URL={srv.base_url} CLOUDFLARE_API_TOKEN=anything cfusage fetch "
        f"--org {srv.org_id} --from {srv.last_day.replace(day=1)} --to {srv.last_day} "
        "--out usage.parquet",
        out,
    )
    print("Press Ctrl-C to stop.", file=out, flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        srv.stop()
    print("stopped", file=out)
    return EXIT_OK


def _cmd_report(args: argparse.Namespace, out: TextIO) -> int:
    """Write the HTML spend report for the organization, or for the bundled sample.

    --budget reads a CSV with columns period (YYYY-MM) and budget (optional dimension columns are
    kept). --month YYYY-MM describes that month (month-end close; default: the last complete
    month of the data). Without --from/--to: the whole sample, or for --org the previous month
    through yesterday (with --month: that month and the one before it). With --sample, a sample
    server is started in-process on a free port, the sample is fetched through the client, and
    the server is stopped: no network, no credentials.

    examples:
      cfusage report --sample --out report.html
      cfusage report --org ORG_ID --from 2026-01-01 --to 2026-06-30 --out report.html \\
          --budget budget.csv
      cfusage report --sample --month 2026-06 --out june.html
    """
    budget = _read_budget(args.budget) if args.budget is not None else None
    if (args.start is None) != (args.end is None):
        raise _UsageError("--from and --to go together", "give both, or neither for the default")
    if args.sample:
        from .fetch import Client
        from .sample import SampleServer

        with SampleServer(port=0) as srv:
            start, end = (
                _date_range(args.start, args.end)
                if args.start is not None
                else (srv.first_day, srv.last_day)
            )
            with Client(
                token="sample",
                base_url=srv.base_url,
                organization_id=srv.org_id,
                concurrency=args.concurrency,
                progress=not args.no_progress,
                cache=False,
                retry=_RETRY,
            ) as client:
                df = client.usage(start, end)
    else:
        if args.start is None and args.month is not None:
            first = _date(f"{args.month}-01", "--month")
            end = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
            start = (first - dt.timedelta(days=1)).replace(day=1)
        elif args.start is None:
            today = dt.datetime.now(dt.UTC).date()
            end = today - dt.timedelta(days=1)
            start = (end.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
        else:
            start, end = _date_range(args.start, args.end)
        with _client(args) as client:
            df = client.usage(start, end)
    from .sample import COMMITMENTS
    from .viz import write_report

    # the sample's contract, so that the report's Commitment section shows its balance
    commitments = COMMITMENTS if args.sample else None
    path = write_report(df, args.out, budget=budget, month=args.month, commitments=commitments)
    _print(str(path), out)
    return EXIT_OK


def _cmd_summary(args: argparse.Namespace, out: TextIO) -> int:
    """Summarise usage files (.json, .json.gz, .csv, .parquet) or a cfusage store directory.

    Several files are read as one dataset (a record in a later file supersedes the same record
    in an earlier one).

    examples:
      cfusage summary usage.parquet
      cfusage summary cfusage/sample/data/*.json.gz
      cfusage summary usage-store/
    """
    from .fetch import MANIFEST, Store
    from .io import summary, to_frame

    frames = []
    files = []
    for path in args.paths:
        if not path.exists():
            raise _UsageError(f"no such file or directory: {path}")
        if path.is_dir():
            if not (path / MANIFEST).exists():
                raise _UsageError(
                    f"{path} is a directory but not a cfusage store (no {MANIFEST})",
                    "pass usage files, or a directory written by 'cfusage fetch --store'",
                )
            frames.append(Store(path).read())
        else:
            files.append(path)
    if files:
        try:
            frames.append(to_frame(files if len(files) > 1 else files[0]))
        except Exception as exc:
            raise _bad_file(files, exc) from None
    if len(frames) == 1:
        df = frames[0]
    else:
        from .io import concat

        df = concat(frames)
    _print(summary(df), out)
    return EXIT_OK


def _bad_file(files: list[Path], exc: Exception) -> _UsageError:
    """A usage error naming the local file that cannot be read as usage data, and why."""
    from .io import to_frame

    culprit, reason = files[0], exc
    if len(files) > 1:  # which one? read them one by one (only on this error path)
        for path in files:
            try:
                to_frame(path)
            except Exception as one:
                culprit, reason = path, one
                break
    text = str(reason).strip()
    detail = text.splitlines()[0] if text else type(reason).__name__
    if not isinstance(reason, errors.Error):
        detail = f"{type(reason).__name__}: {detail}"
    return _UsageError(
        f"{culprit}: cannot be read as usage data: {detail}",
        "pass usage files (.json or .json.gz API envelopes or records, .csv, .parquet) or a "
        "store directory",
    )


# -- helpers ---------------------------------------------------------------------------------
def _client(args: argparse.Namespace) -> Client:
    from .fetch import Client

    if args.concurrency < 1:
        raise _UsageError(f"--concurrency must be >= 1, got {args.concurrency}")
    org = args.org or os.environ.get(ORG_ENV)
    if not org:
        raise _UsageError(
            "no organization id", f"pass --org ID or set {ORG_ENV} (or use --sample for report)"
        )
    return Client(
        base_url=args.base_url,
        organization_id=org,
        concurrency=args.concurrency,
        progress=not args.no_progress,
        cache=not args.no_cache,
        retry=_RETRY,
    )


def _date(value: str, flag: str) -> dt.date:
    try:
        if len(value) != 10:
            raise ValueError
        return dt.date.fromisoformat(value)
    except ValueError:
        raise _UsageError(
            f"{flag} {value!r} is not a date", "write days as YYYY-MM-DD, e.g. 2026-03-01"
        ) from None


def _date_range(start: str, end: str) -> tuple[dt.date, dt.date]:
    first, last = _date(start, "--from"), _date(end, "--to")
    if last < first:
        raise _UsageError(
            f"--to {last} is before --from {first}", "both days are included; swap them"
        )
    return first, last


def _output_kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise _UsageError(
            f"--out {path}: unknown file type {suffix or '(none)'!r}",
            "use a .parquet or .csv file, or --store DIR",
        )
    return suffix[1:]


def _write_frame(df: pd.DataFrame, path: Path, kind: str) -> None:
    """Write a typed frame: parquet with the store's arrow types, or CSV with ISO datetimes."""
    from .fetch import atomic_write_bytes, to_arrow

    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "parquet":
        import io

        import pyarrow.parquet as pq

        table, _ = to_arrow(df)
        buffer = io.BytesIO()
        pq.write_table(table, buffer, compression="zstd")
        atomic_write_bytes(path, buffer.getvalue())
        return
    import json

    from .io import neutralize_formulas

    text = df.copy()
    for name in text.columns:
        if text[name].dtype == object:
            text[name] = text[name].map(
                lambda v: v if isinstance(v, str) else json.dumps(v, sort_keys=True),
                na_action="ignore",
            )
    # people open this CSV in spreadsheets: a text cell never runs as a formula (=, +, -, @)
    text = neutralize_formulas(text)
    csv = text.to_csv(index=False, date_format="%Y-%m-%dT%H:%M:%SZ")
    atomic_write_bytes(path, csv.encode("utf-8"))


def _read_budget(path: Path) -> pd.DataFrame:
    import pandas as pd

    if not path.exists():
        raise _UsageError(f"--budget {path}: no such file")
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (ValueError, OSError) as exc:
        raise _UsageError(f"--budget {path}: cannot read it as CSV ({exc})") from exc
    missing = [c for c in ("period", "budget") if c not in raw.columns]
    if missing:
        raise _UsageError(
            f"--budget {path}: missing column(s) {missing}; found {list(raw.columns)}",
            "columns: period (YYYY-MM), budget (amount), optional dimension columns",
        )
    period = pd.to_datetime(raw["period"].str.strip(), format="%Y-%m", errors="coerce")
    amount = pd.to_numeric(raw["budget"].str.strip(), errors="coerce")
    for name, values, parsed in (
        ("period", raw["period"], period),
        ("budget", raw["budget"], amount),
    ):
        bad = parsed.isna().to_numpy()
        if bad.any():
            row = int(bad.argmax())
            raise _UsageError(
                f"--budget {path}: row {row + 2}: {name} = {values.iloc[row]!r} is not "
                + ("a month YYYY-MM" if name == "period" else "a number"),
                "every row needs a period (YYYY-MM) and a budget amount",
            )
    return raw.assign(period=period, budget=amount.astype("Float64"))


def _report(exc: BaseException) -> tuple[int, str, str]:
    """Exit code, message and hint for an exception."""
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, _UsageError):
        return EXIT_USAGE, message, exc.hint
    if isinstance(exc, errors.TokenError):
        return (
            EXIT_AUTH,
            message,
            f"export {TOKEN_ENV}=<token with Billing Read> (it is never read from a flag)",
        )
    if isinstance(exc, errors.AuthenticationError):
        return EXIT_AUTH, message, f"check ${TOKEN_ENV}: the token is missing, wrong or revoked"
    if isinstance(exc, errors.PermissionDeniedError):
        return (
            EXIT_AUTH,
            message,
            "the token needs Billing Read, and the organization must be allow-listed for the "
            "billable-usage alpha",
        )
    if isinstance(exc, errors.RateLimitError):
        when = _retry_when(exc.retry_after) if exc.retry_after is not None else ""
        return (
            EXIT_RATE_LIMIT,
            message,
            (when or "retry in about 5 minutes")
            + "; the limit is 1200 requests per 5 minutes per user, dashboard included",
        )
    if isinstance(exc, errors.NotFoundError):
        return EXIT_API, message, "check --org and --base-url"
    if isinstance(exc, errors.BadRequestError):
        return EXIT_API, message, "the API refused the request parameters (see its message)"
    if isinstance(exc, errors.APIError | errors.TransportError | errors.ResponseError):
        return EXIT_API, message, "the API or the connection failed; try again later"
    if isinstance(exc, errors.ValidationError):
        return EXIT_USAGE, message, "the data has rows cfusage cannot use (see the message)"
    if isinstance(exc, errors.Error):
        return EXIT_USAGE, message, ""
    if isinstance(exc, OSError):
        return EXIT_USAGE, message, "check the path and its permissions"
    if isinstance(exc, ValueError):
        return EXIT_USAGE, message, ""
    return (
        EXIT_UNEXPECTED,
        f"unexpected {type(exc).__name__}: {message}",
        "this is a bug in cfusage; please report it with the command you ran",
    )


def _retry_when(seconds: float, now: dt.datetime | None = None) -> str:
    """``retry in 10 min (at 14:05:00 UTC)``; days away, the date too; absurd waits, in words.

    Examples
    --------
    >>> now = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
    >>> _retry_when(600, now), _retry_when(273600, now)
    ('retry in 10 min (at 12:10:00 UTC)', 'retry in 3 d 4 h (at 2026-03-04 16:00 UTC)')
    >>> _retry_when(1e12, now)
    'retry in more than a year (the API asks for 1e+12 s)'
    """
    from .fetch import format_duration

    now = now or dt.datetime.now(dt.UTC)
    if not seconds >= 0 or seconds >= 365 * 86400:
        return f"retry in {format_duration(seconds)} (the API asks for {seconds:.3g} s)"
    at = now + dt.timedelta(seconds=seconds)
    stamp = f"{at:%H:%M:%S} UTC" if seconds < 86400 else f"{at:%Y-%m-%d %H:%M} UTC"
    return f"retry in {format_duration(seconds)} (at {stamp})"


#: ANSI/VT escape sequences (CSI, OSC, DCS/PM/APC strings, two-character escapes), then any
#: other C0/C1 control character but the newline.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b[\]PX^_].*?(?:\x07|\x1b\\|\x9c|$)"
    r"|\x9b[0-?]*[ -/]*[@-~]"
    r"|[\x90\x9d\x98\x9e\x9f].*?(?:\x07|\x1b\\|\x9c|$)"
    r"|\x1b[ -/]*[0-~]?"
    r"|[\x00-\x09\x0b-\x1f\x7f-\x9f]",
    re.DOTALL,
)


def _clean(text: str) -> str:
    r"""``text`` without terminal escape sequences or control characters (newlines kept; a tab
    becomes a space), so outside text cannot drive the terminal.

    Examples
    --------
    >>> _clean("acct \x1b]0;pwned\x07\x1b[31mred\x1b[0m\r\tdone\x00")
    'acct red done'
    """
    return _ESCAPES.sub("", text.replace("\t", " "))


def _scrub(text: str) -> str:
    """``text`` with the token replaced where it stands as a value (see :mod:`cfusage.cli`)."""
    from .fetch import scrub_secret

    return scrub_secret(text, os.environ.get(TOKEN_ENV))


def _print(text: str, stream: TextIO) -> None:
    """Print outside-derived text: control characters stripped, the token scrubbed."""
    print(_scrub(_clean(text)), file=stream)


class _StderrWarnings(logging.Handler):
    """cfusage's warnings (rate limited, retrying at ...) on stderr while a command runs."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            from tqdm.auto import tqdm

            message = record.getMessage().removeprefix("cfusage: ")
            # tqdm.write: on a line of its own, above a progress bar that is running
            tqdm.write(_scrub(_clean(f"cfusage: warning: {message}")), file=sys.stderr)
        except Exception:  # a warning that cannot be printed must not fail the command
            self.handleError(record)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``cfusage`` command line.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; default ``sys.argv[1:]``.

    Returns
    -------
    int
        The exit code: 0 ok, 2 input/usage, 3 authentication/permission, 4 rate limited,
        5 other API/server/transport error, 1 unexpected error, 130 interrupted.

    Examples
    --------
    >>> main(["fetch", "--org", "x", "--from", "2026-13-01", "--to", "2026-01-31",
    ...       "--out", "usage.parquet"])  # doctest: +SKIP
    2
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return int(exc.code or 0)
    logger = logging.getLogger("cfusage")
    handler = _StderrWarnings(logging.WARNING)
    logger.addHandler(handler)
    try:
        return int(args.func(args, sys.stdout))
    except KeyboardInterrupt:
        print("cfusage: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        code, message, hint = _report(exc)
        _print_error(message, hint, sys.stderr)
        return code
    finally:
        logger.removeHandler(handler)


def _print_error(message: str, hint: str, err: TextIO) -> None:
    """The error line (outside text: cleaned and scrubbed) and the hint (cfusage's own words:
    cleaned only, so a short token such as ``wrong`` does not blank out the word "wrong")."""
    _print(f"cfusage: error: {message}", err)
    if hint:
        print(f"hint: {_clean(hint)}", file=err)


if __name__ == "__main__":
    sys.exit(main())

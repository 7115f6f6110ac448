"""The ``cfusage`` command line, driven in-process with ``main([...])`` against the sample server."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys

import httpx
import pandas as pd
import pytest

import cfusage.cli as cli
from cfusage import errors, schema, to_frame
from cfusage.cli import main
from cfusage.fetch._client import Retry
from cfusage.fetch._store import Store

SECRET = "cfut_CLI_SECRET_0123456789abcdef"


@pytest.fixture(autouse=True)
def environment(monkeypatch, tmp_path):
    """A recognisable token, a private cache, no inherited Cloudflare settings, fast retries."""
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", SECRET)
    monkeypatch.setenv("CFUSAGE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("CLOUDFLARE_BASE_URL", raising=False)
    monkeypatch.delenv("CLOUDFLARE_ORGANIZATION_ID", raising=False)
    monkeypatch.setattr(cli, "_RETRY", Retry(max_attempts=2, backoff=0.01, max_backoff=0.01))


def fetch_args(srv, *extra: str, start="2026-02-01", end="2026-03-15") -> list[str]:
    return [
        "fetch",
        "--org",
        srv.org_id,
        "--base-url",
        srv.base_url,
        "--from",
        start,
        "--to",
        end,
        "--no-progress",
        *extra,
    ]


def served_records(srv, start: str, end: str) -> list[dict]:
    return [r for r in srv.records if start <= r["ChargePeriodStart"][:10] <= end]


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    assert SECRET not in out and SECRET not in err
    return code, out, err


# -- fetch -----------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_fetch_writes_every_record_of_the_range(sample_server, tmp_path, capsys, suffix):
    out_file = tmp_path / f"usage{suffix}"
    code, out, err = run(fetch_args(sample_server, "--out", str(out_file)), capsys)
    assert code == 0, err
    df = to_frame(out_file)
    expected = served_records(sample_server, "2026-02-01", "2026-03-15")
    assert len(df) == len(expected)
    assert df["charge_period_start"].min() == pd.Timestamp("2026-02-01", tz="UTC")
    assert df["charge_period_start"].max() == pd.Timestamp("2026-03-15", tz="UTC")
    assert round(float(df["billed_cost"].sum()), 6) == round(
        sum(r["BilledCost"] for r in expected), 6
    )
    assert {c: str(t) for c, t in df[list(schema.dtypes())].dtypes.items()} == schema.dtypes()
    assert f"wrote {len(expected):,} records" in out and str(out_file) in out


def test_fetch_into_a_store_then_again_fetches_nothing_final(sample_server, tmp_path, capsys):
    store_dir = tmp_path / "store"
    code, out, _ = run(fetch_args(sample_server, "--store", str(store_dir)), capsys)
    assert code == 0
    assert "fetched 43 day(s)" in out
    assert len(Store(store_dir).read()) == len(
        served_records(sample_server, "2026-02-01", "2026-03-15")
    )
    code, out, _ = run(fetch_args(sample_server, "--store", str(store_dir)), capsys)
    assert code == 0 and "fetched 0 day(s)" in out


# -- exit codes ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "change",
    [
        {"start": "2026-13-01"},
        {"start": "01/02/2026"},
        {"start": "2026-03-01", "end": "2026-02-01"},
    ],
)
def test_bad_dates_exit_2_with_a_hint(sample_server, tmp_path, capsys, change):
    argv = fetch_args(sample_server, "--out", str(tmp_path / "u.parquet"), **change)
    code, _, err = run(argv, capsys)
    assert code == 2
    assert err.startswith("cfusage: error: --")
    assert "hint:" in err and "Traceback" not in err
    assert not (tmp_path / "u.parquet").exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["fetch", "--from", "2026-01-01", "--to", "2026-01-31"],  # no --out / --store
        ["fetch", "--from", "2026-01-01", "--to", "2026-01-31", "--out", "a.parquet", "--bogus"],
        ["frobnicate"],
        [],
    ],
)
def test_usage_errors_exit_2(argv, capsys):
    code, _, err = run(argv, capsys)
    assert code == 2 and "usage:" in err


def test_unknown_output_type_exits_2(sample_server, tmp_path, capsys):
    code, _, err = run(fetch_args(sample_server, "--out", str(tmp_path / "u.xlsx")), capsys)
    assert code == 2 and ".xlsx" in err and "hint: use a .parquet or .csv" in err


def test_missing_organization_exits_2(sample_server, tmp_path, capsys):
    argv = fetch_args(sample_server, "--out", str(tmp_path / "u.csv"))
    del argv[1:3]  # drop --org ID
    code, _, err = run(argv, capsys)
    assert code == 2 and "CLOUDFLARE_ORGANIZATION_ID" in err


def test_help_exits_0(capsys):
    code, out, _ = run(["fetch", "--help"], capsys)
    assert code == 0 and "cfusage fetch --org ORG_ID" in out


def test_wrong_token_exits_3(make_server, tmp_path, capsys):
    srv = make_server(token="the-right-token")
    code, _, err = run(fetch_args(srv, "--out", str(tmp_path / "u.csv")), capsys)
    assert code == 3
    assert "401" in err and "hint: check $CLOUDFLARE_API_TOKEN" in err


@pytest.mark.parametrize("value", [None, "", " \r\n"], ids=["unset", "empty", "blank"])
def test_no_token_exits_3_before_any_request(sample_server, tmp_path, capsys, monkeypatch, value):
    if value is None:
        monkeypatch.delenv("CLOUDFLARE_API_TOKEN")
    else:
        monkeypatch.setenv("CLOUDFLARE_API_TOKEN", value)
    before = len(sample_server.requests)
    code, _, err = run(fetch_args(sample_server, "--out", str(tmp_path / "u.csv")), capsys)
    assert code == 3
    assert err.splitlines() == [
        "cfusage: error: no API token: pass token= or set $CLOUDFLARE_API_TOKEN (a token with "
        "Billing Read)",
        "hint: export CLOUDFLARE_API_TOKEN=<token with Billing Read> (it is never read from a "
        "flag)",
    ]
    assert len(sample_server.requests) == before


@pytest.mark.parametrize("ending", ["\n", "\r\n", " ", "\t\n"])
def test_a_token_with_surrounding_whitespace_is_stripped_and_works(
    make_server, tmp_path, capsys, monkeypatch, ending
):
    # issue 11: Path("token.txt").read_text() gives a trailing newline; it leaked in the error
    srv = make_server(token=SECRET)
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", SECRET + ending)
    code, out, err = run(fetch_args(srv, "--out", str(tmp_path / "u.csv")), capsys)
    assert code == 0, err
    assert "wrote " in out


@pytest.mark.parametrize(
    ("inside", "problem"),
    [("\n", "a control character (U+000A) at position 17"), ("é", "a non-ASCII character")],
)
def test_a_token_that_cannot_be_a_header_exits_3_naming_the_problem_not_the_token(
    sample_server, tmp_path, capsys, monkeypatch, inside, problem
):
    bad = SECRET[:16] + inside + SECRET[16:]
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", bad)
    before = len(sample_server.requests)
    code, out, err = run(fetch_args(sample_server, "--out", str(tmp_path / "u.csv")), capsys)
    assert code == 3 and problem in err
    for part in (SECRET[:16], SECRET[16:], repr(bad)[1:-1]):
        assert part not in err + out
    assert len(sample_server.requests) == before


def test_a_short_wrong_token_leaves_the_hints_words_alone(
    make_server, tmp_path, capsys, monkeypatch
):
    # issue 13: with CLOUDFLARE_API_TOKEN=wrong the hint read "missing, [secure] or revoked"
    srv = make_server(token="the-right-token")
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", "wrong")
    code, _, err = run(fetch_args(srv, "--out", str(tmp_path / "u.csv")), capsys)
    assert code == 3
    assert "hint: check $CLOUDFLARE_API_TOKEN: the token is missing, wrong or revoked" in err


def test_rate_limit_exits_4_and_says_when_to_retry(make_server, tmp_path, capsys):
    srv = make_server(rate_limit_storm=100, retry_after=600)
    code, _, err = run(fetch_args(srv, "--out", str(tmp_path / "u.csv")), capsys)
    assert code == 4
    assert "retry in 10 min (at " in err and "UTC)" in err


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(273600, "retry in 3 d 4 h (at 20"), (1e12, "retry in more than a year")],
    ids=["days-away", "1e12"],
)
def test_a_retry_days_away_is_shown_in_days_and_1e12_does_not_crash(
    make_server, tmp_path, capsys, seconds, shown
):
    # issue 11: Retry-After 1e12 crashed the reporter (OverflowError); days showed as HH:MM:SS
    srv = make_server(rate_limit_storm=100, retry_after=seconds)
    code, _, err = run(fetch_args(srv, "--out", str(tmp_path / "u.csv")), capsys)
    assert code == 4, err
    assert shown in err and "unexpected" not in err


def test_a_rate_limit_without_retry_after_is_announced_with_the_retry_time(
    make_server, tmp_path, capsys
):
    # issue 13: a 429 without Retry-After waited in silence
    srv = make_server(rate_limit_storm=2, retry_after=None)
    argv = fetch_args(srv, "--out", str(tmp_path / "u.csv"), start="2026-03-01", end="2026-03-01")
    argv.remove("--no-progress")
    code, _, err = run(argv, capsys)
    assert code == 0, err
    warnings = [line for line in err.splitlines() if line.startswith("cfusage: warning:")]
    assert len(warnings) == 2
    assert all(
        "window 2026-03-01..2026-03-01: rate limited (no Retry-After); retrying in " in w
        and " UTC" in w
        for w in warnings
    )
    assert ("cfusage usage" in err and "rate limited (no Retry-After)" in err.split("\n")[-1]) or (
        err.count("rate limited (no Retry-After)") > 2  # the progress bar's postfix says it too
    )


def test_server_errors_exit_5(make_server, tmp_path, capsys):
    srv = make_server(error_rate=1.0)
    code, _, err = run(fetch_args(srv, "--out", str(tmp_path / "u.csv")), capsys)
    assert code == 5 and err.count("\n") == 2  # one line and a hint


def test_not_found_exits_5(sample_server, tmp_path, capsys):
    argv = fetch_args(sample_server, "--out", str(tmp_path / "u.csv"))
    argv[argv.index("--base-url") + 1] = sample_server.base_url.replace("/client/v4", "/v9")
    code, _, err = run(argv, capsys)
    assert code == 5 and "404" in err and "--base-url" in err


def test_connection_refused_exits_5(tmp_path, capsys):
    with socket_that_refuses() as port:
        argv = [
            "fetch",
            "--org",
            "a" * 32,
            "--base-url",
            f"http://127.0.0.1:{port}/client/v4",
            "--from",
            "2026-01-01",
            "--to",
            "2026-01-02",
            "--out",
            str(tmp_path / "u.csv"),
            "--no-progress",
        ]
        code, _, err = run(argv, capsys)
    assert code == 5 and "Traceback" not in err


class socket_that_refuses:
    """A port with nothing listening on it (bound, then closed)."""

    def __enter__(self) -> int:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    def __exit__(self, *exc: object) -> None:
        return None


# -- report and summary ----------------------------------------------------------------------
def test_report_from_the_sample_writes_html(tmp_path, capsys):
    budget = tmp_path / "budget.csv"
    budget.write_text("period,budget,team\n2026-09,40000,all\n2026-10,42000,all\n")
    out_file = tmp_path / "report.html"
    argv = ["report", "--sample", "--from", "2026-09-01", "--to", "2026-10-31"]
    code, out, err = run(
        [*argv, "--out", str(out_file), "--budget", str(budget), "--no-progress"], capsys
    )
    assert code == 0, err
    assert out.strip() == str(out_file)
    html = out_file.read_text()
    assert html.lstrip().lower().startswith("<!doctype html") and "Budget" in html


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("month,budget\n2026-09,1\n", "missing column(s) ['period']"),
        ("period,budget\n2026-09,lots\n", "row 2: budget = 'lots' is not a number"),
        ("period,budget\nSeptember,10\n", "row 2: period = 'September' is not a month"),
    ],
)
def test_bad_budget_file_exits_2_naming_the_value(tmp_path, capsys, content, message):
    budget = tmp_path / "budget.csv"
    budget.write_text(content)
    argv = ["report", "--sample", "--out", str(tmp_path / "r.html"), "--budget", str(budget)]
    code, _, err = run(argv, capsys)
    assert code == 2 and message in err


def test_summary_of_files_and_of_a_store(sample_server, tmp_path, capsys):
    out_file = tmp_path / "u.parquet"
    assert run(fetch_args(sample_server, "--out", str(out_file)), capsys)[0] == 0
    assert run(fetch_args(sample_server, "--store", str(tmp_path / "s")), capsys)[0] == 0
    n = len(served_records(sample_server, "2026-02-01", "2026-03-15"))
    for target in (out_file, tmp_path / "s"):
        code, out, _ = run(["summary", str(target)], capsys)
        assert code == 0
        assert out.startswith(f"{n:,} usage records, 2026-02-01 to 2026-03-15 (43 days)")


def test_summary_of_a_missing_file_exits_2(tmp_path, capsys):
    code, _, err = run(["summary", str(tmp_path / "nope.parquet")], capsys)
    assert code == 2 and "nope.parquet" in err


# -- the token never shows -------------------------------------------------------------------
def test_token_never_printed_even_when_an_error_quotes_it(monkeypatch, capsys):
    def leaky(args, out):
        raise ValueError(f"something went wrong with {SECRET}")

    monkeypatch.setattr(cli, "_cmd_summary", leaky)
    code, _, err = run(["summary", "x"], capsys)  # run() asserts SECRET is absent
    assert code == 2 and "[secure]" in err


@pytest.mark.parametrize(
    "quoted",
    [
        repr(SECRET + "\n"),  # 'cfut_...\n', as httpx's "Illegal header value" shows it
        repr((SECRET + "\r\n").encode()),  # b'cfut_...\r\n'
        "Bearer%20" + SECRET.replace("_", "%5F") + "%0A",  # percent-encoded
        "token=" + SECRET + "&x=1",
    ],
    ids=["repr", "bytes", "percent", "query"],
)
def test_escaped_forms_of_the_token_are_scrubbed(monkeypatch, capsys, quoted):
    # issue 11: the scrubber missed the repr-escaped form of a token ending in a newline
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", SECRET + "\n")

    def leaky(args, out):
        raise ValueError(f"Illegal header value {quoted}")

    monkeypatch.setattr(cli, "_cmd_summary", leaky)
    code, _, err = run(["summary", "x"], capsys)
    assert code == 2 and "[secure]" in err
    assert SECRET.replace("_", "%5F") not in err


def test_terminal_escapes_from_outside_are_stripped(monkeypatch, capsys):
    # issue 11: escape sequences in API messages and names reached the terminal raw
    def hostile(args, out):
        out.write("")
        cli._print("account \x1b]0;pwned\x07\x1b[31mEvil\x1b[0m Corp\r\x1b[2J", out)
        raise errors.BadRequestError(
            "bad request", status_code=400, errors=[{"code": 1, "message": "\x1b[5mno\x1b[0m"}]
        )

    monkeypatch.setattr(cli, "_cmd_summary", hostile)
    code, out, err = run(["summary", "x"], capsys)
    assert code == 5
    assert out == "account Evil Corp\n"
    assert "\x1b" not in err and "[1] no" in err


def test_a_summary_of_names_with_escapes_prints_them_clean(tmp_path, capsys):
    records = [
        {
            "BillingAccountId": "a1",
            "BillingAccountName": "\x1b]0;owned\x07\x1b[31mRed\x1b[0m",
            "ChargePeriodStart": "2026-03-01T00:00:00Z",
            "ChargePeriodEnd": "2026-03-02T00:00:00Z",
            "x_BillableMetricId": "m\x1b[2J1",
            "ConsumedQuantity": 1.0,
            "ConsumedUnit": "Requests",
        }
    ]
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps({"success": True, "errors": [], "messages": [], "result": records}))
    code, out, err = run(["summary", str(path)], capsys)
    assert code == 0, err
    assert "\x1b" not in out and "\x07" not in out


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("garbage.json", b"\x00\x01 this is not json {"),
        ("README.md", b"# cfusage\n\nSome *markdown*.\n"),
        ("numbers.json", b'{"success": true, "result": [{"ListCost": 1e400}]}'),
    ],
)
def test_summary_of_a_file_that_is_not_usage_exits_2_naming_it(tmp_path, capsys, name, content):
    # issue 13: this exited 5 with "the API or the connection failed"
    path = tmp_path / name
    path.write_bytes(content)
    code, _, err = run(["summary", str(path)], capsys)
    assert code == 2, err
    first, hint = err.splitlines()
    assert first.startswith(f"cfusage: error: {path}: cannot be read as usage data: ")
    assert "API or the connection" not in err and hint.startswith("hint: pass usage files")


def test_summary_names_the_bad_one_of_several_files(sample_server, tmp_path, capsys):
    good = tmp_path / "good.parquet"
    assert run(fetch_args(sample_server, "--out", str(good)), capsys)[0] == 0
    bad = tmp_path / "bad.json"
    bad.write_text("nope")
    code, _, err = run(["summary", str(good), str(bad)], capsys)
    assert code == 2 and f"error: {bad}: cannot be read" in err


@pytest.mark.parametrize(
    ("org", "start", "end", "future"),
    [
        ("0000badorg", "2026-02-01", "2026-03-15", False),
        (None, "2031-01-01", "2031-01-31", True),
    ],
    ids=["unknown-org", "future-range"],
)
def test_a_fetch_that_returns_nothing_warns_and_exits_0(
    sample_server, tmp_path, capsys, org, start, end, future
):
    # issue 13: this printed "wrote 0 records (... complete through None)" and nothing else
    argv = fetch_args(sample_server, "--out", str(tmp_path / "u.csv"), start=start, end=end)
    if org is not None:
        argv[argv.index("--org") + 1] = org
    code, out, err = run(argv, capsys)
    assert code == 0
    assert "wrote 0 records" in out and "None" not in out
    (warning,) = err.splitlines()
    assert warning.startswith("cfusage: warning: the API returned no records for organization ")
    assert "wrong organization id (--org)" in warning and "no data yet" in warning
    assert ("in the future" in warning) == future


# -- serve-sample as a real process ----------------------------------------------------------
def test_serve_sample_prints_its_url_serves_and_stops_on_ctrl_c():
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cfusage.cli", "serve-sample", "--port", "0", "--token", "tok"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        first = proc.stdout.readline()
        org_line = proc.stdout.readline()
        assert first.startswith("Sample Cloudflare billable-usage API at http://127.0.0.1:")
        base_url = first.rsplit(" ", 1)[1].strip()
        org_id = org_line.split(":", 1)[1].strip()
        r = httpx.get(
            f"{base_url}/organizations/{org_id}/billable/usage",
            params={"from": "2026-03-01", "to": "2026-03-01"},
            headers={"Authorization": "Bearer tok"},
        )
        assert r.status_code == 200 and r.json()["result"]
        assert dt.date.fromisoformat(r.json()["result"][0]["ChargePeriodStart"][:10]) == dt.date(
            2026, 3, 1
        )
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "Traceback" not in err


def test_a_store_sync_that_returns_nothing_warns_and_exits_0(sample_server, tmp_path, capsys):
    argv = fetch_args(sample_server, "--store", str(tmp_path / "s"))
    argv[argv.index("--org") + 1] = "0000badorg"
    code, out, err = run(argv, capsys)
    assert code == 0, err
    assert "0 records" in out
    assert err.startswith(
        "cfusage: warning: the API returned no records for organization 0000badorg"
    )

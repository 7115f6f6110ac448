"""The sample API server over real sockets, driven with httpx directly."""

from __future__ import annotations

import datetime as dt
import logging
import socket
import time

import httpx
import pytest

from cfusage import sample, schema
from cfusage.sample._server import SampleServer

AUTH = {"Authorization": "Bearer test-token"}
#: One client for the module: building an httpx.Client (its TLS context) per call is slow.
HTTP = httpx.Client(timeout=30)
RATE_HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "ratelimit", "ratelimit-policy")
COST_WIRE = {c.wire for c in schema.COLUMNS if c.kind in ("money", "price")}


def org_url(srv: SampleServer, org_id: str | None = None) -> str:
    return f"{srv.base_url}/organizations/{org_id or srv.org_id}/billable/usage"


def account_url(srv: SampleServer, account_id: str) -> str:
    return f"{srv.base_url}/accounts/{account_id}/billable/usage"


def get(srv: SampleServer, params: dict | None = None, **kw) -> httpx.Response:
    return HTTP.get(org_url(srv), params=params, headers=kw.pop("headers", AUTH), **kw)


def days_of(records: list[dict]) -> set[str]:
    return {r["ChargePeriodStart"][:10] for r in records}


def assert_error(r: httpx.Response, status: int, code: int) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["success"] is False
    assert body["result"] is None
    assert body["messages"] == []
    assert [e["code"] for e in body["errors"]] == [code]
    assert body["errors"][0]["message"]
    return body


# -- the data served -------------------------------------------------------------------------
def test_one_day_serves_exactly_the_sample_records_of_that_day(sample_server):
    r = get(sample_server, {"from": "2026-03-14", "to": "2026-03-14"})
    assert r.status_code == 200
    body = r.json()
    assert body["success"] is True and body["errors"] == [] and body["messages"] == []
    expected = [
        rec for rec in sample_server.records if rec["ChargePeriodStart"].startswith("2026-03-14")
    ]
    assert len(expected) > 0
    assert body["result"] == expected


def test_default_data_is_the_committed_sample(sample_server):
    committed = sample.load()  # read from cfusage/sample/data/*.json.gz, not generated
    assert len(sample_server.records) == len(committed)
    served = sum(r.get("BilledCost") or 0.0 for r in sample_server.records)
    assert served == pytest.approx(float(committed["billed_cost"].sum()), rel=1e-12)
    assert (sample_server.first_day, sample_server.last_day) == (
        committed["charge_period_start"].min().date(),
        committed["charge_period_start"].max().date(),
    )


def test_to_is_inclusive_by_default(sample_server):
    r = get(sample_server, {"from": "2026-02-27", "to": "2026-03-02"})
    assert days_of(r.json()["result"]) == {"2026-02-27", "2026-02-28", "2026-03-01", "2026-03-02"}


def test_to_exclusive_knob_serves_half_open_range(make_server):
    srv = make_server(to_inclusive=False)
    r = get(srv, {"from": "2026-02-27", "to": "2026-03-02"})
    assert days_of(r.json()["result"]) == {"2026-02-27", "2026-02-28", "2026-03-01"}


def test_no_range_serves_month_to_date_of_the_last_day(sample_server):
    last = sample_server.last_day
    assert last == sample.COMPLETE_THROUGH
    r = get(sample_server)
    days = days_of(r.json()["result"])
    expected = {(last.replace(day=1) + dt.timedelta(days=i)).isoformat() for i in range(last.day)}
    assert days == expected


def test_unknown_organization_is_success_with_empty_result(sample_server):
    r = HTTP.get(org_url(sample_server, "0" * 32), headers=AUTH)
    assert r.status_code == 200
    assert r.json() == {"success": True, "errors": [], "messages": [], "result": []}


def test_days_outside_the_sample_are_empty(sample_server):
    r = get(sample_server, {"from": "2027-01-01", "to": "2027-01-31"})
    assert r.status_code == 200 and r.json()["result"] == []


# -- parameter rules -------------------------------------------------------------------------
@pytest.mark.parametrize("params", [{"from": "2026-03-01"}, {"to": "2026-03-01"}])
def test_from_and_to_must_come_together(sample_server, params):
    assert_error(get(sample_server, params), 400, 1001)


@pytest.mark.parametrize("bad", ["2026-3-01", "2026-02-30", "20260301", "", "2026-03-01T00:00:00Z"])
def test_dates_must_be_valid_yyyy_mm_dd(sample_server, bad):
    body = assert_error(get(sample_server, {"from": bad, "to": "2026-03-05"}), 400, 1002)
    assert "from" in body["errors"][0]["message"]


def test_range_of_31_inclusive_days_is_accepted_and_32_refused(sample_server):
    ok = get(sample_server, {"from": "2026-01-01", "to": "2026-01-31"})
    assert ok.status_code == 200
    assert len(days_of(ok.json()["result"])) == 31
    assert_error(get(sample_server, {"from": "2026-01-01", "to": "2026-02-01"}), 400, 1003)


def test_reversed_range_is_refused(sample_server):
    assert_error(get(sample_server, {"from": "2026-03-05", "to": "2026-03-01"}), 400, 1003)


def test_unknown_query_parameter_is_refused(sample_server):
    body = assert_error(
        get(sample_server, {"from": "2026-03-01", "to": "2026-03-01", "page": "2"}), 400, 1004
    )
    assert "page" in body["errors"][0]["message"]


@pytest.mark.parametrize("revision", ["A", "B"])
def test_metric_filter_in_revisions_a_and_b(make_server, revision):
    srv = make_server(revision=revision)
    r = get(srv, {"from": "2026-03-01", "to": "2026-03-03", "metric": "r2_class_a_operations"})
    result = r.json()["result"]
    assert result
    assert {rec["x_BillableMetricId"] for rec in result} == {"r2_class_a_operations"}
    expected = [
        rec
        for rec in srv.records
        if rec["x_BillableMetricId"] == "r2_class_a_operations"
        and "2026-03-01" <= rec["ChargePeriodStart"][:10] <= "2026-03-03"
    ]
    assert len(result) == len(expected)


def test_metric_parameter_is_unknown_in_revision_c(make_server):
    srv = make_server(revision="C")
    params = {"from": "2026-03-01", "to": "2026-03-01", "metric": "r2_class_a_operations"}
    body = assert_error(get(srv, params), 400, 1004)
    assert "metric" in body["errors"][0]["message"]


# -- revisions and costs ---------------------------------------------------------------------
def test_revision_a_lacks_product_family_id_and_category(make_server):
    result = get(make_server(revision="A"), {"from": "2026-03-01", "to": "2026-03-01"}).json()
    records = result["result"]
    assert records
    assert not any("x_ProductFamilyId" in r or "x_ProductCategoryName" in r for r in records)
    assert all("BillingAccountId" in r and "ListCost" in r for r in records)


def test_revision_b_has_every_field(sample_server):
    records = get(sample_server, {"from": "2026-03-01", "to": "2026-03-01"}).json()["result"]
    assert all("x_ProductFamilyId" in r and "x_BillableMetricId" in r for r in records)


def test_revision_c_without_costs_is_usage_only(make_server):
    srv = make_server(revision="C", costs=False)
    records = get(srv, {"from": "2026-03-01", "to": "2026-03-01"}).json()["result"]
    assert records
    assert not any(COST_WIRE & set(r) or "BillingCurrency" in r for r in records)
    assert {r.get("ChargeCategory") for r in records} == {"Usage"}
    # contract-level rows (Zero Trust seats) carry no account in revision C
    assert any("BillingAccountId" not in r for r in records)


def test_knobs_change_at_runtime(make_server):
    srv = make_server()
    params = {"from": "2026-03-01", "to": "2026-03-01"}
    assert "ListCost" in get(srv, params).json()["result"][0]
    srv.costs = False
    srv.revision = "A"
    rec = get(srv, params).json()["result"][0]
    assert "ListCost" not in rec and "x_ProductFamilyId" not in rec


def test_bad_knob_values_are_refused():
    with pytest.raises(ValueError, match="revision"):
        SampleServer(revision="D")
    with pytest.raises(ValueError, match="error_rate"):
        SampleServer(error_rate=1.5, records=[]).start()


# -- account endpoints -----------------------------------------------------------------------
def test_account_get_serves_that_account_only(sample_server):
    account = sample_server.account_ids[0]
    r = HTTP.get(
        account_url(sample_server, account),
        params={"from": "2026-03-01", "to": "2026-03-02"},
        headers=AUTH,
    )
    records = r.json()["result"]
    expected = [
        rec
        for rec in sample_server.records
        if rec.get("BillingAccountId") == account
        and rec["ChargePeriodStart"][:10] in ("2026-03-01", "2026-03-02")
    ]
    assert records == expected and records


def test_unknown_account_is_not_found(sample_server):
    r = HTTP.get(account_url(sample_server, "f" * 32), headers=AUTH)
    assert_error(r, 404, 7003)


def test_post_returns_rated_records_even_without_costs(make_server):
    srv = make_server(costs=False)
    account = srv.account_ids[0]
    body = {"TimePeriod": {"From": "2026-03-01", "To": "2026-03-03"}, "Metric": "cost"}
    r = HTTP.post(account_url(srv, account), json=body, headers=AUTH)
    records = r.json()["result"]
    assert r.status_code == 200 and records
    assert days_of(records) == {"2026-03-01", "2026-03-02"}  # To is exclusive
    assert all("ListCost" in rec and rec["BillingAccountId"] == account for rec in records)
    assert srv.requests[-1].query == {"From": "2026-03-01", "To": "2026-03-03"}


def test_post_filters_and_groups_by_tags(sample_server):
    account = sample_server.account_ids[0]
    body = {
        "TimePeriod": {"From": "2026-03-01", "To": "2026-03-02"},
        "FilterBy": {"MetricIds": ["workers_standard_requests"], "Tags": ["env"]},
        "GroupBy": ["Tags"],
    }
    records = HTTP.post(account_url(sample_server, account), json=body, headers=AUTH).json()
    records = records["result"]
    assert len(records) == 1
    assert records[0]["x_BillableMetricId"] == "workers_standard_requests"
    assert records[0]["Tags"]["cost-allocated"] is True
    body["FilterBy"]["Tags"] = ["env:nowhere"]
    none = HTTP.post(account_url(sample_server, account), json=body, headers=AUTH).json()
    assert none["result"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"TimePeriod": {"From": "2026-03-01", "To": "2026-03-02"}, "Bogus": 1},
        {"TimePeriod": {"From": "2026-03-01", "To": "2026-03-02", "Until": "x"}},
        {"TimePeriod": {"From": "2026-03-01", "To": "2026-03-02"}, "FilterBy": {"Zone": []}},
        {"TimePeriod": {"From": "2026-03-01", "To": "2026-04-02"}},
        {"TimePeriod": {"From": "2026-03-02", "To": "2026-03-02"}},
        {"TimePeriod": {"From": "2026-03-01", "To": "2026-03-02"}, "GroupBy": ["Zone"]},
        {"TimePeriod": {"From": "2026-03-01", "To": "2026-03-02"}, "Metric": "money"},
        {"FilterBy": {}},
        [],
    ],
)
def test_post_rejects_bad_bodies(sample_server, body):
    r = HTTP.post(account_url(sample_server, sample_server.account_ids[0]), json=body, headers=AUTH)
    assert_error(r, 400, 1005)


def test_post_rejects_non_json(sample_server):
    r = HTTP.post(
        account_url(sample_server, sample_server.account_ids[0]), content=b"{", headers=AUTH
    )
    assert_error(r, 400, 1005)


# -- routing ---------------------------------------------------------------------------------
def test_unknown_path_is_a_404_envelope(sample_server):
    r = HTTP.get(f"{sample_server.base_url}/organizations/x/billing/usage", headers=AUTH)
    assert_error(r, 404, 7000)
    assert all(h in r.headers for h in RATE_HEADERS)


def test_wrong_method_is_405(sample_server):
    assert_error(HTTP.delete(org_url(sample_server), headers=AUTH), 405, 7001)


# -- auth ------------------------------------------------------------------------------------
def test_missing_authorization_is_401(sample_server):
    assert_error(HTTP.get(org_url(sample_server)), 401, 10000)
    bad_scheme = {"Authorization": "Basic dXNlcjpwYXNz"}
    assert_error(HTTP.get(org_url(sample_server), headers=bad_scheme), 401, 10000)


def test_configured_token_is_required(make_server):
    srv = make_server(token="right-token")
    assert_error(get(srv, headers={"Authorization": "Bearer wrong-token"}), 401, 10000)
    assert get(srv, headers={"Authorization": "Bearer right-token"}).status_code == 200


def test_token_never_logged_stored_or_shown(make_server, caplog):
    secret = "cfut_SECRET_never_show_me"
    caplog.set_level(logging.DEBUG, logger="cfusage")
    srv = make_server(token=secret)
    get(
        srv,
        {"from": "2026-03-01", "to": "2026-03-01"},
        headers={"Authorization": f"Bearer {secret}"},
    )
    get(srv, headers={"Authorization": "Bearer wrong"})
    assert caplog.records  # the server does log requests
    assert secret not in caplog.text
    assert secret not in repr(srv) and "[secure]" in repr(srv)
    assert secret not in repr(srv.requests)


# -- rate limits -----------------------------------------------------------------------------
def test_rate_limit_headers_on_every_response(sample_server):
    responses = [
        get(sample_server, {"from": "2026-03-01", "to": "2026-03-01"}),
        get(sample_server, {"from": "bad", "to": "2026-03-01"}),
        HTTP.get(org_url(sample_server)),
    ]
    for r in responses:
        assert all(h in r.headers for h in RATE_HEADERS), r.headers
        assert r.headers["x-ratelimit-limit"] == "1200"
        assert r.headers["ratelimit-policy"] == '"default";q=1200;w=300'


def test_remaining_counts_down_per_token(make_server):
    srv = make_server()
    first = get(srv, headers={"Authorization": "Bearer one"})
    second = get(srv, headers={"Authorization": "Bearer one"})
    other = get(srv, headers={"Authorization": "Bearer two"})
    assert first.headers["x-ratelimit-remaining"] == "1199"
    assert second.headers["x-ratelimit-remaining"] == "1198"
    assert second.headers["ratelimit"].startswith('"default";r=1198;t=')
    assert other.headers["x-ratelimit-remaining"] == "1199"


def test_past_the_limit_every_call_is_429_for_the_block(make_server):
    srv = make_server(rate_limit=3, rate_window=300)
    statuses = [get(srv).status_code for _ in range(3)]
    blocked = [get(srv) for _ in range(2)]
    assert statuses == [200, 200, 200]
    for r in blocked:
        assert_error(r, 429, 971)
        assert 295 <= int(r.headers["retry-after"]) <= 300
        assert r.headers["x-ratelimit-remaining"] == "0"
    assert get(srv, headers={"Authorization": "Bearer someone-else"}).status_code == 200


# -- fault knobs -----------------------------------------------------------------------------
def test_latency_delays_each_response(make_server):
    srv = make_server(latency=0.2)
    started = time.perf_counter()
    assert get(srv).status_code == 200
    assert time.perf_counter() - started >= 0.2


@pytest.mark.parametrize(("retry_after", "header"), [(7, "7"), (None, None)])
def test_rate_limit_storm_answers_the_first_n_with_429(make_server, retry_after, header):
    srv = make_server(rate_limit_storm=2, retry_after=retry_after)
    first, second, third = (get(srv) for _ in range(3))
    for r in (first, second):
        assert_error(r, 429, 971)
        assert r.headers.get("retry-after") == header
        assert all(h in r.headers for h in RATE_HEADERS)
    assert third.status_code == 200
    assert [q.status for q in srv.requests] == [429, 429, 200]
    srv.rate_limit_storm = 1
    assert get(srv).status_code == 429


def test_error_rate_one_answers_every_request_5xx(make_server):
    srv = make_server(error_rate=1.0)
    statuses = [get(srv).status_code for _ in range(12)]
    assert set(statuses) <= {500, 502, 503}
    assert len(set(statuses)) > 1  # a mix of the three statuses
    assert_error(get(srv), srv.requests[-1].status, 10500)


def test_error_rate_is_seeded_and_deterministic(make_server):
    runs = []
    for _ in range(2):
        srv = make_server(error_rate=0.5, seed=42)
        runs.append([get(srv).status_code for _ in range(20)])
    assert runs[0] == runs[1]
    assert 200 in runs[0] and any(s >= 500 for s in runs[0])


def test_drop_rate_closes_the_connection_without_a_response(make_server):
    srv = make_server(drop_rate=1.0)
    with pytest.raises(httpx.RemoteProtocolError):
        get(srv)
    assert srv.requests[-1].status == 0


def test_truncate_rate_sends_half_the_announced_body(make_server):
    srv = make_server(truncate_rate=1.0)
    with pytest.raises(httpx.RemoteProtocolError):
        get(srv, {"from": "2026-03-01", "to": "2026-03-01"})
    # the raw bytes: a Content-Length for the whole body, half of it, then the connection closes
    path = org_url(srv).removeprefix(f"http://{srv.host}:{srv.port}")
    with socket.create_connection((srv.host, srv.port), timeout=10) as sock:
        sock.sendall(
            f"GET {path}?from=2026-03-01&to=2026-03-01 HTTP/1.1\r\nHost: x\r\n"
            "Authorization: Bearer t\r\n\r\n".encode()
        )
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    length = int(
        next(h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")).split(b":")[
            1
        ]
    )
    assert length > 0 and len(body) == length // 2


def test_requests_log_records_method_path_query_status(make_server):
    srv = make_server()
    get(srv, {"from": "2026-03-01", "to": "2026-03-01"})
    get(srv, {"from": "2026-03-01"})
    method, path, query, status = srv.requests[0]
    assert (method, path, status) == (
        "GET",
        f"/client/v4/organizations/{srv.org_id}/billable/usage",
        200,
    )
    assert query == {"from": "2026-03-01", "to": "2026-03-01"}
    assert srv.requests[1].status == 400


def test_context_manager_stops_the_server():
    with SampleServer(port=0) as srv:
        url = org_url(srv)
        assert HTTP.get(url, headers=AUTH).status_code == 200
    with pytest.raises(httpx.ConnectError):
        HTTP.get(url, headers=AUTH)


def test_the_request_log_keeps_only_the_latest_max_requests(make_server):
    # issue 11: serve-sample kept every request (~0.55 KB each) for as long as it ran
    srv = make_server(max_requests=50)
    for i in range(120):
        day = (dt.date(2026, 1, 1) + dt.timedelta(days=i)).isoformat()
        assert get(srv, {"from": day, "to": day}).status_code == 200
    assert len(srv.requests) == 50
    expected = [(dt.date(2026, 1, 1) + dt.timedelta(days=i)).isoformat() for i in range(70, 120)]
    assert [r.query["from"] for r in srv.requests] == expected
    assert SampleServer().max_requests == 10_000


def test_rate_counters_of_idle_tokens_are_forgotten(make_server):
    srv = make_server(rate_window=0.05)
    for i in range(1005):
        srv._count(f"token-{i}")
    time.sleep(0.1)
    assert srv._rate_headers("fresh")["x-ratelimit-remaining"] == str(srv.rate_limit)
    assert len(srv._buckets) <= 2


def test_max_requests_must_be_a_count():
    with pytest.raises(ValueError, match="max_requests"):
        SampleServer(max_requests=-1)

"""The client against a real scan-service and engine node (see conftest.py)."""
from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pandas as pd
import pytest

from marketscan import (BadRequest, Client, CurveKeys, InvalidFormula, NotFound, RequestTimeout, Result,
                        ServiceError, Session)

from conftest import COMMAND_LIMIT_S, start_cluster, wait_ready

FORMULA = "crossover(sma(close, 5), sma(close, 20))"
SYMBOLS = ["005930", "000660", "035720"]


@pytest.fixture()
def client(cluster):
    with Client(cluster.api, timeout=30) as c:
        wait_ready(c, nodes=1)
        yield c


def local_result(cluster) -> dict:
    out = subprocess.run(
        [cluster.binary("scan"), "run", "--local", "--db", cluster.db, "--formula", FORMULA, "--name", "golden",
         "--symbols", ",".join(SYMBOLS), "--from", "2022-01-03", "--to", "2022-09-19", "--format", "json"],
        check=True, capture_output=True, text=True, timeout=COMMAND_LIMIT_S,
    )
    return json.loads(out.stdout)


def test_run_scan_gives_the_local_result_as_a_dataframe(cluster, client):
    result = client.run_scan(FORMULA, name="golden", symbols=SYMBOLS, date_from="2022-01-03", date_to="2022-09-19")
    assert isinstance(result, Result)
    reference = local_result(cluster)
    assert result.total_matches == reference["signals"]["total_matches"] > 0
    assert [(m.symbol, m.timestamp) for m in result.matches] == [
        (m["symbol"], m["timestamp"]) for m in reference["signals"]["matches"]]
    frame = result.to_pandas(names=client.symbols(symbols=SYMBOLS).names)
    assert list(frame.columns[:5]) == ["symbol", "name", "timestamp", "signal", "close"]
    assert len(frame) == result.total_matches
    assert pd.api.types.is_datetime64_any_dtype(frame["timestamp"])
    assert frame["close"].dtype == "float64"
    assert set(frame.loc[frame["symbol"] == "005930", "name"]) <= {"삼성전자"}
    assert frame["timestamp"].is_monotonic_increasing


def test_columns_become_float_columns_with_nan_where_undefined(client):
    formula = "signal up = close > open\ncolumn s50 = sma(close, 50)"
    result = client.run_scan(formula, symbols=["005930"], date_from="2022-01-03", date_to="2022-03-31")
    frame = result.to_pandas()
    assert "s50" in frame.columns and frame["s50"].dtype == "float64"
    assert frame["s50"].notna().any()


def test_follow_is_gap_safe_and_ends_with_the_final_state(client):
    session = client.run_scan(FORMULA, markets=["KOSPI"], wait=False)
    assert isinstance(session, Session) and not session.is_final
    events = list(client.follow(session.session_id, poll_interval=0.5, timeout=120))
    assert events[-1].status == "completed" and events[-1].is_final
    seqs = [e.seq for e in events if e.seq is not None]
    assert seqs == sorted(seqs)
    completed = [e.completed for e in events]
    assert completed == sorted(completed)
    assert events[-1].completed == events[-1].total > 0
    # Following an ended session yields its final state at once.
    again = list(client.follow(session.session_id))
    assert len(again) == 1 and again[0].from_session and again[0].status == "completed"


def test_cancel_keeps_the_partial_result(client):
    session = client.run_scan(FORMULA, markets=["KOSPI", "KOSDAQ"], wait=False)
    for ev in client.follow(session.session_id, poll_interval=0.2, timeout=120):
        if ev.status == "running" or ev.is_final:
            break
    cancelled = client.cancel(session.session_id)
    assert cancelled.is_final
    result = client.result(session.session_id)
    assert result.status in ("cancelled", "completed")
    if result.status == "cancelled":  # protocol §4: total_symbols counts the finished chunks' symbols
        assert result.total_symbols == cancelled.progress.completed < 48
    assert any(s.session_id == session.session_id for s in client.sessions(limit=10))
    assert client.sessions(status="cancelled", limit=5) is not None


def test_errors_carry_the_protocol_code(client):
    with pytest.raises(InvalidFormula) as e:
        client.run_scan("smaa(close, 5) > 1", symbols=["005930"])
    assert e.value.code == "invalid_formula" and "did you mean 'sma'" in e.value.message
    with pytest.raises(NotFound) as e:
        client.session("no-such-session")
    assert e.value.code == "not_found"
    with pytest.raises(BadRequest) as e:
        client.result("x", limit=-1)
    assert "limit" in e.value.message
    with pytest.raises(ServiceError) as e:
        client.request("FROB")
    assert e.value.code == "bad_request" and e.value.request_id is not None


def test_symbols_lists_names_markets_and_sectors(client):
    listing = client.symbols(markets=["KOSPI"], search="삼성")
    assert listing.total >= 1 and all(s.market == "KOSPI" and "삼성" in s.name for s in listing.symbols)
    assert listing.markets == ["KOSDAQ", "KOSPI"]
    frame = client.symbols().to_pandas()
    assert len(frame) == 48 and frame.loc[frame["symbol"] == "005930", "to"].item() == "2022-09-19"


def test_a_request_to_nobody_times_out():
    with Client("tcp://127.0.0.1:9", timeout=0.3) as c:
        with pytest.raises(RequestTimeout):
            c.ping()


def test_curve(tmp_path):
    """CURVE keys from `scan keygen`; a client without them gets no answer."""
    directory = Path(tempfile.mkdtemp(prefix="marketscan-py-curve-"))
    try:
        from conftest import BIN

        for name in ("service", "node", "client"):
            subprocess.run([str(BIN / "scan"), "keygen", str(directory / name)], check=True, capture_output=True,
                           timeout=COMMAND_LIMIT_S)
        c = start_cluster(
            directory,
            nodes=1,
            service_extra=["--curve-certificate", str(directory / "service.key_secret"),
                           "--curve-allow-node", str(directory / "node.key"),
                           "--curve-allow-client", str(directory / "client.key")],
            node_extra=["--curve-certificate", str(directory / "node.key_secret"),
                        "--curve-server", str(directory / "service.key")],
        )
        try:
            keys = CurveKeys.load(directory / "client.key_secret", directory / "service.key")
            with Client(c.api, timeout=30, curve=keys) as secure:
                wait_ready(secure, nodes=1)
                # A one-symbol scan: a minute is a liveness bound (the run_scan default waits an hour).
                result = secure.run_scan("close > open", symbols=["005930"], date_from="2022-09-01",
                                         date_to="2022-09-19", timeout=60)
                assert result.total_matches > 0
            with Client(c.api, timeout=0.5) as plain:
                with pytest.raises(RequestTimeout):
                    plain.ping()
        except BaseException:
            # What the service and the node said is what tells a hang from a refusal.
            print(c.logs())
            raise
        finally:
            c.stop()
    finally:
        shutil.rmtree(directory, ignore_errors=True)

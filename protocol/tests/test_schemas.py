"""The published schemas let replies and events gain keys (protocol §2, §8); the strict variant
the project's tests use does not. Run with pytest."""
import json
import pathlib
import subprocess
import sys

VALIDATE = pathlib.Path(__file__).resolve().parent / "validate.py"

PING = {"version": "MSCAN/1", "uptime_s": 1.5, "sessions_running": 0,
        "nodes": [{"name": "n", "threads": 2, "last_seen_ms_ago": 3, "chunks_done": 0,
                   "store": "sqlite:/var/lib/marketscan/ms.sqlite", "data_version": "0123456789abcdef:42"}]}
EVENT = {"session_id": "0b7e3c2a-5f7d-4a51-9a43-4c0e1f2d9b61", "event": "progress", "status": "running",
         "completed": 1, "total": 2, "matches_so_far": 0, "seq": 3, "time": "2025-06-09T13:30:00.123Z"}


def validate(tmp_path, schema, body, *flags):
    file = tmp_path / "body.json"
    file.write_text(json.dumps(body), encoding="utf-8")
    return subprocess.run([sys.executable, str(VALIDATE), *flags, schema, str(file)], capture_output=True, text=True)


def test_bodies_as_sent_are_valid_both_ways(tmp_path):
    for schema, body in [("ping-reply.json", PING), ("event-progress.json", EVENT)]:
        assert validate(tmp_path, schema, body).returncode == 0
        assert validate(tmp_path, schema, body, "--strict").returncode == 0


def test_an_added_key_is_allowed_by_the_published_schemas_only(tmp_path):
    for schema, body in [("ping-reply.json", PING), ("event-progress.json", EVENT)]:
        added = dict(body, added_in_a_later_version=True)
        nested = json.loads(json.dumps(body))
        if "nodes" in nested:
            nested["nodes"][0]["zone"] = "a"
        assert validate(tmp_path, schema, added).returncode == 0
        assert validate(tmp_path, schema, nested).returncode == 0
        strict = validate(tmp_path, schema, added, "--strict")
        assert strict.returncode == 1 and "added_in_a_later_version" in strict.stdout


def test_request_schemas_stay_strict_to_catch_typos(tmp_path):
    assert validate(tmp_path, "list-sessions-request.json", {"limt": 5}).returncode == 1
    assert validate(tmp_path, "list-symbols-request.json", {"markets": ["KOSPI"], "limit": 5}).returncode == 0

#!/usr/bin/env python3
"""Runs a command with a liveness bound and, when the bound passes, says what was stuck.

    scripts/bounded-run.py --limit SECONDS [--events FILE] [--what NAME] -- COMMAND...

The command runs in a process group of its own with this script's stdout and stderr. When it ends
first, its exit status is this script's. When it is still running after SECONDS, the script prints
to stderr, before stopping anything:

- the tests that started and had not ended, from a swift-testing event stream (``--events``: the
  file given to ``swift test --event-stream-output-path``, JSON lines of version 0);
- every process of the group: pid, state, kernel wait channel, elapsed time and command line;
- an all-threads backtrace of each test process (``*.xctest``) with gdb, when gdb is installed
  (on CI, ``MARKETSCAN_INSTALL_GDB=1`` lets the script install it with apt first);

then stops the group and its session (SIGTERM, SIGKILL 30 s later) and exits 124, as timeout(1) does.

The command's environment carries a marker (``MARKETSCAN_BOUNDED_RUN``) that every process it starts
inherits, daemons too: a scratch PostgreSQL server that left the session still has it. Such processes
count as the command's in the list above and are stopped with it; and when the command ends by itself,
any of them still running are named and stopped (the exit status stays the command's).

A bound, not a timing: it ends a hang with the evidence to fix it instead of a run that says only
"still running".
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path


def say(line: str = "") -> None:
    print(f"bounded-run: {line}", file=sys.stderr, flush=True)


def unfinished_tests(events: Path) -> tuple[list[str], int]:
    """Names of the tests (and test cases) that started and have not ended, and how many ended."""
    names: dict[str, str] = {}
    running: dict[str, float] = {}
    ended = 0
    try:
        lines = events.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as error:
        return [f"(no event stream: {error})"], 0
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue  # the last line may be half-written
        if not isinstance(record, dict) or not isinstance(record.get("payload"), dict):
            continue
        payload = record["payload"]
        if record.get("kind") == "test":
            test_id = payload.get("id")
            if isinstance(test_id, str):
                names[test_id] = payload.get("displayName") or payload.get("name") or test_id
            continue
        if record.get("kind") != "event":
            continue
        kind = payload.get("kind")
        test_id = payload.get("testID")
        if not isinstance(test_id, str):
            continue
        instant = payload.get("instant", {}).get("since1970", 0.0)
        if kind == "testStarted":
            running[test_id] = instant
        elif kind in ("testEnded", "testSkipped"):
            if running.pop(test_id, None) is not None:
                ended += 1
    now = time.time()
    return [
        f"{names.get(test_id, test_id)}  [{test_id}]  running for {now - started:.0f} s"
        for test_id, started in sorted(running.items(), key=lambda item: item[1])
    ], ended


def carries(entry: Path, marker: bytes) -> bool:
    """Whether the process's environment holds `marker` (a whole `NAME=value` entry)."""
    try:
        return marker in (entry / "environ").read_bytes().split(b"\0")
    except OSError:
        return False


def group_processes(pgid: int, marker: bytes) -> list[dict[str, str]]:
    """Every live process whose process group or session is the command's, or that carries its marker."""
    found = []
    ticks = os.sysconf("SC_CLK_TCK")
    uptime = float(Path("/proc/uptime").read_text().split()[0])
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            # The command name is in parentheses and may hold spaces: split after the last ")".
            fields = stat[stat.rindex(")") + 2 :].split()
            state, ppid, group, session = fields[0], fields[1], int(fields[2]), int(fields[3])
            if pgid not in (group, session) and not carries(entry, marker):
                continue
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            wchan = (entry / "wchan").read_text().strip() or "-"
            elapsed = uptime - int(fields[19]) / ticks
            found.append(
                {
                    "pid": entry.name,
                    "ppid": ppid,
                    "state": state,
                    "wchan": wchan,
                    "elapsed": f"{elapsed:.0f} s",
                    "cmdline": cmdline[:300],
                }
            )
        except (OSError, ValueError, IndexError):
            continue  # it ended while we looked
    return sorted(found, key=lambda p: int(p["pid"]))


def gdb_available() -> str | None:
    gdb = shutil.which("gdb")
    if gdb or os.environ.get("MARKETSCAN_INSTALL_GDB") != "1":
        return gdb
    say("installing gdb to take the backtraces")
    try:
        subprocess.run(
            ["apt-get", "install", "-y", "-q", "gdb"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            timeout=300,
            check=False,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        say(f"could not install gdb: {error}")
    return shutil.which("gdb")


def backtraces(pid: str, gdb: str) -> None:
    say(f"all-thread backtrace of {pid}:")
    try:
        result = subprocess.run(
            [gdb, "-p", pid, "-batch", "-nx", "-ex", "set pagination off", "-ex", "thread apply all bt 40"],
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        # gdb's own chatter (symbol loading) goes to stderr; the backtraces to stdout.
        print(result.stdout, file=sys.stderr, flush=True)
    except (OSError, subprocess.TimeoutExpired) as error:
        say(f"gdb on {pid} did not finish: {error}")


def diagnose(pgid: int, marker: bytes, events: Path | None, what: str) -> None:
    if events is not None:
        running, ended = unfinished_tests(events)
        say(f"{ended} tests ended; still running ({len(running)}):")
        for line in running:
            say(f"  {line}")
    processes = group_processes(pgid, marker)
    say(f"processes of {what} ({len(processes)}):")
    for p in processes:
        say(f"  {p['pid']} (parent {p['ppid']}) {p['state']} wchan={p['wchan']} up {p['elapsed']}: {p['cmdline']}")
    tests = [p for p in processes if ".xctest" in p["cmdline"].split(" ")[0] or "PackageTests" in p["cmdline"]]
    if not tests:
        return
    gdb = gdb_available()
    if gdb is None:
        say("gdb is not installed: no backtraces (MARKETSCAN_INSTALL_GDB=1 installs it)")
        return
    for p in tests:
        backtraces(p["pid"], gdb)


def stop(pgid: int, marker: bytes, child: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL, to the command's process group and to every process of its session or
    with its marker (a child may have moved to a group or session of its own)."""
    for sig, grace in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            pass
        for p in group_processes(pgid, marker):
            try:
                os.kill(int(p["pid"]), sig)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            child.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            continue
        # The command ended; its children may not have: they get the next signal too.


def stop_leftovers(pgid: int, marker: bytes, what: str) -> None:
    """After the command ended by itself: names and stops whatever it started and left running."""
    left = group_processes(pgid, marker)
    if not left:
        return
    say(f"{what} ended and left {len(left)} processes running; stopping them:")
    for p in left:
        say(f"  {p['pid']} (parent {p['ppid']}) up {p['elapsed']}: {p['cmdline']}")
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for p in left:
            try:
                os.kill(int(p["pid"]), sig)
            except (ProcessLookupError, PermissionError):
                pass
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and group_processes(pgid, marker):
            time.sleep(0.1)  # polls for the processes' ends; there is nothing to wait on
        left = group_processes(pgid, marker)
        if not left:
            return


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=float, required=True, help="seconds before the command counts as stuck")
    parser.add_argument("--events", type=Path, help="a swift-testing event stream to read the running tests from")
    parser.add_argument("--what", default="the command", help="what to call the command in messages")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given")
    token = f"{os.getpid()}-{time.time_ns()}"
    marker = f"MARKETSCAN_BOUNDED_RUN={token}".encode()
    child = subprocess.Popen(command, start_new_session=True, env={**os.environ, "MARKETSCAN_BOUNDED_RUN": token})
    pgid = child.pid
    forward = lambda signum, _frame: os.killpg(pgid, signum)  # noqa: E731 - Ctrl-C and CI stops reach the group
    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    try:
        status = child.wait(timeout=args.limit)
        stop_leftovers(pgid, marker, args.what)
        return status if status >= 0 else 128 - status  # ended by a signal: as a shell reports it
    except subprocess.TimeoutExpired:
        pass
    bound = f"{args.limit / 60:.0f} minutes" if args.limit >= 120 else f"{args.limit:.0f} s"
    say(f"{args.what} still running after {bound}: what was running, then stopping it")
    try:
        diagnose(pgid, marker, args.events, args.what)
    finally:
        stop(pgid, marker, child)
    return 124


if __name__ == "__main__":
    sys.exit(main())

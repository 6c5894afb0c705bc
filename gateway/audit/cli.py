"""``catalogue-gateway audit verify|query``: check and search the audit log.

    $ catalogue-gateway audit verify audit.log*
    audit.log.1: OK, 1000 records, chain intact
    audit.log: OK, 42 records, chain intact
    head: seq 1042, hash 3f2a…
    $ echo $?
    0

Several chains (``serve --workers 2`` writes ``audit.w1.log`` and ``audit.w2.log``; a
directory stands for every chain in it) are verified one by one, each head named::

    $ catalogue-gateway audit verify /var/lib/catalogue-gateway/
    …/audit.w1.log: OK, 310 records, chain intact
    …/audit.w1.log head: seq 310, hash 9b0c…
    …/audit.w2.log: OK, 295 records, chain intact
    …/audit.w2.log head: seq 295, hash 51de…

Exit codes of ``verify``: 0 the chain holds, 1 it does not (the first problem is printed
as ``FILE:LINE: what``), 2 a file cannot be read. ``query`` prints matching records as
JSON lines; it exits 1 when some lines were not records (the answer may be incomplete:
run ``verify``) and 2 when a file cannot be read or an argument is invalid.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from gateway.audit.chain import (
    ProblemKind,
    group_chains,
    live_name,
    parse_moment,
    query,
    verify,
)

EXIT_OK = 0
EXIT_TAMPERED = 1
EXIT_UNREADABLE = 2


def main_verify(files: Sequence[str]) -> int:
    """Verify every chain in ``files`` (any order; rotated files are put in chain order).

    Files with the same live name (``audit.log``, ``audit.log.1`` …) form one chain; the
    per-worker chains of ``serve --workers N`` (``audit.w1.log`` …) are chains of their
    own, and a directory stands for every chain in it. Each is verified on its own; the
    exit code is the worst of them.
    """
    if not files:
        print("audit verify: name at least one audit log file", file=sys.stderr)
        return EXIT_UNREADABLE
    chains = group_chains(files)
    if not chains:
        print(
            f"audit verify: no audit log found in {', '.join(files)}; name the files",
            file=sys.stderr,
        )
        return EXIT_UNREADABLE
    status = EXIT_OK
    for chain in chains:
        named = f"{live_name(chain[0])} " if len(chains) > 1 else ""
        status = max(status, _verify_chain(chain, named))
    return status


def _verify_chain(files: Sequence[Path], named: str) -> int:
    result = verify(files)
    for index, summary in enumerate(result.files):
        plural = "" if summary.records == 1 else "s"
        note = ""
        if index == 0 and summary.first_seq is not None and summary.first_seq > 1:
            note = f" (from seq {summary.first_seq}; the files before it were not given)"
        print(f"{summary.path}: OK, {summary.records} record{plural}, chain intact{note}")
    if result.problem is not None:
        if result.problem.kind is ProblemKind.UNREADABLE:
            print(result.problem, file=sys.stderr)
            return EXIT_UNREADABLE
        print(result.problem)
        return EXIT_TAMPERED
    if result.last_seq is not None:
        print(f"{named}head: seq {result.last_seq}, hash {result.last_hash}")
    return EXIT_OK


def main_query(
    files: Sequence[str],
    caller: str | None = None,
    dataset: str | None = None,
    since: str | datetime | None = None,
    until: str | datetime | None = None,
) -> int:
    """Print the records of ``files`` that match every filter given, as JSON lines."""
    try:
        start = parse_moment(since) if isinstance(since, str) else since
        end = parse_moment(until) if isinstance(until, str) else until
    except ValueError as exc:
        print(f"audit query: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    skipped = 0

    def on_skip(path: Path, line: int, reason: str) -> None:
        nonlocal skipped
        skipped += 1
        print(f"{path}:{line}: skipped, {reason}; run `audit verify`", file=sys.stderr)

    try:
        for record in query(files, caller, dataset, start, end, on_skip=on_skip):
            print(json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":")))
    except BrokenPipeError:
        # The reader stopped early (`| head`): not an error. Keep the exit flush quiet.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except OSError as exc:
        print(f"{exc.filename}: cannot read ({exc.strerror or exc})", file=sys.stderr)
        return EXIT_UNREADABLE
    return EXIT_TAMPERED if skipped else EXIT_OK


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``audit verify`` and ``audit query`` to the ``catalogue-gateway`` parser."""
    audit = commands.add_parser("audit", help="verify or search the audit log")
    actions = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    check = actions.add_parser(
        "verify", help="check the hash chain (exit 0 intact, 1 tampered, 2 unreadable)"
    )
    check.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="audit.log and rotated files, the workers' audit.wN.log, or a directory",
    )
    search = actions.add_parser("query", help="print matching records as JSON lines")
    search.add_argument("--caller", help="caller id")
    search.add_argument("--dataset", metavar="ID", help="GraphQL id or source/local-id")
    search.add_argument("--since", metavar="T", help="ISO date/time, inclusive (UTC if no zone)")
    search.add_argument("--until", metavar="T", help="ISO date/time, exclusive (UTC if no zone)")
    search.add_argument("files", nargs="+", metavar="FILE", help="audit.log and rotated files")


def run(args: argparse.Namespace) -> int:
    """Run the ``audit`` command parsed by ``add_parser``."""
    if args.audit_command == "verify":
        return main_verify(args.files)
    return main_query(args.files, args.caller, args.dataset, args.since, args.until)

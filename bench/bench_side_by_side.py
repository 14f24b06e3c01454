"""msops's page benchmark and django-helpdesk 2.6.1's, in one run (issue 15).

    .venv/bin/python bench/bench_side_by_side.py \\
        --small postgres://postgres@127.0.0.1:5432/msops_page_small \\
        --large postgres://postgres@127.0.0.1:5432/msops_page_large [--profile]

Runs ``bench/bench_pages.py`` (both databases), then
``bench/peer/bench_helpdesk.py`` (set it up first: bench/peer/README.md),
one after the other on the same machine, and prints the two requests both
have — the ticket list API at 50 per page and a ticket page — side by side
with the ratio. msops's figures are the small database's (10k tickets and
10k entries; the peer holds 10k tickets and 10k follow-ups). Writes
``var/bench-pages.json`` and ``var/peer-helpdesk.json``, and the whole report
(the command, msops's tables, the ratios, the side-by-side table and the
profiles' top frames) to ``bench/pages-latest.md``, which is kept in the
repository; exits with the page benchmark's status (1 when one of its
targets is missed).
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES_OUT = ROOT / "var" / "bench-pages.json"
PEER_OUT = ROOT / "var" / "peer-helpdesk.json"
REPORT = ROOT / "bench" / "pages-latest.md"
PAIRS = [("api_tickets_50", "ticket list API"), ("ticket_page", "ticket page")]
FIGURES = [
    ("single request ms", "single_ms", "single_ms"),
    ("server CPU ms", "single_cpu_ms", "single_cpu_ms"),
    ("rps (4 connections)", "rps", "rps"),
    ("queries", "queries", "queries"),
    ("SQL ms", "sql_ms", "sql_ms"),
]


def ratio(peer, ours) -> str:
    if not isinstance(peer, int | float) or not isinstance(ours, int | float) or not ours:
        return "—"
    return f"{peer / ours:.1f}×"


def shown(value) -> str:
    return f"{value:.1f}" if isinstance(value, float) else str(value if value is not None else "—")


def table(pages: dict, peer: dict) -> str:
    ours = pages["runs"][0]["requests"]
    theirs = {row["request"]: row for row in peer["requests"]}
    lines = [
        "| request | figure | msops | django-helpdesk 2.6.1 | helpdesk / msops |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, peer_name in PAIRS:
        mine, other = ours.get(name, {}), theirs.get(peer_name, {})
        for label, our_key, peer_key in FIGURES:
            a, b = mine.get(our_key), other.get(peer_key)
            # rps: more is better, so the ratio is msops over the peer.
            times = ratio(a, b) if our_key == "rps" else ratio(b, a)
            lines.append(f"| {peer_name} | {label} | {shown(a)} | {shown(b)} | {times} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", required=True)
    parser.add_argument("--large", required=True)
    parser.add_argument("--org", default="page-000")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    PAGES_OUT.parent.mkdir(exist_ok=True)
    command = [
        sys.executable,
        "bench/bench_pages.py",
        "--small",
        args.small,
        "--large",
        args.large,
        "--org",
        args.org,
        "--out",
        str(PAGES_OUT),
        "--keep-going",
    ] + (["--profile"] if args.profile else [])
    pages = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    print(pages.stdout)
    peer = subprocess.run(
        [sys.executable, "bench/peer/bench_helpdesk.py", "--out", str(PEER_OUT)],
        cwd=ROOT,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    print(peer.stdout)
    both = table(json.loads(PAGES_OUT.read_text()), json.loads(PEER_OUT.read_text()))
    print("\n## msops and django-helpdesk 2.6.1, same machine, same run\n\n" + both)
    invoked = " ".join(
        "--small <url>" if word == args.small else "--large <url>" if word == args.large else word
        for word in ["bench/bench_side_by_side.py", *sys.argv[1:]]
    )
    REPORT.write_text(
        f"# Page benchmark: the latest run\n\nWritten by `.venv/bin/python {invoked}`"
        " (see bench/README.md for the data and the method).\n\n"
        f"## msops and django-helpdesk 2.6.1, same machine, same run\n\n{both}\n\n"
        f"## django-helpdesk 2.6.1\n\n{peer.stdout.strip()}\n\n"
        f"## msops\n\n{pages.stdout.strip()}\n"
    )
    return pages.returncode


if __name__ == "__main__":
    sys.exit(main())

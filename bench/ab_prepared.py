"""A/B of prepared statements (issue 15, bench/README.md "Second pass"):
each planned request of ``bench/pages_django.py`` with client-side binding
(the default) and with server-side binding and psycopg's
``prepare_threshold``, the two alternating in one process so that the
machine's noise falls on both alike::

    DATABASE_URL=<app url> .venv/bin/python bench/ab_prepared.py --plan plan.json \\
        [--only ticket_page ...] [--rounds 4] [--per 8] [--custom-plans]

Per round and setting: a fresh connection, 7 warm-up requests (past the
prepare threshold and PostgreSQL's five custom plans), then ``--per``
timed ones. Prints the medians and their ratio. ``--custom-plans`` sets
``plan_cache_mode=force_custom_plan`` on the prepared side.
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pages_django  # sets Django up
from django.db import connection

WARM_UP = 7


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--plan", required=True)
    parser.add_argument("--only", action="append")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--per", type=int, default=8)
    parser.add_argument("--custom-plans", action="store_true")
    args = parser.parse_args()
    plan = json.loads(Path(args.plan).read_text())
    base = dict(connection.settings_dict["OPTIONS"])
    if "pool" in base:  # a pool is built once per process: both sides would share it
        sys.exit("run without DATABASE_POOL: each side needs connections of its own")

    def use(prepared: bool) -> None:
        connection.close()
        options = dict(base)
        if prepared:
            options.update(server_side_binding=True, prepare_threshold=2)
            if args.custom_plans:
                options["options"] = " ".join(
                    filter(None, [base.get("options"), "-c plan_cache_mode=force_custom_plan"])
                )
        connection.settings_dict["OPTIONS"] = options

    for request in plan["requests"]:
        if args.only and request["name"] not in args.only:
            continue
        client, headers = pages_django._client(plan, request)
        times = {False: [], True: []}
        for _ in range(args.rounds):
            for prepared in (False, True):
                use(prepared)
                for _ in range(WARM_UP):
                    client.get(request["url"], headers=headers)
                for _ in range(args.per):
                    started = time.perf_counter()
                    response = client.get(request["url"], headers=headers)
                    times[prepared].append(time.perf_counter() - started)
                    if response.status_code != 200:
                        sys.exit(f"{request['url']} answered {response.status_code}")
        off, on = (statistics.median(times[p]) * 1000 for p in (False, True))
        print(f"{request['name']:22} off {off:8.2f} ms  on {on:8.2f} ms  ratio {on / off:.2f}")
    use(False)
    return 0


if __name__ == "__main__":
    sys.exit(main())

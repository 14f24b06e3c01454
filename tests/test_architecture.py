"""The layers of STYLE.md are a contract: import-linter checks the contracts
in pyproject.toml ([tool.importlinter]) on every run of the suite, as
`make lint` does."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def test_the_import_contracts_are_kept():
    result = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"lint-imports failed:\n{result.stdout}\n{result.stderr}"


ROW_WRITERS = re.compile(r"\btime_entry_(create|update|delete)\(")
# Billing owns every write of a time entry: only its time service calls the
# tickets app's row writers (which keep the row and the ticket's totals).
ROW_WRITER_HOMES = {"tickets/services/time_entries.py", "billing/services/time_entries.py"}


def test_only_the_billing_time_service_writes_time_entry_rows():
    offenders = []
    for app in ("msops", "clients", "tickets", "billing", "transitions"):
        for path in (ROOT / app).rglob("*.py"):
            relative = path.relative_to(ROOT).as_posix()
            if relative in ROW_WRITER_HOMES or "/migrations/" in relative:
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if ROW_WRITERS.search(line) and not line.lstrip().startswith(("def ", "#")):
                    offenders.append(f"{relative}:{number}: {line.strip()}")
    assert not offenders, "call billing.services.time_entry_log/correct/remove:\n" + "\n".join(
        offenders
    )

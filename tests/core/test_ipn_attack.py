"""The attack script at a small size: no 500s, no state changes, bounded growth.

Runs ``tests/benchmarks/attack_ipn.py`` as a script (its own emulator and
shop processes, real HTTP, eight threads) and reads its ``RESULT`` line.
The README's figures come from the same script at 10,000 requests.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "tests" / "benchmarks" / "attack_ipn.py"


def test_attack_script_small_run_changes_nothing_and_never_answers_500():
    """200 hostile requests of every kind: 0 answers 500, 0 state changes."""
    completed = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--requests",
            "200",
            "--genuine",
            "4",
            "--threads",
            "8",
            "--max-oversize",
            "300000",
            "--seed",
            "7",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
        check=False,
    )
    print(completed.stdout)
    lines = [
        line for line in completed.stdout.splitlines() if line.startswith("RESULT ")
    ]
    assert lines, completed.stdout + completed.stderr
    result = json.loads(lines[-1].removeprefix("RESULT "))

    assert result["responses_500"] == 0
    assert result["state_changes"] == 0
    assert result["genuine"] == {"200": 4}
    assert set(result["answers"]) >= {
        "random-bytes",
        "random-form",
        "bad-charset",
        "other-method",
        "forged",
        "tampered",
        "replayed",
    }
    assert set(result["answers"].get("oversized", {"413": 0})) == {"413"}
    assert set(result["answers"]["other-method"]) == {"405"}
    # Every request is on record, but repeats add no rows.
    added = result["rows_after"] - result["rows_before"]
    assert 0 < added <= result["requests"]
    assert completed.returncode == 0

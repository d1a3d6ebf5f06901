#!/usr/bin/env bash
# The README's test command: install the package with its test extras, run the
# suite on SQLite, then the PostgreSQL-only tests on the local server.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q -e '.[test,graphql,celery,postgres,browser,saleor-app]'
python -m pytest "$@"
OKPAY_TEST_DB=postgres python -m pytest -m postgres "$@"

#!/usr/bin/env bash
# The shipped alert rules are valid Prometheus rules and fire when they
# should, not before (promtool test rules with memproxy-alerts.test.yml).
# Usage: alert_rules_test.sh RULES_FILE TEST_FILE
set -euo pipefail
rules=$1 test_file=$2
command -v promtool >/dev/null || { echo "SKIPPED: promtool is not installed (Debian package prometheus)"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$rules" "$work/memproxy-alerts.yml"
cp "$test_file" "$work/memproxy-alerts.test.yml"
cd "$work"
promtool check rules memproxy-alerts.yml
promtool test rules memproxy-alerts.test.yml

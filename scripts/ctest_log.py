"""How ctest's Testing/Temporary/LastTest.log is read, for skip-report and
failure-report: one block per test, between lines of 58 dashes, named on
its "N/M Test: NAME" line (a parameterised test's "  # GetParam() = ..."
comment left out)."""
import re


def test_blocks(log_text):
    """(test, its block of the log) for every test in the log, in order."""
    for block in re.split(r"\n-{58}\n\n", log_text):
        name = re.search(r"^\d+/\d+ Test: (.+)$", block, re.M)
        if name:
            yield name.group(1).split("  #")[0].strip(), block

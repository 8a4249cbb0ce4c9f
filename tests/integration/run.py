#!/usr/bin/env python3
"""Runs skiff's integration tests against one binary.

    python3 tests/integration/run.py path/to/skiff [unittest name filter...]

Discovers test_*.py next to this file, runs them, prints
"N passed, N failed, N skipped" as the very last line, and exits 1 if any
test failed or raised an error. Extra arguments select tests whose id
contains one of them (e.g. `Backpressure`).
"""

import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


class CountingResult(unittest.TextTestResult):
    """A text result that also counts passes."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.passed = 0

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed += 1


def select(suite, patterns):
    """The tests of `suite` whose id contains one of `patterns` (all if none)."""
    tests = []
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            tests.extend(select(item, patterns))
        elif not patterns or any(p in item.id() for p in patterns):
            tests.append(item)
    return tests


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    binary = os.path.abspath(argv[1])
    if not os.access(binary, os.X_OK):
        print(f"run.py: {binary} is not an executable", file=sys.stderr)
        return 2
    os.environ["SKIFF_BIN"] = binary
    sys.path.insert(0, HERE)

    loader = unittest.TestLoader()
    suite = unittest.TestSuite(select(loader.discover(HERE, pattern="test_*.py",
                                                      top_level_dir=HERE), argv[2:]))
    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=2,
                                     resultclass=CountingResult)
    started = time.monotonic()
    result = runner.run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    print(f"integration suite took {time.monotonic() - started:.1f}s")
    print(f"{result.passed} passed, {failed} failed, {len(result.skipped)} skipped")
    return 1 if failed or not result.wasSuccessful() else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

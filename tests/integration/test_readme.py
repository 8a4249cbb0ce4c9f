"""The README's configuration reference is generated from the option tables:
it must be exactly what `skiff --reference` prints, so the manual never drifts
from the code. scripts/gen-reference.sh regenerates it."""

import os
import subprocess
import unittest

from harness import skiff_bin, skiff_env

README = os.path.join(os.path.dirname(__file__), "..", "..", "README.md")
BEGIN = "<!-- BEGIN REFERENCE"
END = "<!-- END REFERENCE -->"


class ReadmeReference(unittest.TestCase):
    def test_reference_matches_option_tables(self):
        """The block between the markers equals `skiff --reference`."""
        with open(README, encoding="utf-8") as f:
            readme = f.read()
        start = readme.index("\n", readme.index(BEGIN)) + 1
        documented = readme[start:readme.index(END)].strip()
        printed = subprocess.run([skiff_bin(), "--reference"], env=skiff_env(),
                                 capture_output=True, text=True, timeout=30, check=True)
        self.assertEqual(
            documented, printed.stdout.strip(),
            "README.md's reference is stale: run sh scripts/gen-reference.sh build/skiff")
        self.assertIn("#### output `file`", documented)
        self.assertIn("`buffer_limit`", documented)


if __name__ == "__main__":
    unittest.main()

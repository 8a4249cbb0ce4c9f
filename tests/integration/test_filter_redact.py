"""The redact filter in the running agent: tail -> cri -> redact -> file on
container log lines holding the secrets a security team fears (cards, a JWT,
a Bearer header, AWS keys, passwords in a URL and in JSON, an IBAN, a PEM
private key, a user rule's match) among lines that must arrive untouched.
The secrets are gone from the output, counted per detector in /metrics, and
absent from skiff's own log even at debug level. Keyed hashes equal Python's
hmac; a bad regex or a missing key file is a config error at its line."""

import base64
import hashlib
import hmac
import json
import os
import unittest

import harness
from harness import Skiff, SkiffHttp, TempDir, run_cli, wait_for, write_config
from test_pipeline import read_records


def b64url(data):
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


JWT = (b64url({"alg": "HS256", "typ": "JWT"}) + "." + b64url({"sub": "1234567890", "iat": 1})
       + ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c")
PEM_BODY = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj"

# (message, secrets that must be gone, detector -> replacements)
SECRET_LINES = [
    ("payment accepted card=4111 1111 1111 1111 amount=12.50",
     ["4111 1111 1111 1111"], {"card": 1}),
    ("refund to 5555-5555-5555-4444 and 378282246310005 for order 1234567812345678",
     ["5555-5555-5555-4444", "378282246310005"], {"card": 2}),
    (f"session token {JWT} issued", [JWT], {"jwt": 1}),
    ("upstream request Authorization: Bearer s3cr3t-b34r3r-t0k3n status=200",
     ["s3cr3t-b34r3r-t0k3n"], {"bearer": 1}),
    ("aws client AKIAIOSFODNN7EXAMPLE aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
     ["AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"], {"aws": 2}),
    ("GET /login?user=alice&password=hunter2-Pa55&next=/home 302",
     ["hunter2-Pa55"], {"password": 1}),
    ('{"level":"info","msg":"login","user":"bob","password":"c0rrect h0rse"}',
     ["c0rrect h0rse"], {"password": 1}),
    ("payout to IBAN GB82 WEST 1234 5698 7654 32 queued",
     ["GB82 WEST 1234 5698 7654 32"], {"iban": 1}),
    ('{"key":"-----BEGIN PRIVATE KEY-----\\n' + PEM_BODY + '\\n-----END PRIVATE KEY-----\\n"}',
     [PEM_BODY], {"private_key": 1}),
    ("employee EMP-482913 opened ticket", ["482913"], {"employee": 1}),
]

CLEAN_LINES = [
    "GET /api/v1/orders/1234567812345678 200 12ms from 10.244.1.17",
    "pod uid 123e4567-e89b-12d3-a456-426614174000 ready at 2024-05-01T10:15:00Z",
    "commit 3b18e512dba79e4c8300dd08aeb37f8e728b8dad deployed; call +1 555 123 4567",
    "payment of 4111 1111 1111 1112 declined (not a valid number)",
]


def cri(message, second):
    return f"2024-05-01T10:15:{second % 60:02d}.123456789Z stdout F {message}\n"


def hashed(key, value, length=16):
    """What skiff writes for `value` with replace: hash (see the README)."""
    digest = hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:length]
    if digest.isdigit():
        digest = chr(ord("a") + int(digest[0]) % 6) + digest[1:]
    return digest


class Redact(unittest.TestCase):
    def test_secrets_gone_counted_and_not_logged(self):
        """200 CRI lines, ten with secrets: the file output holds none of
        them and every clean line as written; skiff_redactions_total counts
        each detector and rule; skiff's debug log says what it replaced,
        never the values."""
        tmp = TempDir(self)
        logs = tmp.join("logs")
        os.makedirs(logs)
        lines = [cri(m, i) for i, (m, _, _) in enumerate(SECRET_LINES)]
        lines += [cri(CLEAN_LINES[i % len(CLEAN_LINES)], i) for i in range(190)]
        with open(os.path.join(logs, "app.log"), "w") as f:
            f.write("".join(lines))
        out = tmp.join("out.jsonl")
        port = harness.free_port()
        config = harness.pipeline_config(
            [{"name": "tail", "tag": "kube.*", "path": os.path.join(logs, "*.log"),
              "parser": "cri", "read_from_head": True}],
            [{"name": "file", "match": "kube.*", "path": out}], port=port,
            state_dir=tmp.join("state"), log_level="debug")
        config["pipeline"]["filters"] = [
            {"name": "redact", "match": "kube.*", "rules": {"employee": "EMP-(?<value>\\d{6})"}}]
        skiff = Skiff(self, tmp, write_config(tmp, config))
        http = SkiffHttp(skiff, port)
        http.wait_up()
        wait_for(lambda: harness.count_lines(out) >= 200, 30, "200 records", alive=skiff)
        samples = http.metrics()
        skiff.assert_exit(self, 0, skiff.stop())

        with open(out, encoding="utf-8") as f:
            text = f.read()
        records = read_records(out)
        self.assertEqual(len(records), 200)
        log = skiff.stderr_text()
        self.assertIn("replaced", log)
        for _, secrets, _ in SECRET_LINES:
            for secret in secrets:
                self.assertNotIn(secret, text)
                self.assertNotIn(secret, log)
        messages = [r["log"] for r in records]
        for clean in CLEAN_LINES:
            self.assertIn(clean, messages)
        self.assertIn("refund to [REDACTED:card] and [REDACTED:card] for order 1234567812345678",
                      messages)
        self.assertIn("employee EMP-[REDACTED:employee] opened ticket", messages)
        expected = {}
        for _, _, counts in SECRET_LINES:
            for name, n in counts.items():
                expected[name] = expected.get(name, 0) + n
        for name, n in expected.items():
            self.assertEqual(harness.metric(samples, "skiff_redactions_total",
                                            instance="redact.0", detector=name), n, name)

    def test_keyed_hashes_match_python_hmac(self):
        """replace: hash writes [detector:first 16 hex digits of
        HMAC-SHA256(key, value)], the key read from a file (its trailing
        newline dropped); a card's spaces or dashes are not hashed, so one
        number written two ways correlates."""
        tmp = TempDir(self)
        key = b"k3y-for-the-integration-test-0123456789"
        key_path = tmp.join("hash.key")
        with open(key_path, "wb") as f:
            f.write(key + b"\n")
        out = tmp.join("out.jsonl")
        config = harness.pipeline_config(
            [{"name": "dummy", "tag": "app", "count": 1, "rate": 0,
              "record": {"log": "card 4111-1111-1111-1111 password=hunter2",
                         "pan": "4111 1111 1111 1111", "n": 5555555555554444}}],
            [{"name": "file", "match": "*", "path": out}])
        config["pipeline"]["filters"] = [
            {"name": "redact", "match": "*", "replace": "hash", "hash_key_file": key_path}]
        skiff = Skiff(self, tmp, write_config(tmp, config))
        wait_for(lambda: harness.count_lines(out) >= 1, 20, "1 record", alive=skiff)
        skiff.assert_exit(self, 0, skiff.stop())
        record = read_records(out)[0]
        card = hashed(key, "4111111111111111")
        self.assertEqual(record["log"],
                         f"card [card:{card}] password=[password:{hashed(key, 'hunter2')}]")
        self.assertEqual(record["pan"], f"[card:{card}]")
        self.assertEqual(record["n"], f"[card:{hashed(key, '5555555555554444')}]")

    def check_config_error(self, filter_options, pattern):
        """Refused at start (and by --dry-run) with exit 2 and FILE:LINE:COL."""
        tmp = TempDir(self)
        config = harness.pipeline_config([{"name": "dummy", "tag": "a", "count": 1}],
                                          [{"name": "stdout", "match": "*"}])
        config["pipeline"]["filters"] = [dict({"name": "redact", "match": "*"}, **filter_options)]
        path = write_config(tmp, config)
        for args in (["--dry-run", "-c", path], ["-c", path]):
            proc = run_cli(args)
            self.assertEqual(proc.returncode, 2, proc.stderr)
            self.assertRegex(proc.stderr, r"skiff\.yaml:\d+:\d+: " + pattern)
            harness.assert_no_sanitizer_report(proc.stderr)

    def test_bad_regex_is_a_config_error(self):
        self.check_config_error({"rules": {"bad": "a(b"}},
                                r".*option 'rules': rule 'bad': invalid regular expression at "
                                r"offset 3")

    def test_missing_or_short_key_file_is_a_config_error(self):
        self.check_config_error({"replace": "hash", "hash_key_file": "/nonexistent/skiff.key"},
                                r".*option 'hash_key_file': /nonexistent/skiff\.key: open: No "
                                r"such file or directory")
        tmp = TempDir(self)
        short = tmp.join("short.key")
        with open(short, "w") as f:
            f.write("tooshort\n")
        self.check_config_error({"replace": "hash", "hash_key_file": short},
                                r".*the key is 8 bytes, at least 32 are needed")


if __name__ == "__main__":
    unittest.main()

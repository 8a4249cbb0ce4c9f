"""Secrets (passwords, API keys, tokens, shared keys) never leave skiff in
what it prints: stderr at log_level debug, stdout, --dry-run's answer for
valid and invalid configs, /metrics, /readyz, /healthz and dead-letter
reasons. Each test gives a secret a unique value, drives the path where it
is most likely to leak (a refused login, a server that echoes the request's
Authorization header back, a refused handshake, a config error on the
secret's own line), then greps everything skiff emitted for it.

Records' contents (what the file and stdout outputs write) are the user's
data and not in scope; neither are process memory and core dumps."""

import base64
import glob
import os
import unittest

import harness
from fake_es import FakeElasticsearch
from fake_fluentd import FakeFluentd
from fake_k8s import FakeK8s
from harness import Skiff, SkiffHttp, TempDir, free_port, run_cli, wait_for, write_config


def secret_value(name):
    """A value no other text of skiff's can contain by chance."""
    return f"Zq7-{name}-s3cr3t-X9"


def forms(secret, user=None):
    """The secret as it may appear: itself, and base64 of user:secret as a
    Basic Authorization header carries it."""
    out = [secret]
    if user is not None:
        out.append(base64.b64encode(f"{user}:{secret}".encode()).decode())
    return out


class SecretCase(unittest.TestCase):
    def assert_not_shown(self, secret, texts, user=None):
        """`texts`: {where: text}. Fails naming where any form of `secret`
        was found."""
        for where, text in texts.items():
            for form in forms(secret, user):
                self.assertNotIn(form, text, f"the secret is shown in {where}:\n{text[-3000:]}")

    def dry_run(self, tmp, text, env=None, name="skiff.yaml"):
        path = write_config(tmp, text, name)
        proc = run_cli(["--dry-run", "-c", path], env=env)
        return proc, {"--dry-run stdout": proc.stdout, "--dry-run stderr": proc.stderr}

    def run_skiff(self, tmp, outputs, filters=None, env=None, until=None, what="",
                  timeout=30):
        """skiff at log_level debug with a dummy input, the given outputs
        (retry_limit 0, so failed chunks are dead-lettered), until
        `until(http)` is true; returns everything it emitted, by where."""
        port = free_port()
        inputs = [{"name": "dummy", "tag": "app", "rate": 20,
                   "record": {"message": "hello"}}]
        config = harness.pipeline_config(inputs, outputs, port=port, flush_interval="100ms",
                                         state_dir=tmp.join("state"), log_level="debug")
        if filters:
            config["pipeline"]["filters"] = filters
        skiff = Skiff(self, tmp, write_config(tmp, config), env=env)
        http = SkiffHttp(skiff, port)
        http.wait_up()
        wait_for(lambda: until(http), timeout, what, interval=0.2, alive=skiff)
        texts = {path: http.get(path)[2] for path in ("/metrics", "/readyz", "/healthz")}
        skiff.stop()
        texts["stderr"] = skiff.stderr_text()
        with open(skiff.stdout_path, encoding="utf-8", errors="replace") as f:
            texts["stdout"] = f.read()
        for path in glob.glob(tmp.join("state", "dead-letter", "*")):
            with open(path, encoding="utf-8", errors="replace") as f:
                texts[path] = f.read()
        return texts

    def write_file(self, tmp, name, text):
        path = tmp.join(name)
        with open(path, "w") as f:
            f.write(text + "\n")
        return path


def es_output(url, **options):
    out = {"name": "elasticsearch", "alias": "es", "match": "*", "hosts": [url],
           "retry_min": "100ms", "retry_max": "200ms", "retry_limit": 0}
    out.update(options)
    return out


def es_failing(es, tmp):
    """Three requests answered, and the output failing on /readyz or a
    chunk dead-lettered (a 5xx: retry_limit 0)."""
    return lambda http: (len(es.requests) >= 3
                         and (http.get("/readyz")[0] != 200
                              or glob.glob(tmp.join("state", "dead-letter", "*"))))


class ElasticsearchSecrets(SecretCase):
    def fake(self, **kwargs):
        es = FakeElasticsearch(**kwargs).start()
        self.addCleanup(es.stop)
        return es

    def test_wrong_password_from_a_file_at_debug(self):
        tmp = TempDir(self)
        secret = secret_value("es-password")
        es = self.fake(user="elastic", password="the-right-one")
        pw = self.write_file(tmp, "pw", secret)
        texts = self.run_skiff(tmp, [es_output(es.url, user="elastic", password_file=pw)],
                               until=es_failing(es, tmp), what="a 401 and a dead letter")
        self.assertIn(401, es.statuses())
        self.assert_not_shown(secret, texts, user="elastic")

    def test_wrong_inline_password_and_api_key(self):
        for options, user in (({"user": "elastic", "password": secret_value("inline-pw")},
                               "elastic"),
                              ({"api_key": secret_value("inline-key")}, None)):
            with self.subTest(options=list(options)):
                tmp = TempDir(self)
                es = self.fake(user="elastic", password="the-right-one")
                texts = self.run_skiff(tmp, [es_output(es.url, **options)], until=es_failing(es, tmp),
                                       what="a 401 and a dead letter")
                secret = options.get("password") or options.get("api_key")
                self.assert_not_shown(secret, texts, user=user)

    def test_api_key_file_refused(self):
        tmp = TempDir(self)
        secret = base64.b64encode(secret_value("es-api-key").encode()).decode()
        es = self.fake(api_key="not-this-one")
        key = self.write_file(tmp, "key", secret)
        texts = self.run_skiff(tmp, [es_output(es.url, api_key_file=key)], until=es_failing(es, tmp),
                               what="a 401 and a dead letter")
        self.assert_not_shown(secret, texts)

    def test_credentials_in_the_url_refused(self):
        tmp = TempDir(self)
        secret = secret_value("url-pw")
        es = self.fake(user="elastic", password="the-right-one")
        url = es.url.replace("http://", f"http://elastic:{secret}@")
        texts = self.run_skiff(tmp, [es_output(url)], until=es_failing(es, tmp),
                               what="a 401 and a dead letter")
        self.assert_not_shown(secret, texts, user="elastic")

    def test_a_proxy_that_echoes_the_authorization_header(self):
        """A 502 (failover, retries, dead letter) and a 400 (the whole
        request refused: the log line and /readyz quote the server) whose
        bodies quote the request's headers."""
        for status in (502, 400):
            for options, user in (({"user": "elastic", "password": secret_value("echo-pw")},
                                   "elastic"),
                                  ({"api_key": secret_value("echo-key")}, None),
                                  ({"headers": {"Authorization":
                                                f"Bearer {secret_value('echo-hdr')}"}}, None)):
                with self.subTest(status=status, options=list(options)):
                    tmp = TempDir(self)
                    es = self.fake()
                    es.echo_headers = status
                    texts = self.run_skiff(tmp, [es_output(es.url, **options)],
                                           until=es_failing(es, tmp), what="an echo and a dead letter")
                    secret = (options.get("password") or options.get("api_key")
                              or secret_value("echo-hdr"))
                    self.assert_not_shown(secret, texts, user=user)
                    # The echo was printed, masked: the log line quotes the
                    # server (400), the dead letter's reason its answer (502).
                    where = "stderr" if status == 400 else "dead letters"
                    shown = texts["stderr"] if status == 400 else "".join(
                        t for k, t in texts.items() if "dead-letter" in k)
                    self.assertIn("***", shown, f"the echo is not in the {where}")


    def test_a_header_from_a_file_refused_then_rotated(self):
        """headers_file: the value is sent, never shown, and read again after
        a 401, so a gateway key rotated in its Secret is used without a
        restart. The fake takes `Authorization: ApiKey <new>` only."""
        tmp = TempDir(self)
        old, new = secret_value("hdr-old"), secret_value("hdr-new")
        es = self.fake(api_key=new)
        path = self.write_file(tmp, "authorization", f"ApiKey {old}")

        def rotated_then_delivered(http):
            if 401 in es.statuses():
                self.write_file(tmp, "authorization", f"ApiKey {new}")
            return es.doc_count() > 0

        texts = self.run_skiff(tmp, [es_output(es.url, headers_file={"Authorization": path})],
                               until=rotated_then_delivered,
                               what="a 401 with the old value, then documents with the new")
        self.assertIn(401, es.statuses())
        self.assert_not_shown(old, texts)
        self.assert_not_shown(new, texts)

    def test_a_header_from_a_file_is_masked_whatever_its_name(self):
        """A proxy quotes the request's headers in a 400 (logged) and a 502
        (dead letters): a headers_file value is sent and never shown, though
        its name says nothing of a secret (X-Tenant); the fake's echo starts
        with Authorization, which is printed masked."""
        for status in (400, 502):
            for name, form in (("Authorization", "Bearer {}"), ("X-Tenant", "{}")):
                with self.subTest(status=status, header=name):
                    tmp = TempDir(self)
                    secret = secret_value(f"{name}-{status}")
                    es = self.fake()
                    es.echo_headers = status
                    path = self.write_file(tmp, "value", form.format(secret))
                    texts = self.run_skiff(tmp, [es_output(es.url, headers_file={name: path})],
                                           until=es_failing(es, tmp),
                                           what="an echo and a dead letter")
                    sent = [r["headers"].get(name.lower()) for r in es.requests]
                    self.assertIn([form.format(secret)], sent, "the header was not sent")
                    self.assert_not_shown(secret, texts)
                    if name == "Authorization":
                        self.assertIn("***", texts["stderr"] + "".join(
                            t for k, t in texts.items() if "dead-letter" in k))


class KubernetesSecrets(SecretCase):
    def k8s_run(self, tmp, token, fake):
        token_file = self.write_file(tmp, "token", token)
        filters = [{"name": "kubernetes", "match": "*", "api_url": fake.url,
                    "token_file": token_file, "ca_file": fake.ca_file or "",
                    "node_name": "node-1"}]
        outputs = [{"name": "null", "match": "*"}]
        return self.run_skiff(
            tmp, outputs, filters=filters,
            until=lambda http: fake.counts["list"] + fake.counts["watch"] >= 2,
            what="the API server asked twice")

    def test_refused_token(self):
        tmp = TempDir(self)
        secret = secret_value("k8s-token")
        fake = FakeK8s(tmp.path, tls=True, node="node-1")
        self.addCleanup(fake.close)
        texts = self.k8s_run(tmp, secret, fake)
        self.assertGreater(fake.unauthorized, 0)
        self.assert_not_shown(secret, texts)

    def test_a_proxy_that_echoes_the_token(self):
        for status in (400, 502):
            with self.subTest(status=status):
                tmp = TempDir(self)
                secret = secret_value(f"k8s-echo-{status}")
                fake = FakeK8s(tmp.path, tls=True, node="node-1")
                self.addCleanup(fake.close)
                fake.echo_headers = status
                texts = self.k8s_run(tmp, secret, fake)
                self.assert_not_shown(secret, texts)

    def test_api_url_with_userinfo_is_refused_unshown(self):
        tmp = TempDir(self)
        secret = secret_value("k8s-url")
        for option in ("api_url", "kubelet_url"):
            with self.subTest(option=option):
                text = (f"pipeline:\n  inputs:\n    - {{name: dummy, tag: a}}\n"
                        f"  filters:\n    - name: kubernetes\n      match: '*'\n"
                        f"      node_name: n\n      token_file: ''\n      use_kubelet: "
                        f"{'true' if option == 'kubelet_url' else 'false'}\n"
                        f"      {option}: https://admin:{secret}@127.0.0.1:6443\n"
                        f"  outputs:\n    - {{name: null, match: '*'}}\n")
                proc, texts = self.dry_run(tmp, text)
                self.assertEqual(proc.returncode, 2, proc.stderr)
                self.assertIn("credentials", proc.stderr)
                self.assert_not_shown(secret, texts)


class ForwardSecrets(SecretCase):
    def fake(self, **kwargs):
        server = FakeFluentd(**kwargs).start()
        self.addCleanup(server.stop)
        return server

    def refused(self, server):
        return lambda http: server.handshakes_refused >= 2

    def test_refused_shared_key(self):
        for from_file in (False, True):
            with self.subTest(from_file=from_file):
                tmp = TempDir(self)
                secret = secret_value("fw-key")
                server = self.fake(shared_key="the-servers-key")
                opts = ({"shared_key_file": self.write_file(tmp, "key", secret)} if from_file
                        else {"shared_key": secret})
                out = {"name": "forward", "match": "*", "hosts": [server.address],
                       "retry_min": "100ms", "retry_max": "200ms", "retry_limit": 0, **opts}
                texts = self.run_skiff(tmp, [out], until=self.refused(server),
                                       what="two refused handshakes")
                self.assert_not_shown(secret, texts)

    def test_refused_password(self):
        for from_file in (False, True):
            with self.subTest(from_file=from_file):
                tmp = TempDir(self)
                secret = secret_value("fw-pw")
                server = self.fake(shared_key="k", users={"bob": "the-right-one"})
                opts = ({"password_file": self.write_file(tmp, "pw", secret)} if from_file
                        else {"password": secret})
                out = {"name": "forward", "match": "*", "hosts": [server.address],
                       "shared_key": "k", "username": "bob", "retry_min": "100ms",
                       "retry_max": "200ms", "retry_limit": 0, **opts}
                texts = self.run_skiff(tmp, [out], until=self.refused(server),
                                       what="two refused handshakes")
                self.assert_not_shown(secret, texts)


def es_config(option_lines):
    return ("pipeline:\n  inputs:\n    - {name: dummy, tag: a}\n  outputs:\n"
            "    - name: elasticsearch\n      match: '*'\n      hosts: [http://127.0.0.1:9200]\n"
            + "".join(f"      {line}\n" for line in option_lines))


class ConfigSecrets(SecretCase):
    """--dry-run and the start of a run, for valid and invalid configs."""

    def test_valid_configs(self):
        tmp = TempDir(self)
        secret = secret_value("valid")
        configs = {
            "password": es_config(["user: elastic", f"password: {secret}"]),
            "api_key": es_config([f"api_key: {secret}"]),
            "header": es_config([f"headers: {{Authorization: 'Bearer {secret}'}}"]),
            "url": es_config(["user: elastic", "password: x"]).replace(
                "hosts: [http://127.0.0.1:9200]", "hosts: [http://127.0.0.1:9200]"),
            "forward": ("pipeline:\n  inputs:\n    - {name: dummy, tag: a}\n  outputs:\n"
                        "    - {name: forward, match: '*', host: 127.0.0.1, "
                        f"shared_key: {secret}, username: u, password: {secret}}}\n"),
        }
        configs["url"] = configs["url"].replace("http://127.0.0.1", f"http://u:{secret}@127.0.0.1")
        configs["url"] = configs["url"].replace("user: elastic\n      password: x\n", "")
        for name, text in configs.items():
            with self.subTest(name):
                proc, texts = self.dry_run(tmp, text)
                self.assertEqual(proc.returncode, 0, proc.stderr)
                self.assert_not_shown(secret, texts, user="elastic")

    def invalid(self, text, env=None, name="skiff.yaml"):
        tmp = TempDir(self)
        proc, texts = self.dry_run(tmp, text, env=env, name=name)
        self.assertEqual(proc.returncode, 2, f"expected a config error:\n{proc.stderr}")
        self.assertIn(name, proc.stderr)
        return texts

    def test_errors_on_the_secrets_own_line(self):
        s = secret_value("invalid")
        cases = {
            # The secret as the option's value, with something wrong in it.
            "unterminated ${": [f"password: {s}${{abc", "user: u"],
            "bad variable name": [f"password: 'p${{{s} x}}'", "user: u"],
            "YAML tag": [f"password: !{s}", "user: u"],
            "YAML alias": [f"password: *{s}", "user: u"],
            "YAML anchor and tag": [f"api_key: &a !{s} x"],
            "type error": [f"password: [{s}]", "user: u"],
            "map type error": [f"password: {{{s}: 1}}", "user: u"],
            "without user": [f"password: {s}"],
            "both ways": [f"password: {s}", "password_file: /nonexistent", "user: u"],
            "key and user": [f"api_key: {s}", "user: u", "password: x"],
            "syntax error on the line": [f"password: {s}: x: [", "user: u"],
            "duplicate option": [f"password: {s}", f"password: {s}", "user: u"],
            "bad header": [f"headers: {{Authorization: [{s}]}}"],
            "header with a line break": [f"headers: {{Authorization: \"a\\n{s}\"}}"],
            "url without host": [f"user: u"],
            "forward": None,
        }
        for name, lines in cases.items():
            with self.subTest(name):
                if name == "url without host":
                    text = es_config([]).replace("http://127.0.0.1:9200", f"http://u:{s}@")
                elif name == "forward":
                    text = ("pipeline:\n  inputs:\n    - {name: dummy, tag: a}\n  outputs:\n"
                            "    - {name: forward, match: '*', host: 127.0.0.1, "
                            f"shared_key: {s}, shared_key_file: /x, password: {s}}}\n")
                else:
                    text = es_config(lines)
                self.assert_not_shown(s, self.invalid(text), user="u")

    def test_header_file_valid_and_errors(self):
        """headers_file at --dry-run: valid, the value unshown; a missing,
        empty or unreadable file, a header given both ways or a value that is
        not a path: exit 2 with the file:line of the header and the option."""
        tmp = TempDir(self)
        s = secret_value("header-file")
        good = self.write_file(tmp, "good", s)
        empty = self.write_file(tmp, "empty", "")
        proc, texts = self.dry_run(tmp, es_config([f"headers_file: {{X-Api-Key: {good}}}"]))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assert_not_shown(s, texts)
        cases = {
            "missing": ([f"headers_file: {{X-Api-Key: {tmp.join('none')}}}"], "No such file"),
            "empty": ([f"headers_file: {{X-Api-Key: {empty}}}"], "is empty"),
            "a directory": ([f"headers_file: {{X-Api-Key: {tmp.path}}}"], "Is a directory"),
            "both ways": (["headers: {x-api-key: abc}", f"headers_file: {{X-Api-Key: {good}}}"],
                          "also in 'headers'"),
            "not a path": (["headers_file: {X-Api-Key: [a, b]}"], "needs a header name"),
        }
        for name, (lines, why) in cases.items():
            with self.subTest(name):
                text = es_config(["user: u", "password_file: " + good] + lines)
                line = text.splitlines().index("      " + lines[-1]) + 1
                proc, texts = self.dry_run(tmp, text)
                self.assertEqual(proc.returncode, 2, proc.stderr)
                self.assertIn(f"skiff.yaml:{line}", proc.stderr)
                self.assertIn("headers_file", proc.stderr)
                self.assertIn(why, proc.stderr)
                self.assert_not_shown(s, texts, user="u")

    def test_a_secret_from_the_environment(self):
        s = secret_value("env")
        env = {"SKIFF_TEST_SECRET": s, "SKIFF_TEST_URL": f"http://u:{s}@"}
        cases = {
            "conflict": es_config(["user: u", "password: ${SKIFF_TEST_SECRET}",
                                   "password_file: /nonexistent"]),
            "url": es_config([]).replace("http://127.0.0.1:9200", "${SKIFF_TEST_URL}"),
            "unterminated after": es_config(["user: u", "password: ${SKIFF_TEST_SECRET}${x"]),
            "header": es_config(["headers: {Authorization: \"${SKIFF_TEST_SECRET}\\n\"}"]),
            "other error": es_config(["user: u", "password: ${SKIFF_TEST_SECRET}",
                                      "compress: zstd"]),
        }
        for name, text in cases.items():
            with self.subTest(name):
                self.assert_not_shown(s, self.invalid(text, env=env), user="u")

    def test_an_invalid_yaml_file(self):
        s = secret_value("yaml")
        for text in (f"pipeline:\n  outputs:\n    - password: \"{s}\n",
                     f"pipeline: {{outputs: [{{password: {s}}}\n",
                     f"pipeline:\n\toutputs: {s}\n",
                     f"{s}\n",
                     f"- {s}\n",
                     f"pipeline: {s}\n"):
            with self.subTest(text=text):
                self.assert_not_shown(s, self.invalid(text))

    def test_describe_and_reference_show_no_configured_value(self):
        tmp = TempDir(self)
        s = secret_value("describe")
        path = write_config(tmp, es_config(["user: u", f"password: {s}"]))
        env = {"SKIFF_TEST_SECRET": s}
        for args in (["--describe", "elasticsearch"], ["--reference"],
                     ["-c", path, "--describe", "elasticsearch"], ["--list-plugins"]):
            with self.subTest(args=args):
                proc = run_cli(args, env=env)
                self.assert_not_shown(s, {"stdout": proc.stdout, "stderr": proc.stderr})


if __name__ == "__main__":
    unittest.main()

"""Reads Fluent Bit's own kubernetes-filter cases from a Fluent Bit checkout:
tests/runtime/filter_kubernetes.c (which case runs with which options and
expects how many records) and tests/runtime/data/kubernetes/ (the pods'
JSON, the log lines, the expected records, the parsers). Nothing is copied
into skiff: every file is read with `git show` from the checkout given.

A case here is one entry of the C file's TEST_LIST. Those that drive the tail
input (kube_test(..., KUBE_TAIL, ...)) become runnable cases; the others
(the journal, Fluent Bit's own logs, AWS pod association) are kept with the
reason they cannot apply to skiff."""

import json
import re
import subprocess

DATA = "tests/runtime/data/kubernetes"
TEST_FILE = "tests/runtime/filter_kubernetes.c"
FILTER_FILE = "plugins/filter_kubernetes/kubernetes.c"

# filter_kubernetes.c's KUBE_TAG_REGEX: the test names its log files
# <namespace>_<pod>_<container>.log (greedy, as the regex is).
TAG_NAME = re.compile(r"^(?P<namespace>.+)_(?P<pod>.+)_(?P<container>.+)\.log$")


class Checkout:
    """Files of one revision of a Fluent Bit repository (a work tree or a bare
    git directory)."""

    def __init__(self, git_dir, rev="HEAD"):
        self.git_dir = git_dir
        self.rev = rev
        self.commit = self._git("rev-parse", rev).strip()

    def _git(self, *args):
        return subprocess.run(["git", "-C", self.git_dir] + list(args), check=True,
                              capture_output=True, text=True).stdout

    def read(self, path):
        """The text of `path`, or None if the revision has no such file."""
        proc = subprocess.run(["git", "-C", self.git_dir, "show", f"{self.rev}:{path}"],
                              capture_output=True, text=True)
        return proc.stdout if proc.returncode == 0 else None


class Case:
    """One TEST_LIST entry."""

    def __init__(self, name, function):
        self.name = name
        self.function = function
        self.target = None        # "core/core_base_fluent-bit"
        self.suffix = None        # the stream its records are picked by, or None
        self.expected_count = 0   # records of that stream (or all) Fluent Bit emits
        self.options = []         # (key, value) given to the filter, in order
        self.not_applicable = None

    @property
    def log_path(self):
        return f"{DATA}/log/{self.target}.log"

    @property
    def out_path(self):
        tail = f"_{self.suffix}" if self.suffix else ""
        return f"{DATA}/out/{self.target}{tail}.out"

    def identity(self):
        """(namespace, pod, container) as the test's tag regex reads them from
        the log file's name."""
        m = TAG_NAME.match(self.target.rsplit("/", 1)[-1] + ".log")
        return (m.group("namespace"), m.group("pod"), m.group("container")) if m else None


def _strings(text):
    """The C string literals of `text`, adjacent ones joined."""
    return [m.group(1) for m in re.finditer(r'"((?:[^"\\]|\\.)*)"', text)]


def _pairs(text):
    """"key", "value" pairs of a variadic option list."""
    items = _strings(text)
    return list(zip(items[0::2], items[1::2]))


def _macros(source):
    """#define NAME(target, suffix, nExpected) kube_test("dir/" target, KUBE_TAIL, ...):
    {NAME: (directory prefix, [(key, value)...])}."""
    found = {}
    pattern = re.compile(
        r"#define\s+(\w+)\(target,\s*suffix,\s*nExpected\)\s*\\\s*"
        r'kube_test\(\s*"([^"]*)"\s*target\s*,\s*KUBE_TAIL\s*,\s*suffix\s*,\s*nExpected\s*,'
        r"(.*?)NULL\s*\)", re.S)
    for m in pattern.finditer(source):
        found[m.group(1)] = (m.group(2), _pairs(m.group(3)))
    return found


def _functions(source):
    """{function name: body} of the `static void flb_test_...()` functions."""
    pattern = re.compile(r"^static void (flb_test_\w+)\(\)\s*\{(.*?)^\}", re.S | re.M)
    return {m.group(1): m.group(2) for m in pattern.finditer(source)}


def _not_applicable(body):
    if "KUBE_SYSTEMD" in body:
        return "records from the systemd journal (Use_Journal): skiff reads container log files"
    if "fluentbit_logs" in body:
        return "Fluent Bit's own logs as an input (fluentbit_logs): skiff has no such input"
    if "Pod_Association" in body:
        return "AWS pod-to-service association (Use_Pod_Association): not in skiff"
    return "not a kube_test() of the tail input"


def _fill(case, body, macros):
    """Sets the case's target, suffix, count and options from its body."""
    call = re.search(r"\b(\w+)\(\s*\"([^\"]*)\"\s*,\s*(NULL|\"[^\"]*\")\s*,\s*(\d+)\s*\)", body)
    if call and call.group(1) in macros:
        prefix, options = macros[call.group(1)]
        case.target = prefix + call.group(2)
        case.suffix = None if call.group(3) == "NULL" else call.group(3).strip('"')
        case.expected_count = int(call.group(4))
        case.options = list(options)
        return
    direct = re.search(r"kube_test\(\s*\"([^\"]*)\"\s*,\s*KUBE_TAIL\s*,\s*(NULL|\"[^\"]*\")\s*,"
                       r"\s*(\d+)\s*,(.*?)NULL\s*\)", body, re.S)
    if direct:
        case.target = direct.group(1)
        case.suffix = None if direct.group(2) == "NULL" else direct.group(2).strip('"')
        case.expected_count = int(direct.group(3))
        case.options = _pairs(direct.group(4))
        return
    case.not_applicable = _not_applicable(body)


def read_cases(checkout):
    """Every TEST_LIST entry of the checkout's filter_kubernetes.c, in order."""
    source = checkout.read(TEST_FILE)
    if source is None:
        raise SystemExit(f"{checkout.git_dir}: no {TEST_FILE} at {checkout.rev}")
    macros = _macros(source)
    functions = _functions(source)
    listing = source[source.index("TEST_LIST"):]
    cases = []
    for m in re.finditer(r'\{\s*"([^"]+)"\s*,\s*(flb_test_\w+)\s*\}', listing):
        case = Case(m.group(1), m.group(2))
        body = functions.get(case.function)
        if body is None:
            case.not_applicable = f"{case.function} not found in {TEST_FILE}"
        else:
            _fill(case, body, macros)
        cases.append(case)
    return cases


def read_filter_defaults(checkout):
    """{option (lower case): default text} of Fluent Bit's kubernetes filter,
    from its config map."""
    source = checkout.read(FILTER_FILE) or ""
    pattern = re.compile(r'FLB_CONFIG_MAP_\w+,\s*"([^"]+)",\s*(NULL|"[^"]*")')
    return {m.group(1).lower(): (None if m.group(2) == "NULL" else m.group(2).strip('"'))
            for m in pattern.finditer(source)}


def read_json(checkout, path):
    """The JSON of a data file, or None if there is none."""
    text = checkout.read(path)
    return None if text is None else json.loads(text)


def read_expected(checkout, case):
    """(time, record) of the case's .out file: `[time, {...}]`."""
    text = checkout.read(case.out_path)
    if text is None:
        return None
    time_value, record = json.loads(text)
    return float(time_value), record


def read_lines(checkout, case):
    text = checkout.read(case.log_path)
    return None if text is None else text


def read_parsers(checkout):
    """Fluent Bit's parsers.conf of the cases as [{key (lower case): value}]."""
    text = checkout.read(f"{DATA}/parsers.conf") or ""
    parsers, current = [], None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            current = {} if line.upper() == "[PARSER]" else None
            if current is not None:
                parsers.append(current)
            continue
        if current is not None:
            key, _, value = line.partition(" ")
            current[key.lower()] = value.strip()
    return parsers


def pod_objects(checkout, namespace, pod):
    """The Pod objects Fluent Bit's test reads for a pod: its
    meta/<namespace>_<pod>.meta, a Pod or (for the kubelet) a list of them."""
    meta = read_json(checkout, f"{DATA}/meta/{namespace}_{pod}.meta")
    if meta is None:
        return None
    if isinstance(meta.get("items"), list):
        return [item for item in meta["items"] if isinstance(item, dict)]
    # The test's file is the answer to GET .../namespaces/<ns>/pods/<pod>: an
    # API server's answer names that pod, whatever the fixture says.
    metadata = meta.setdefault("metadata", {})
    metadata["name"], metadata["namespace"] = pod, namespace
    return [meta]


def namespace_object(checkout, namespace):
    meta = read_json(checkout, f"{DATA}/meta/{namespace}.namespace_meta")
    if meta is not None:
        meta.setdefault("metadata", {})["name"] = namespace
    return meta

"""Fluent Bit's kubernetes-filter options of a case, mapped to skiff's names
(README, "Coming from Fluent Bit"), and Fluent Bit's parsers.conf of the
cases mapped to skiff's `parsers:` list. Options are taken with Fluent
Bit's defaults (read from its config map), so skiff's own defaults, which
differ on purpose in places (annotations, use_pod_annotations, dedot), do
not decide a comparison."""

# Fluent Bit option (lower case) -> skiff option, both booleans.
BOOL_OPTIONS = {
    "merge_log": "merge_log",
    "merge_log_trim": "merge_log_trim",
    "keep_log": "keep_log",
    "labels": "labels",
    "annotations": "annotations",
    "namespace_labels": "namespace_labels",
    "namespace_annotations": "namespace_annotations",
    "use_kubelet": "use_kubelet",
    "owner_references": "owner_references",
}
TEXT_OPTIONS = {"merge_log_key": "merge_log_key"}
# Both map to skiff's one switch, use_pod_annotations.
POD_ANNOTATION_OPTIONS = ("k8s-logging.parser", "k8s-logging.exclude")
# Set by the harness: the fake servers' URL replaces them.
HARNESS_OPTIONS = ("kubelet_port",)
UNSUPPORTED = {
    "use_tag_for_meta": "Use_Tag_For_Meta (metadata from the tag alone, no API): skiff "
                        "always reads the pod from the API server or the kubelet",
}

# Fluent Bit's parsers of the cases that skiff does not define as they are.
SKIPPED_PARSERS = {
    "docker": "skiff's built-in docker parser, which the tail input uses",
    "kubernetes-tag": "Regex_Parser of the tag: skiff reads the pod from the path",
}
PARSER_KEYS = ("name", "format", "regex", "time_key", "time_format", "time_keep")


def fluent_bit_bool(text):
    """flb_utils_bool: true/on/yes and false/off/no, in any case; else None."""
    lowered = (text or "").strip().lower()
    if lowered in ("true", "on", "yes"):
        return True
    if lowered in ("false", "off", "no"):
        return False
    return None


def _annotations(pods):
    names = []
    for pod in pods or ():
        annotations = (pod.get("metadata") or {}).get("annotations") or {}
        names.extend(k for k in annotations if k.startswith("fluentbit.io/"))
    return names


def _effective(case, defaults):
    """{Fluent Bit option: value} with the defaults, then the case's options;
    or a reason the case cannot be mapped."""
    values = {k: defaults.get(k) for k in
              list(BOOL_OPTIONS) + list(TEXT_OPTIONS) + list(POD_ANNOTATION_OPTIONS)}
    for key, value in case.options:
        lowered = key.lower()
        if lowered in UNSUPPORTED and fluent_bit_bool(value):
            return None, UNSUPPORTED[lowered]
        if lowered in HARNESS_OPTIONS or lowered in UNSUPPORTED:
            continue
        if lowered not in values:
            return None, f"Fluent Bit option {key} has no skiff mapping in this tool"
        values[lowered] = value
    return values, None


def skiff_options(case, defaults, skiff_names, pods):
    """(skiff filter options, None) for the case, or (None, why not).
    `skiff_names` are the options the binary's kubernetes filter has;
    `pods` the Pod objects the case serves."""
    values, why = _effective(case, defaults)
    if why:
        return None, why
    options = {"dedot": False}  # Fluent Bit's filter keeps the keys' dots
    for fb_name, name in BOOL_OPTIONS.items():
        value = fluent_bit_bool(values[fb_name])
        if name in skiff_names:
            options[name] = bool(value)
        elif value:
            return None, f"skiff has no `{name}` option (Fluent Bit's {fb_name} is on)"
    for fb_name, name in TEXT_OPTIONS.items():
        if values[fb_name]:
            options[name] = values[fb_name]
    parser_on, exclude_on = (bool(fluent_bit_bool(values[k])) for k in POD_ANNOTATION_OPTIONS)
    options["use_pod_annotations"] = parser_on or exclude_on
    if parser_on != exclude_on:
        ignored = "fluentbit.io/exclude" if parser_on else "fluentbit.io/parser"
        seen = [a for a in _annotations(pods) if a.startswith(ignored)]
        if seen:
            return None, (f"skiff's use_pod_annotations obeys parser and exclude together; "
                          f"Fluent Bit here ignores {seen[0]}")
    return options, None


def group_key(options):
    return tuple(sorted((k, repr(v)) for k, v in options.items()))


def skiff_parsers(fb_parsers):
    """skiff's `parsers:` entries for Fluent Bit's [PARSER] sections."""
    out = []
    for parser in fb_parsers:
        if parser.get("name") in SKIPPED_PARSERS:
            continue
        entry = {k: parser[k] for k in PARSER_KEYS if k in parser}
        if "time_keep" in entry:
            entry["time_keep"] = bool(fluent_bit_bool(entry["time_keep"]))
        out.append(entry)
    return out

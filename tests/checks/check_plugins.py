#!/usr/bin/env python3
"""Checks that a plugin is its folder: every folder under plugins/ has a
meson.build that registers it (and, when every plugin is built, the build
registered each one), and a plugin includes only its own headers and the
core's public ones: never another plugin's header, never one that declares
the pipeline's life cycle or the core's private state. And the core names no
plugin: no file under agent/ has a plugin's folder name, and no code there
(comments aside, which may give examples) names a plugin's concern or
compares a name with a plugin's.

    check_plugins.py SOURCE_ROOT [REGISTERED_FOLDER...]

With registered folders given (meson passes them when -Dplugins=all), each
folder must be among them. Exit status 1 with one line per problem."""
import os
import re
import sys

# Core headers a plugin must not include: the pipeline's life cycle and the
# state of the pipeline, the output worker, the chunk store and the config
# loader. Plugins see plugin_api.h (and delivery.h through it), plugin.h, and
# helpers such as loop.h, record.h, json.h, http_client.h.
CORE_PRIVATE = {
    "pipeline.h", "pipeline_internal.h", "delivery_internal.h", "output_worker.h",
    "config_internal.h", "chunk_store.h", "chunk_file.h", "storage.h", "router.h",
    "tag_match.h", "dead_letter.h", "http_server.h", "timefmt_internal.h",
    "plugin_registry.h",
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
# What only a plugin's code has business with, and how code picks a plugin
# by its name.
PLUGIN_CONCERNS = re.compile(r"multiline|elasticsearch|opensearch|kubernetes|k8s|in_tail"
                             r"|parser_regex", re.I)
PLUGIN_NAME = re.compile(r'\.name = "([a-z_0-9]+)"')
COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)


def check_registration(root, folder, registered):
    problems = []
    build = os.path.join(root, "plugins", folder, "meson.build")
    if not os.path.isfile(build):
        return ["plugins/%s: no meson.build (a plugin folder registers itself)" % folder]
    text = open(build, encoding="utf-8").read()
    if not re.search(r"plugin_registered\s*\+=\s*'%s'" % re.escape(folder), text):
        problems.append("plugins/%s/meson.build: does not add '%s' to plugin_registered"
                        % (folder, folder))
    if registered is not None and folder not in registered:
        problems.append("plugins/%s: not registered in this build" % folder)
    return problems


def check_includes(root, folder):
    problems = []
    here = os.path.join(root, "plugins", folder)
    for name in sorted(os.listdir(here)):
        if not name.endswith((".c", ".h")):
            continue
        text = open(os.path.join(here, name), encoding="utf-8").read()
        for header in INCLUDE.findall(text):
            where = "plugins/%s/%s: #include \"%s\"" % (folder, name, header)
            if "/" in header:
                problems.append(where + ": a plugin includes headers by name only")
            elif os.path.isfile(os.path.join(here, header)):
                continue
            elif header in CORE_PRIVATE:
                problems.append(where + ": private to the core (use plugin_api.h)")
            elif not os.path.isfile(os.path.join(root, "agent", header)):
                problems.append(where + ": neither this plugin's nor a core header")
    return problems


def plugin_names(root, folder):
    names = set()
    here = os.path.join(root, "plugins", folder)
    for name in os.listdir(here):
        if name == folder + ".c":
            text = open(os.path.join(here, name), encoding="utf-8").read()
            match = re.search(r"const struct plugin %s_plugin = \{[^;]*?" % folder
                              + PLUGIN_NAME.pattern, text, re.S)
            if match:
                names.add(match.group(1))
    return names


def check_core_names(root, folders):
    """The core (agent/) names no plugin."""
    problems = []
    names = set()
    for folder in folders:
        names |= plugin_names(root, folder)
    folder_word = re.compile(r"\b(%s)\b" % "|".join(map(re.escape, folders)))
    by_name = re.compile(r'(->name\s*,\s*|plugin_find\(\s*)"(%s)"' % "|".join(sorted(names)))
    agent = os.path.join(root, "agent")
    for name in sorted(os.listdir(agent)):
        text = open(os.path.join(agent, name), encoding="utf-8").read()
        code = COMMENT.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)
        for number, (line, code_line) in enumerate(
                zip(text.split("\n"), code.split("\n")), 1):
            where = "agent/%s:%d: " % (name, number)
            found = folder_word.search(line) or PLUGIN_CONCERNS.search(code_line)
            if found:
                problems.append(where + "names a plugin (%s)" % found.group(0))
            elif names and by_name.search(code_line):
                problems.append(where + "picks a plugin by its name")
    return problems


def main(argv):
    root = argv[1]
    registered = set(argv[2:]) if len(argv) > 2 else None
    problems = []
    plugins = os.path.join(root, "plugins")
    folders = [folder for folder in sorted(os.listdir(plugins))
               if os.path.isdir(os.path.join(plugins, folder))]
    for folder in folders:
        problems += check_registration(root, folder, registered)
        problems += check_includes(root, folder)
    problems += check_core_names(root, folders)
    for line in problems:
        print(line)
    print("%d problem(s)" % len(problems))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

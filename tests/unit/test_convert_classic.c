/* Unit tests for the readers of `skiff --convert`: Fluent Bit's classic
 * format (convert_classic.c: sections, keys in any case, indentation as
 * Fluent Bit checks it, comments, @SET, @INCLUDE with globs and the main
 * file's folder, malformed lines with file:line) and its YAML format
 * (convert_yaml.c: env, includes, the pipeline's lists, list values,
 * multiline rules). */
#include "suites.h"

#include "convert_model.h"
#include "temp_dir.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int read_classic(struct fb_config *c, const char *text)
{
    memset(c, 0, sizeof *c);
    return fb_read_classic_text(c, "fb.conf", text, strlen(text), NULL);
}

/* The only error, which must contain `what`. */
static void assert_error(struct fb_config *c, const char *what)
{
    ck_assert_msg(c->errors.count == 1, "%zu errors, expected one with '%s'", c->errors.count,
                  what);
    ck_assert_msg(strstr(c->errors.messages[0], what), "error '%s' lacks '%s'",
                  c->errors.messages[0], what);
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char *path = xasprintf("%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    free(path);
}

START_TEST(test_sections_and_keys)
{
    struct fb_config c;
    ck_assert_int_eq(read_classic(&c, "[SERVICE]\r\n"
                                      "    Flush   5\r\n"
                                      "\n"
                                      "[input]\n"
                                      "    Name    tail\n"
                                      "    Path    /var/log/*.log, /x.log   \n"
                                      "    PATH    /y.log\n"
                                      "[OUTPUT]\n"
                                      "    Name stdout\n"
                                      "    Match *\n"),
                     0);
    ck_assert_int_eq(c.errors.count, 0);
    ck_assert_int_eq(c.section_count, 3);
    ck_assert(fb_section_is(&c.sections[0], "service"));
    ck_assert_str_eq(fb_section_value(&c.sections[0], "flush"), "5");
    const struct fb_section *in = &c.sections[1];
    ck_assert(fb_section_is(in, "INPUT"));
    ck_assert_int_eq(in->prop_count, 3);
    /* Keys kept as written, found in any case; the last one wins. */
    ck_assert_str_eq(in->props[1].key, "Path");
    ck_assert_str_eq(in->props[1].value, "/var/log/*.log, /x.log");
    ck_assert_str_eq(fb_section_value(in, "path"), "/y.log");
    ck_assert_str_eq(in->props[2].file, "fb.conf");
    ck_assert_int_eq(in->props[2].line, 7);
    ck_assert_int_eq(c.sections[2].line, 8);
    fb_config_free(&c);
}
END_TEST

START_TEST(test_comments_and_blank_lines)
{
    struct fb_config c;
    ck_assert_int_eq(read_classic(&c, "# at column 0\n"
                                      "[INPUT]\n"
                                      "\tName dummy\n"
                                      "\t# indented like the keys\n"
                                      "\t\n"
                                      "\tTag a # not a comment: part of the value\n"),
                     0);
    ck_assert_int_eq(c.errors.count, 0);
    ck_assert_int_eq(c.sections[0].prop_count, 2);
    ck_assert_str_eq(fb_section_value(&c.sections[0], "tag"),
                     "a # not a comment: part of the value");
    fb_config_free(&c);
}
END_TEST

START_TEST(test_set_variables)
{
    struct fb_config c;
    ck_assert_int_eq(read_classic(&c, "@SET cluster=prod-eu\n"
                                      "@set empty=\n"
                                      "@SET a=b=c\n"
                                      "@SET noequals\n"
                                      "@FOO bar\n"
                                      "[INPUT]\n"
                                      "    Name ${cluster}\n"),
                     0);
    ck_assert_int_eq(c.errors.count, 0);
    ck_assert_str_eq(fb_config_var(&c, "cluster", 7), "prod-eu");
    ck_assert_str_eq(fb_config_var(&c, "empty", 5), "");
    ck_assert_str_eq(fb_config_var(&c, "a", 1), "b=c");
    /* Values keep the reference: the converter decides what it means. */
    ck_assert_str_eq(fb_section_value(&c.sections[0], "name"), "${cluster}");
    /* Fluent Bit ignores these two, with a message. */
    ck_assert_int_eq(c.warnings.count, 2);
    ck_assert(strstr(c.warnings.messages[0], "fb.conf:4: @SET without '='"));
    ck_assert(strstr(c.warnings.messages[1], "fb.conf:5: @FOO"));
    fb_config_free(&c);
}
END_TEST

START_TEST(test_indentation)
{
    struct fb_config c;
    /* The first indented line sets the indent for the whole file. */
    read_classic(&c, "[INPUT]\n  Name tail\n[FILTER]\n   Name grep\n");
    assert_error(&c, "fb.conf:4: invalid indentation: the line is indented more");
    fb_config_free(&c);

    read_classic(&c, "[INPUT]\n    Name tail\n  Tag x\n");
    assert_error(&c, "fb.conf:3: invalid indentation: the line is indented less");
    fb_config_free(&c);

    read_classic(&c, "[INPUT]\n    Name tail\n\tTag x\n");
    assert_error(&c, "fb.conf:3: invalid indentation: tabs and spaces mixed");
    fb_config_free(&c);

    read_classic(&c, "[INPUT]\n  Name tail\n \tTag x\n");
    assert_error(&c, "fb.conf:3: invalid indentation: tabs and spaces mixed");
    fb_config_free(&c);

    read_classic(&c, "[INPUT]\nName tail\n");
    assert_error(&c, "fb.conf:2: invalid indentation: a key must be indented");
    fb_config_free(&c);

    /* A blank line must be blank within the indent, as in Fluent Bit. */
    read_classic(&c, "[INPUT]\n    Name tail\n  \n    Tag x\n");
    assert_error(&c, "fb.conf:3: invalid indentation");
    fb_config_free(&c);

    /* Twice the indent: a group's content, after a [GROUP] line. */
    ck_assert_int_eq(read_classic(&c, "[MULTILINE_PARSER]\n"
                                      "  name m\n"
                                      "  [RULES] x\n"
                                      "    state start_state\n"
                                      "  type regex\n"),
                     0);
    ck_assert_int_eq(c.errors.count, 0);
    const struct fb_section *s = &c.sections[0];
    ck_assert_int_eq(s->group_count, 1);
    ck_assert_str_eq(s->groups[0].name, "RULES");
    ck_assert_str_eq(fb_section_value(&s->groups[0], "state"), "start_state");
    ck_assert_str_eq(fb_section_value(s, "type"), "regex");
    fb_config_free(&c);
}
END_TEST

START_TEST(test_malformed_lines)
{
    static const char *const cases[][2] = {
        {"[INPUT]\n    Name\n", "fb.conf:2: a key without a value"},
        {"[INPUT]\n    Name \n", "fb.conf:2: a key with an empty value"},
        {"[INPUT\n    Name tail\n", "fb.conf:1: bad section header"},
        {"[]\n", "fb.conf:1: bad section header"},
        {"    Name tail\n", "fb.conf:1: a key outside of a [SECTION]"},
        {"@SET\n", "fb.conf:1: a '@' command without a value"},
        {"[INPUT]\n    Name a\0b\n", "fb.conf:2: a NUL byte"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct fb_config c = {0};
        size_t len = strlen(cases[i][0]);
        if (i == 6)
            len = 21;
        ck_assert_int_eq(fb_read_classic_text(&c, "fb.conf", cases[i][0], len, NULL), -1);
        assert_error(&c, cases[i][1]);
        fb_config_free(&c);
    }
}
END_TEST

START_TEST(test_includes)
{
    char *dir = temp_dir_make("convert-include");
    char *sub = xasprintf("%s/conf.d", dir);
    ck_assert_int_eq(mkdir(sub, 0700), 0);
    write_file(dir, "main.conf",
               "[SERVICE]\n    Flush 2\n"
               "@INCLUDE inputs.conf\n"
               "@INCLUDE conf.d/*.conf\n"
               "    Grace 3\n");
    write_file(dir, "inputs.conf", "[INPUT]\n\tName tail\n");
    write_file(sub, "b.conf", "[OUTPUT]\n    Name null\n");
    write_file(sub, "a.conf", "[FILTER]\n    Name grep\n");
    /* From another folder: includes are found in the main file's folder. */
    char *main_path = xasprintf("%s/main.conf", dir);
    struct fb_config c = {0};
    ck_assert_int_eq(fb_read_classic_file(&c, main_path, false), 0);
    ck_assert_int_eq(c.errors.count, 0);
    ck_assert_int_eq(c.section_count, 4);
    ck_assert(fb_section_is(&c.sections[1], "input"));
    ck_assert(strstr(c.sections[1].file, "inputs.conf"));
    ck_assert_int_eq(c.sections[1].props[0].line, 2);
    /* A glob's files in order. */
    ck_assert(fb_section_is(&c.sections[2], "filter"));
    ck_assert(fb_section_is(&c.sections[3], "output"));
    /* After an include, the including file's section goes on. */
    ck_assert_str_eq(fb_section_value(&c.sections[0], "grace"), "3");
    fb_config_free(&c);

    write_file(dir, "missing.conf", "[INPUT]\n    Name tail\n@INCLUDE nowhere.conf\n");
    char *missing = xasprintf("%s/missing.conf", dir);
    ck_assert_int_eq(fb_read_classic_file(&c, missing, false), -1);
    assert_error(&c, "missing.conf:3: @INCLUDE ");
    ck_assert(strstr(c.errors.messages[0], "nowhere.conf: cannot open"));
    fb_config_free(&c);

    write_file(dir, "loop.conf", "[INPUT]\n    Name tail\n@INCLUDE loop.conf\n");
    char *loop = xasprintf("%s/loop.conf", dir);
    ck_assert_int_eq(fb_read_classic_file(&c, loop, false), -1);
    assert_error(&c, "loop.conf:3: ");
    ck_assert(strstr(c.errors.messages[0], "included twice"));
    fb_config_free(&c);

    write_file(dir, "noglob.conf", "@INCLUDE none/*.conf\n");
    char *noglob = xasprintf("%s/noglob.conf", dir);
    ck_assert_int_eq(fb_read_classic_file(&c, noglob, false), -1);
    assert_error(&c, "noglob.conf:1: @INCLUDE none/*.conf: no file matches");
    fb_config_free(&c);

    /* Text from memory reads no file. */
    ck_assert_int_eq(read_classic(&c, "@INCLUDE /etc/passwd\n"), -1);
    fb_config_free(&c);
    memset(&c, 0, sizeof c);
    c.no_files = true;
    ck_assert_int_eq(fb_read_classic_text(&c, "fb.conf", "@INCLUDE x\n", 11, NULL), -1);
    assert_error(&c, "fb.conf:1: @INCLUDE: files are not read here");
    fb_config_free(&c);

    free(noglob);
    free(loop);
    free(missing);
    free(main_path);
    free(sub);
    temp_dir_remove(dir);
}
END_TEST

static int read_yaml(struct fb_config *c, const char *text)
{
    memset(c, 0, sizeof *c);
    c->no_files = true;
    return fb_read_yaml_text(c, "fb.yaml", text, strlen(text), false);
}

START_TEST(test_yaml_format)
{
    struct fb_config c;
    ck_assert_int_eq(read_yaml(&c, "env:\n"
                                   "  cluster: prod\n"
                                   "service:\n"
                                   "  flush: 1\n"
                                   "  http_server: on\n"
                                   "pipeline:\n"
                                   "  inputs:\n"
                                   "    - name: tail\n"
                                   "      path: /var/log/*.log\n"
                                   "  filters:\n"
                                   "    - name: modify\n"
                                   "      Match: '*'\n"
                                   "      add:\n"
                                   "        - a 1\n"
                                   "        - b 2\n"
                                   "      processors:\n"
                                   "        logs: [x]\n"
                                   "parsers:\n"
                                   "  - name: p\n"
                                   "    format: json\n"
                                   "multiline_parsers:\n"
                                   "  - name: m\n"
                                   "    type: regex\n"
                                   "    rules:\n"
                                   "      - state: start_state\n"
                                   "        regex: '/^a/'\n"
                                   "        next_state: cont\n"
                                   "customs:\n"
                                   "  - name: calyptia\n"),
                     0);
    ck_assert_int_eq(c.errors.count, 0);
    ck_assert_str_eq(fb_config_var(&c, "cluster", 7), "prod");
    ck_assert_int_eq(c.section_count, 6);
    ck_assert(fb_section_is(&c.sections[0], "service"));
    ck_assert_str_eq(fb_section_value(&c.sections[0], "http_server"), "on");
    ck_assert(fb_section_is(&c.sections[1], "input"));
    ck_assert_int_eq(c.sections[1].line, 8);
    const struct fb_section *filter = &c.sections[2];
    /* A list is the key repeated; a map a group. */
    ck_assert_int_eq(filter->prop_count, 4);
    ck_assert_str_eq(filter->props[2].value, "a 1");
    ck_assert_str_eq(filter->props[3].value, "b 2");
    ck_assert_int_eq(filter->props[3].line, 15);
    ck_assert_int_eq(filter->group_count, 1);
    ck_assert_str_eq(filter->groups[0].name, "processors");
    ck_assert(fb_section_is(&c.sections[3], "parser"));
    const struct fb_section *ml = &c.sections[4];
    ck_assert(fb_section_is(ml, "multiline_parser"));
    ck_assert_int_eq(ml->group_count, 1);
    ck_assert_str_eq(fb_section_value(&ml->groups[0], "regex"), "/^a/");
    ck_assert(fb_section_is(&c.sections[5], "customs"));
    fb_config_free(&c);

    ck_assert_int_eq(read_yaml(&c, "pipeline:\n  inputs:\n    - name: [a\n"), -1);
    ck_assert_int_eq(c.errors.count, 1);
    ck_assert(strstr(c.errors.messages[0], "fb.yaml:4: YAML: "));
    fb_config_free(&c);

    ck_assert_int_eq(read_yaml(&c, "- a\n- b\n"), -1);
    assert_error(&c, "fb.yaml:1: the top of the file must be a map");
    fb_config_free(&c);

    ck_assert_int_eq(read_yaml(&c, "pipeline:\n  inputs:\n    - &x {name: a}\n    - *x\n"), -1);
    assert_error(&c, "fb.yaml:4: YAML aliases");
    fb_config_free(&c);
}
END_TEST

START_TEST(test_yaml_includes)
{
    char *dir = temp_dir_make("convert-yaml");
    char *sub = xasprintf("%s/sub", dir);
    ck_assert_int_eq(mkdir(sub, 0700), 0);
    write_file(dir, "main.yaml",
               "includes:\n  - sub/inputs.yaml\n"
               "pipeline:\n  outputs:\n    - name: stdout\n      match: '*'\n");
    /* Relative to the including file. */
    write_file(sub, "inputs.yaml",
               "includes: [more.yaml]\n"
               "pipeline:\n  inputs:\n    - name: dummy\n");
    write_file(sub, "more.yaml", "env: [{name: a, value: b}]\n");
    char *path = xasprintf("%s/main.yaml", dir);
    struct fb_config c = {0};
    ck_assert_int_eq(fb_read_file(&c, path, false), 0);
    ck_assert_int_eq(c.errors.count, 0);
    ck_assert_int_eq(c.section_count, 2);
    ck_assert(fb_section_is(&c.sections[0], "input"));
    ck_assert(strstr(c.sections[0].file, "sub/inputs.yaml"));
    ck_assert_str_eq(fb_config_var(&c, "a", 1), "b");
    fb_config_free(&c);

    write_file(dir, "bad.yaml", "service:\n  flush: 1\nincludes:\n  - none.yaml\n");
    char *bad = xasprintf("%s/bad.yaml", dir);
    ck_assert_int_eq(fb_read_file(&c, bad, false), 0);
    ck_assert_int_eq(c.errors.count, 1);
    ck_assert(strstr(c.errors.messages[0], "bad.yaml:4: "));
    ck_assert(strstr(c.errors.messages[0], "none.yaml: cannot open"));
    fb_config_free(&c);

    free(bad);
    free(path);
    free(sub);
    temp_dir_remove(dir);
}
END_TEST

Suite *convert_classic_suite(void)
{
    Suite *s = suite_create("convert_classic");
    TCase *classic = tcase_create("classic");
    tcase_add_test(classic, test_sections_and_keys);
    tcase_add_test(classic, test_comments_and_blank_lines);
    tcase_add_test(classic, test_set_variables);
    tcase_add_test(classic, test_indentation);
    tcase_add_test(classic, test_malformed_lines);
    tcase_add_test(classic, test_includes);
    suite_add_tcase(s, classic);
    TCase *yaml = tcase_create("yaml");
    tcase_add_test(yaml, test_yaml_format);
    tcase_add_test(yaml, test_yaml_includes);
    suite_add_tcase(s, yaml);
    return s;
}

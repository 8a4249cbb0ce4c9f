/* skiff's command line: run the pipeline, check a config, or describe the
 * plugins. Exit codes: 0 ok, 1 runtime failure, 2 bad usage or config. */
#include "config.h"
#include "convert.h"
#include "http_client.h"
#include "log.h"
#include "metrics.h"
#include "pipeline.h"
#include "skiff_version.h"

#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

enum { EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

enum command {
    CMD_RUN,
    CMD_DRY_RUN,
    CMD_VERSION,
    CMD_HELP,
    CMD_LIST,
    CMD_DESCRIBE,
    CMD_REFERENCE,
    CMD_CONVERT
};

struct cli {
    enum command command;
    const char *config_path;
    const char *plugin_name;
    const char *convert_path;
};

static void print_help(FILE *out)
{
    fprintf(out, "Usage: skiff -c FILE              run the pipeline until SIGTERM or SIGINT;\n"
                 "                                  SIGHUP or POST /reload reloads FILE\n"
                 "       skiff --dry-run -c FILE    check FILE and exit (0 valid, 2 invalid)\n"
                 "       skiff --list-plugins       list the built-in plugins\n"
                 "       skiff --describe PLUGIN    print a plugin's options\n"
                 "       skiff --reference          print every option table as Markdown\n"
                 "       skiff --convert FILE       print FILE, a Fluent Bit configuration, as "
                 "skiff's YAML\n"
                 "       skiff --version | --help\n"
                 "\n"
                 "Options:\n"
                 "  -c, --config FILE   the YAML configuration\n"
                 "  -n, --dry-run       load and validate the configuration, then exit\n"
                 "  -l, --list-plugins  list plugins with their kind and description\n"
                 "  -d, --describe NAME print the options of plugin NAME\n"
                 "      --convert FILE  convert a Fluent Bit configuration (.conf with @INCLUDE\n"
                 "                      and @SET, or .yaml) to skiff's YAML on stdout; what has\n"
                 "                      no equivalent becomes a comment and a line on stderr;\n"
                 "                      exit 0 if skiff accepts the result (as --dry-run), 2 if\n"
                 "                      not (the YAML is still printed) or FILE cannot be read\n"
                 "  -V, --version       print the version\n"
                 "  -h, --help          print this help\n"
                 "\n"
                 "Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error.\n");
}

static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void usage_error(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "skiff: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see skiff --help)\n");
}

/* Fills `cli`; returns -1 after printing a usage error. */
static int parse_cli(int argc, char **argv, struct cli *cli)
{
    static const struct option long_options[] = {
        {"config", required_argument, NULL, 'c'},
        {"dry-run", no_argument, NULL, 'n'},
        {"list-plugins", no_argument, NULL, 'l'},
        {"describe", required_argument, NULL, 'd'},
        {"reference", no_argument, NULL, 'r'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {"convert", required_argument, NULL, 'C'},
        {NULL, 0, NULL, 0},
    };
    bool dry_run = false;
    int opt;

    memset(cli, 0, sizeof *cli);
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":c:nld:Vh", long_options, NULL)) != -1) {
        switch (opt) {
        case 'c':
            cli->config_path = optarg;
            break;
        case 'n':
            dry_run = true;
            break;
        case 'l':
            cli->command = CMD_LIST;
            break;
        case 'd':
            cli->command = CMD_DESCRIBE;
            cli->plugin_name = optarg;
            break;
        case 'r':
            cli->command = CMD_REFERENCE;
            break;
        case 'C':
            cli->command = CMD_CONVERT;
            cli->convert_path = optarg;
            break;
        case 'V':
            cli->command = CMD_VERSION;
            break;
        case 'h':
            cli->command = CMD_HELP;
            break;
        case ':':
            usage_error("option '%s' needs a value", argv[optind - 1]);
            return -1;
        default:
            usage_error("unknown option '%s'", argv[optind - 1]);
            return -1;
        }
    }
    if (optind < argc) {
        usage_error("unexpected argument '%s'", argv[optind]);
        return -1;
    }
    if (cli->command == CMD_RUN && dry_run)
        cli->command = CMD_DRY_RUN;
    if ((cli->command == CMD_RUN || cli->command == CMD_DRY_RUN) && !cli->config_path) {
        usage_error("no configuration given: use -c FILE");
        return -1;
    }
    return 0;
}

static void list_plugins(void)
{
    for (const struct plugin *const *p = plugin_all(); *p; p++)
        printf("%-8s %-16s %s\n", plugin_kind_name((*p)->kind), (*p)->name, (*p)->description);
}

static int describe_plugin(const char *name)
{
    bool found = false;
    for (const struct plugin *const *p = plugin_all(); *p; p++) {
        if (strcmp((*p)->name, name) != 0)
            continue;
        if (found)
            printf("\n");
        found = true;
        printf("%s %s: %s\n\nOptions of every %s:\n", plugin_kind_name((*p)->kind), (*p)->name,
               (*p)->description, plugin_kind_name((*p)->kind));
        options_describe(config_common_options((*p)->kind), stdout);
        printf("\nOptions of %s:\n", (*p)->name);
        if ((*p)->options[0].name)
            options_describe((*p)->options, stdout);
        else
            printf("  (none)\n");
    }
    if (!found) {
        fprintf(stderr, "skiff: no plugin named '%s' (see skiff --list-plugins)\n", name);
        return EXIT_USAGE;
    }
    return EXIT_SUCCESS;
}

/* The configuration reference in the README is this output. */
static void print_reference(void)
{
    printf("#### service\n\n");
    options_describe_markdown(service_options, stdout);
    static const enum plugin_kind kinds[] = {PLUGIN_INPUT, PLUGIN_FILTER, PLUGIN_OUTPUT,
                                             PLUGIN_PARSER};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        printf("\n#### Options of every %s\n\n", plugin_kind_name(kinds[k]));
        options_describe_markdown(config_common_options(kinds[k]), stdout);
        for (const struct plugin *const *p = plugin_all(); *p; p++) {
            if ((*p)->kind != kinds[k])
                continue;
            printf("\n#### %s `%s`\n\n%s.\n\n", plugin_kind_name(kinds[k]), (*p)->name,
                   (*p)->description);
            if ((*p)->options[0].name)
                options_describe_markdown((*p)->options, stdout);
            else
                printf("No options of its own.\n");
        }
    }
}

static int load_config(const char *path, struct config *config)
{
    struct diag_list diags = {0};
    if (config_load(path, config, &diags) < 0) {
        diag_print(&diags, stderr);
        fprintf(stderr, "skiff: %s: %zu error%s in the configuration\n", path, diags.count,
                diags.count == 1 ? "" : "s");
        diag_free(&diags);
        return -1;
    }
    diag_free(&diags);
    return 0;
}

/* The tail input keeps one descriptor per followed file; a node has
 * thousands. Raise the soft limit to the hard one the system allows. */
static void raise_fd_limit(void)
{
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &limit) < 0)
            log_warn("main", "cannot raise the open file limit: %s", strerror(errno));
    }
}

/* SIGHUP reloads once the pipeline runs (pipeline_reload.c); one that comes
 * while the config loads waits for it rather than ending the process. */
static void defer_sighup(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);
}

static int run(const struct cli *cli)
{
    struct config config;
    if (cli->command == CMD_RUN)
        defer_sighup();
    if (load_config(cli->config_path, &config) < 0)
        return EXIT_USAGE;
    if (cli->command == CMD_DRY_RUN) {
        printf("skiff: %s: configuration is valid\n", cli->config_path);
        config_free(&config);
        return EXIT_SUCCESS;
    }
    enum log_level level = LOG_INFO;
    log_level_parse(config.service.log_level, &level);
    log_set_level(level);
    log_info("main", "skiff %s starting with %s", SKIFF_VERSION, cli->config_path);
    raise_fd_limit();

    int status = EXIT_RUNTIME;
    /* Before pipeline_create starts the output threads. */
    if (http_client_global_init() < 0) {
        config_free(&config);
        return status;
    }
    struct pipeline *pipeline = pipeline_create(&config);
    if (pipeline) {
        status = pipeline_run(pipeline);
        pipeline_destroy(pipeline);
    }
    http_client_global_cleanup();
    config_free(&config);
    metrics_reset();
    return status;
}

int main(int argc, char **argv)
{
    /* Chunks and output bodies are large, short-lived buffers. Fixed
     * thresholds, not glibc's adaptive ones (which kept every size ever freed
     * in the heap and made peak RSS about twice the configured buffer
     * limits): chunks (at most 2 MiB) come from the heap, so the pages of a
     * freed chunk serve the next one instead of being mapped and zeroed again
     * (a 256 KiB threshold mapped every chunk afresh: in the backlog
     * benchmark 28,000 page faults and 0.53-0.54 CPU s, against
     * 17,000-19,000 and 0.47-0.50 at 4 MiB); a free top of the heap under
     * 4 MiB stays for the next chunks (8 MiB: 7,000 faults, but peak RSS
     * over 30 MiB); larger buffers are mapped and unmapped. pipeline_buffer.c
     * gives the heap's free pages back once a second (malloc_trim). */
    mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 4 * 1024 * 1024);
    struct cli cli;
    if (parse_cli(argc, argv, &cli) < 0)
        return EXIT_USAGE;

    switch (cli.command) {
    case CMD_VERSION:
        printf("skiff %s\n", SKIFF_VERSION);
        return EXIT_SUCCESS;
    case CMD_HELP:
        print_help(stdout);
        return EXIT_SUCCESS;
    case CMD_LIST:
        list_plugins();
        return EXIT_SUCCESS;
    case CMD_DESCRIBE:
        return describe_plugin(cli.plugin_name);
    case CMD_REFERENCE:
        print_reference();
        return EXIT_SUCCESS;
    case CMD_CONVERT:
        return convert_main(cli.convert_path, stdout, stderr);
    case CMD_RUN:
    case CMD_DRY_RUN:
        break;
    }
    return run(&cli);
}

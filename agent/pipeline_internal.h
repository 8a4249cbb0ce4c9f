/* The pipeline's state, shared by pipeline.c (the record path and the run
 * loop) and pipeline_setup.c (building and tearing down instances). Not for
 * plugins: they see only pipeline.h. */
#ifndef SKIFF_PIPELINE_INTERNAL_H
#define SKIFF_PIPELINE_INTERNAL_H

#include "pipeline.h"

#include <stdbool.h>
#include <stdint.h>

struct chunk_store;
struct http_server;
struct loop_timer;
struct output_worker;
struct router;

struct pipeline {
    const struct config *config;
    struct loop *loop;
    struct instance *inputs;
    size_t input_count;
    struct instance *filters;
    size_t filter_count;
    struct instance *outputs;
    size_t output_count;
    struct instance *parsers; /* the user's, then the built-in ones */
    size_t parser_count;
    struct instance_config *builtin_parsers; /* configs of the built-in ones */
    size_t builtin_parser_count;
    const char **filter_matches;
    const char **output_matches;

    struct router *router;
    struct chunk_store *store;
    struct output_worker *worker;
    bool worker_started;
    struct http_server *http;
    int signal_fd;
    struct loop_timer *flush_timer;
    struct loop_timer *grace_timer;
    uint64_t next_chunk_id;
    bool stopping;

    struct metric *chunks_pending;
    uint64_t abandoned_records;
    uint64_t abandoned_chunks;
};

/* parser.c: a parser's time format and counters. */
int parser_support_init(struct instance *parser);
void parser_support_free(struct instance *parser);

/* Starts the HTTP server if service.http.listen is set. Returns 0 or -1. */
int pipeline_start_http(struct pipeline *p);

#endif

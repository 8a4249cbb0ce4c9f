/* `skiff --convert FILE`: reads a Fluent Bit configuration (classic .conf
 * with @INCLUDE and @SET, or Fluent Bit's YAML), writes the equivalent skiff
 * YAML, and checks it with skiff's own configuration loader. What skiff has
 * no equivalent for becomes a comment in place and a line on stderr. A
 * front-end tool: the core does not call it. */
#ifndef SKIFF_CONVERT_H
#define SKIFF_CONVERT_H

#include "convert_out.h"
#include "diag.h"

#include <stdbool.h>
#include <stdio.h>

struct convert_result {
    char *yaml;              /* the skiff configuration; NULL if the input could not be read */
    struct out_lines lines;  /* the Fluent Bit line each YAML line came from */
    struct diag_list notes;  /* "FILE:LINE: ..." what was not carried over */
    struct diag_list errors; /* input that cannot be read, or values Fluent Bit refuses */
    char **files;            /* the file names `lines` points to */
    size_t file_count;
};

/* Converts the file (its format by its name's ending, as Fluent Bit picks
 * it: .yaml and .yml are YAML). Returns 0, or -1 when the input could not be
 * read (result->errors says why; no YAML). */
int convert_file(const char *path, struct convert_result *result);
/* The same for a text held in memory (tests); files it names are not read. */
int convert_text(const char *name, const char *text, bool yaml, struct convert_result *result);
void convert_result_free(struct convert_result *result);

/* The command: prints the YAML on `out`, the notes and errors on `err`, and
 * returns the exit code: 0 when skiff's loader takes the result (the same
 * load as --dry-run), 2 otherwise or when the input cannot be read. */
int convert_main(const char *path, FILE *out, FILE *err);

#endif

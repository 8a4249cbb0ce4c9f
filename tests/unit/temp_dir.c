/* Temporary folders for unit tests (see temp_dir.h). */
#include "temp_dir.h"

#include "xalloc.h"

#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

char *temp_dir_make(const char *what)
{
    char *dir = xasprintf("/tmp/skiff-%s-XXXXXX", what);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    return dir;
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    return remove(path);
}

void temp_dir_remove(char *dir)
{
    ck_assert_int_eq(nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS), 0);
    free(dir);
}

/* Temporary folders for unit tests that touch the disk. */
#ifndef SKIFF_TEST_TEMP_DIR_H
#define SKIFF_TEST_TEMP_DIR_H

/* A new empty folder under /tmp, named after `what`; malloc'ed path. */
char *temp_dir_make(const char *what);
/* Removes the folder with everything in it, and frees the path. */
void temp_dir_remove(char *dir);

#endif

/* same_file.c — see same_file.h. */
#include "same_file.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void path_resolve(const char *path, char *out, size_t size)
{
    const char *slash = strrchr(path, '/'), *name = slash ? slash + 1 : path;
    size_t dir_len = !slash ? 0 : slash == path ? 1 : (size_t)(slash - path);
    char dir[PATH_MAX], real[PATH_MAX];
    if (realpath(path, real) && snprintf(out, size, "%s", real) < (int)size) return;
    if (dir_len >= sizeof dir) {
        snprintf(out, size, "%s", path);
        return;
    }
    if (slash) memcpy(dir, path, dir_len), dir[dir_len] = '\0';
    else strcpy(dir, ".");
    if (!realpath(dir, real) || snprintf(out, size, "%s/%s", strcmp(real, "/") ? real : "", name) >= (int)size)
        snprintf(out, size, "%s", path);
}

int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    char ra[PATH_MAX + 256], rb[PATH_MAX + 256];
    if (strcmp(a, b) == 0) return 1;
    if (stat(a, &sa) == 0 && stat(b, &sb) == 0) return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    path_resolve(a, ra, sizeof ra), path_resolve(b, rb, sizeof rb);
    return strcmp(ra, rb) == 0;
}

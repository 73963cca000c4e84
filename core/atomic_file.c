/* atomic_file.c — see atomic_file.h. */
#include "atomic_file.h"

#include <errno.h>
#include <string.h>

#include "error.h"

int write_file_atomically(const char *path, const char *what, FileWriter write, const void *ctx)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) return nndl_fail("cannot write %s %s: %s", what, tmp, strerror(errno));
    int ok = write(f, ctx);
    ok = fclose(f) == 0 && ok;
    if (!ok) {
        remove(tmp);
        return nndl_fail("writing %s %s failed (disk full?); the previous file is untouched", what, path);
    }
    if (rename(tmp, path) != 0) {
        remove(tmp);
        return nndl_fail("cannot rename %s to %s: %s", tmp, path, strerror(errno));
    }
    return NNDL_OK;
}

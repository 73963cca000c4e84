/* scratch.c — see scratch.h. */
#include "scratch.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char scratch[128];

static void remove_scratch(void)
{
    DIR *d = opendir(scratch);
    if (!d) return;
    char path[512];
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/%s", scratch, e->d_name);
        remove(path); /* files, and the empty directories a target makes */
    }
    closedir(d);
    rmdir(scratch);
}

const char *fuzz_scratch_dir(void)
{
    if (scratch[0]) return scratch;
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(scratch, sizeof scratch, "%s/nndl_fuzz_%ld", base, (long)getpid());
    if (mkdir(scratch, 0700) != 0) {
        perror(scratch);
        abort();
    }
    atexit(remove_scratch);
    return scratch;
}

const char *fuzz_scratch_write(char *buf, size_t buf_size, const char *name, const void *data,
                               size_t size, long length)
{
    snprintf(buf, buf_size, "%s/%s", fuzz_scratch_dir(), name);
    FILE *f = fopen(buf, "wb");
    if (!f) return NULL;
    int ok = fwrite(data, 1, size, f) == size;
    ok = (fclose(f) == 0) && ok;
    if (ok && length > (long)size) ok = truncate(buf, length) == 0;
    return ok ? buf : NULL;
}

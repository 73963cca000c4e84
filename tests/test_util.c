/* test_util.c — see test_util.h. */
#include "test_util.h"

#include <ftw.h>
#include <sys/stat.h>

#include <stb/stb_image_write.h>
#include <sys/wait.h>
#include <stdio.h>
#include <string.h>

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cifar10.h"
#include "error.h"

#include "error.h"

void test_assert_below(double value, double limit, const char *what, int line, const char *file,
                       const char *func)
{
    char msg[256];
    int ok = value < limit; /* NaN fails */
    snprintf(msg, sizeof msg, "%s: %.3g (limit %.3g)", what, value, limit);
    if (!ok) fprintf(stderr, "\n    FAILED %s\n", msg);
    CU_assertImplementation(ok ? CU_TRUE : CU_FALSE, (unsigned)line, msg, file, func, CU_FALSE);
}

void test_assert_error_mentions(int rc, const char *fragment, int line, const char *file,
                                const char *func)
{
    char msg[700];
    int ok = rc == NNDL_ERR && strstr(nndl_last_error(), fragment) != NULL;
    snprintf(msg, sizeof msg, "error (rc %d) '%s' mentions '%s'", rc, nndl_last_error(), fragment);
    if (!ok) fprintf(stderr, "\n    FAILED %s\n", msg);
    CU_assertImplementation(ok ? CU_TRUE : CU_FALSE, (unsigned)line, msg, file, func, CU_FALSE);
}

int make_temp_dir(char *path, size_t size, const char *prefix)
{
    snprintf(path, size, "/tmp/%s_XXXXXX", prefix);
    return mkdtemp(path) ? 0 : -1;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)type, (void)ftw;
    return remove(path);
}

void remove_tree(const char *path) { nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }


void add_suite(const char *name, const CU_TestInfo *tests)
{
    CU_pSuite suite = CU_add_suite(name, NULL, NULL);
    for (; suite && tests->pName; tests++) CU_add_test(suite, tests->pName, tests->pTestFunc);
}

int write_cifar_batch(const char *dir, const char *name, int label_offset, long size)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    unsigned char rec[CIFAR10_RECORD_BYTES];
    for (int r = 0; r < 40; r++) {
        rec[0] = (unsigned char)((r + label_offset) % 10);
        for (int i = 0; i < CIFAR10_IMAGE_BYTES; i++) rec[1 + i] = (unsigned char)((r + i) % 251);
        fwrite(rec, 1, sizeof rec, f);
    }
    fclose(f);
    return truncate(path, size); /* sparse: full size without writing 30 MB */
}

int write_test_png(const char *path, int w, int h, int red)
{
    unsigned char px[64 * 64 * 3];
    if (w > 64 || h > 64) return -1;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            unsigned char *p = px + 3 * (y * w + x);
            p[0] = (unsigned char)red, p[1] = (unsigned char)(30 * x), p[2] = (unsigned char)(40 * y);
        }
    return stbi_write_png(path, w, h, 3, px, w * 3) ? 0 : -1;
}

int write_test_image_folder(const char *dir, const char *const *classes, int n_classes, int per_class, int w, int h)
{
    char path[512];
    if (mkdir(dir, 0700) != 0) return -1;
    for (int c = 0; c < n_classes; c++) {
        snprintf(path, sizeof path, "%s/%s", dir, classes[c]);
        if (mkdir(path, 0700) != 0) return -1;
        for (int k = 0; k < per_class; k++) {
            snprintf(path, sizeof path, "%s/%s/%d.png", dir, classes[c], k);
            if (write_test_png(path, w, h, 10 + 20 * c + k) != 0) return -1;
        }
    }
    return 0;
}

int write_cifar100_file(const char *dir, const char *name, long size)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    unsigned char rec[2 + 3072];
    for (int r = 0; r < 40; r++) {
        rec[0] = (unsigned char)(r % 20), rec[1] = (unsigned char)(3 * r % 100);
        for (int i = 0; i < 3072; i++) rec[2 + i] = (unsigned char)((r + i) % 251);
        fwrite(rec, 1, sizeof rec, f);
    }
    fclose(f);
    return truncate(path, size);
}

const char *test_program(void)
{
    const char *p = getenv("NNDL_PROGRAM");
    return p && *p ? p : "./nndl";
}

int run_cli(const char *args, char *out, size_t size)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s %s", test_program(), args);
    return run_shell(cmd, out, size);
}

int run_shell(const char *command, char *out, size_t size)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "(%s) 2>&1", command);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t got = fread(out, 1, size - 1, p);
    out[got] = '\0';
    while (fgetc(p) != EOF) {} /* the rest, so the program never blocks on a full pipe */
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void expect_cli(const char *args, int want_status, const char *fragment)
{
    char out[4096];
    int status = run_cli(args, out, sizeof out);
    int found = strstr(out, fragment) != NULL;
    CU_ASSERT_EQUAL(status, want_status);
    if (!found || status != want_status) fprintf(stderr, "\n    nndl %s -> %d: %.300s\n", args, status, out);
    CU_ASSERT(found);
}

int cli_has_cuda(void)
{
    char out[4096];
    return run_cli("--version", out, sizeof out) == 0 && strstr(out, "\ncuda: ") && !strstr(out, "\ncuda: unavailable");
}

void make_random_dataset(Dataset *d, int n, int c, int h, int w, uint64_t seed)
{
    dataset_alloc(d, n, c, h, w);
    Rng r;
    rng_seed(&r, seed);
    for (size_t i = 0; i < (size_t)n * c * h * w; i++) d->x[i] = (float)rng_gaussian(&r);
    for (int i = 0; i < n; i++) d->y[i] = (int)rng_below(&r, 10);
}

static Backend *shared_backends[2]; /* cpu, cuda */

const Backend *test_backend(const char *name)
{
    int k = strcmp(name, "cpu") == 0 ? 0 : strcmp(name, "cuda") == 0 ? 1 : -1;
    if (k < 0) return backend_create(name); /* unknown: NULL with the registry's message */
    if (!shared_backends[k]) shared_backends[k] = backend_create(name);
    return shared_backends[k];
}

void test_backends_destroy(void)
{
    for (int k = 0; k < 2; k++) backend_destroy(shared_backends[k]), shared_backends[k] = NULL;
}

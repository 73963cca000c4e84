/* cpu_describe.c — what the cpu backend runs on: the processor, OpenMP threads and the BLAS
 * (OpenBLAS's own configuration string and thread count), for `nndl check` and --version. */
#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>

#include "cpu_ops.h"

static void cpu_model_name(char *buf, size_t size)
{
    snprintf(buf, size, "unknown processor");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) == 0 && colon) {
            colon += 1 + (colon[1] == ' ');
            colon[strcspn(colon, "\n")] = '\0';
            snprintf(buf, size, "%s", colon);
            break;
        }
    }
    fclose(f);
}

void cpu_describe(const Backend *be, char *buf, size_t size)
{
    (void)be;
    char model[128];
    cpu_model_name(model, sizeof model);
    snprintf(buf, size, "cpu: %s, %d OpenMP threads; BLAS %s, %d threads", model,
             omp_get_max_threads(), openblas_get_config(), openblas_get_num_threads());
}

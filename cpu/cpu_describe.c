/* cpu_describe.c — what the cpu backend runs on: the processor, OpenMP threads and the matrix
 * product's libraries (cpu_gemm.h), for `nndl check` and --version. */
#include <omp.h>
#include <stdio.h>
#include <string.h>

#include "cpu_gemm.h"
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
    char model[128], gemm[256];
    cpu_model_name(model, sizeof model);
    cpu_gemm_describe(gemm, sizeof gemm);
    snprintf(buf, size, "cpu: %s, %d OpenMP threads; %s", model, omp_get_max_threads(), gemm);
}

/* bench_conv.c — `nndl bench conv`: the cpu backend's algorithms for 3x3, stride-1, pad-1
 * convolutions, im2col + sgemm, Winograd F(2x2, 3x3) and F(4x4, 3x3), on the same shapes,
 * alternated (so a loaded machine slows all alike) and best of 5: the measurement behind
 * cpu_conv.c's choice. */
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "cpu_backend.h"
#include "cpu_ops.h"
#include "error.h"
#include "progress.h"
#include "rng.h"

static float *random_array(const Backend *be, size_t n, Rng *r)
{
    float *x = be->alloc(be, n * sizeof *x);
    if (x)
        for (size_t i = 0; i < n; i++) x[i] = (float)rng_gaussian(r);
    return x;
}

/* Seconds of one forward, or of one backward with dx, under algo. */
static double time_conv(const Backend *be, int algo, int backward, float *const t[7], const ConvGeom *g)
{
    cpu_backend_set_conv_algo(be, algo);
    double t0 = now_seconds();
    if (backward) be->conv_backward(be, t[4], t[5], t[6], t[3], t[0], t[1], g);
    else be->conv_forward(be, t[3], t[0], t[1], t[2], g);
    return now_seconds() - t0;
}

int bench_conv(void)
{
    Backend *be = backend_create("cpu");
    if (!be) {
        fprintf(stderr, "nndl bench conv: %s\n", nndl_last_error());
        return 1;
    }
    static const int shapes[][5] = {/* N, C, H (= W), F */
                                    {100, 3, 32, 64},  {100, 16, 32, 16}, {100, 32, 32, 32}, {100, 64, 16, 64},
                                    {100, 128, 16, 128}, {100, 128, 8, 128}, {100, 8, 32, 8},
                                    /* issue #13's net: odd maps, 15x15 to 3x3 */
                                    {100, 24, 31, 32}, {100, 32, 15, 128}, {100, 128, 15, 128},
                                    {100, 128, 7, 128}, {100, 128, 3, 128}};
    static const int algos[3] = {CPU_CONV_IM2COL, CPU_CONV_WINOGRAD, CPU_CONV_WINOGRAD4};
    printf("nndl bench conv — 3x3 stride 1 pad 1 on the cpu: im2col + sgemm vs Winograd F(2x2,3x3) and\n"
           "F(4x4,3x3), alternated, best of 5 (ms); backward is dW and dx, both by the column's algorithm\n\n");
    printf("| x (N, C, H, W)      | F   | fwd im2col | fwd F(2x2) | fwd F(4x4) | bwd im2col | bwd F(2x2) | bwd F(4x4) | auto     |\n");
    printf("|---------------------|-----|------------|------------|------------|------------|------------|------------|----------|\n");
    Rng r;
    rng_seed(&r, 5);
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        const int *d = shapes[s];
        ConvGeom g;
        conv_geom_init(&g, d[0], d[1], d[2], d[2], d[3], d[1], 3, 3, 1, 1);
        size_t sizes[7] = {conv_in_size(&g), conv_w_size(&g), (size_t)g.F, conv_out_size(&g), conv_in_size(&g),
                           conv_w_size(&g), (size_t)g.F};
        float *t[7];
        int ok = be->conv_reserve(be, &g) == NNDL_OK;
        for (int i = 0; i < 7; i++) ok &= (t[i] = random_array(be, sizes[i], &r)) != NULL;
        if (!ok) {
            fprintf(stderr, "nndl bench conv: out of memory for x (%d, %d, %d, %d)\n", d[0], d[1], d[2], d[2]);
            return 1;
        }
        cpu_backend_set_conv_algo(be, CPU_CONV_AUTO);
        int auto_tile = cpu_conv_winograd_tile(be, &g);
        double best[2][3] = {{1e30, 1e30, 1e30}, {1e30, 1e30, 1e30}}; /* [backward][algorithm] */
        for (int rep = 0; rep < 5; rep++)
            for (int bw = 0; bw < 2; bw++)
                for (int a = 0; a < 3; a++) {
                    double sec = time_conv(be, algos[a], bw, t, &g);
                    if (sec < best[bw][a]) best[bw][a] = sec;
                }
        char x[32];
        snprintf(x, sizeof x, "(%d, %d, %d, %d)", d[0], d[1], d[2], d[2]);
        printf("| %-19s | %3d |", x, g.F);
        for (int bw = 0; bw < 2; bw++)
            for (int a = 0; a < 3; a++) printf(" %10.1f |", 1e3 * best[bw][a]);
        printf(" %-8s |\n", auto_tile == 4 ? "F(4x4)" : auto_tile == 2 ? "F(2x2)" : "im2col");
        fflush(stdout);
        for (int i = 0; i < 7; i++) be->release(be, t[i]);
    }
    cpu_backend_set_conv_algo(be, CPU_CONV_AUTO);
    backend_destroy(be);
    return 0;
}

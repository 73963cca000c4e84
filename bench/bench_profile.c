/* bench_profile.c — where a training step's time goes: the machine's sgemm rate and memory
 * bandwidth, measured with the backend's own ops, and the per-op table of a profiled run
 * (Model.profile, filled by the model's forward/backward loops and the Solver's update).
 *
 * Work per op: layers with weights count 2 x multiply-adds (forward: weights x output positions;
 * backward: twice that, once without the first layer's input gradient); every other op counts
 * the bytes of the tensors it must touch once each (forward: input and output; backward: input,
 * output gradient and input gradient; the update rule: parameters, gradients and its state) —
 * a lower bound of its traffic, so its GB/s against the stream rate says how many passes it
 * makes. */
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "error.h"
#include "fused_group.h"
#include "progress.h"

static void wait_for(const Backend *be)
{
    if (be->synchronize) be->synchronize(be);
}

double bench_layer_macs(const Model *m, int i)
{
    const Layer *l = &m->layers[i];
    /* a kind with no weight, or one whose weight is absent (a residual block without proj) */
    if (l->spec.kind->n_params == 0 || !l->spec.kind->params[0].is_weight || l->param[0] < 0) return 0;
    const Param *w = &m->params[l->param[0]];
    return (double)w->n * l->out[1] * l->out[2];
}

int bench_measure_machine(const Backend *be, BenchMachine *out)
{
    const int n = 1024;
    size_t big = (size_t)32 << 20; /* floats: 128 MiB */
    float *a = be->alloc(be, (size_t)n * n * sizeof *a), *b = be->alloc(be, (size_t)n * n * sizeof *b);
    float *c = be->alloc(be, (size_t)n * n * sizeof *c), *bias = be->alloc(be, (size_t)n * sizeof *bias);
    float *x = be->alloc(be, big * sizeof *x), *y = be->alloc(be, big * sizeof *y);
    int ok = a && b && c && bias && x && y;
    if (ok) {
        be->fill(be, a, 0.5f, (size_t)n * n), be->fill(be, b, 0.25f, (size_t)n * n), be->fill(be, bias, 0, n);
        be->fill(be, x, 1.0f, big);
        be->affine_forward(be, c, a, b, bias, n, n, n); /* warm-up */
        wait_for(be);
        int reps = 0;
        double t0 = now_seconds(), t;
        do {
            be->affine_forward(be, c, a, b, bias, n, n, n);
            wait_for(be);
            reps++;
        } while ((t = now_seconds() - t0) < 0.5);
        out->sgemm_gflops = 2.0 * n * n * n * reps / t / 1e9;
        be->relu_forward(be, y, x, big);
        wait_for(be);
        reps = 0, t0 = now_seconds();
        do {
            be->relu_forward(be, y, x, big);
            wait_for(be);
            reps++;
        } while ((t = now_seconds() - t0) < 0.5);
        out->stream_gbs = 2.0 * big * sizeof(float) * reps / t / 1e9;
    }
    float *all[] = {a, b, c, bias, x, y};
    for (int i = 0; i < 6; i++)
        if (all[i]) be->release(be, all[i]);
    if (!ok) return nndl_fail("out of memory for the machine measurement on %s", be->name);
    printf("machine (%s): sgemm %.1f GFLOP/s (1024^3, the backend's affine_forward); memory %.1f GB/s "
           "(relu_forward over 128 MiB, read + write)\n\n", be->name, out->sgemm_gflops, out->stream_gbs);
    return NNDL_OK;
}

static size_t act_bytes(const Model *m, const int shape[3])
{
    return (size_t)shape[0] * shape[1] * shape[2] * m->max_batch * sizeof(float);
}

/* One row: work is FLOPs when flops, else bytes; per step. */
static void row(const char *op, const char *dir, double seconds, double step_s, double work, int flops,
                const BenchMachine *mc)
{
    printf("| %-22s | %-3s | %9.2f | %5.1f%% |", op, dir, 1e3 * seconds, 100 * seconds / step_s);
    if (work <= 0 || seconds <= 0) {
        printf("                |        |\n");
        return;
    }
    double rate = work / seconds / 1e9, peak = flops ? mc->sgemm_gflops : mc->stream_gbs;
    printf(" %8.1f %-5s | %5.0f%% |\n", rate, flops ? "GFLOP" : "GB", 100 * rate / peak);
}

void bench_profile_print(const Model *m, const ModelProfile *p, double step_s, const BenchMachine *mc)
{
    double steps = p->steps > 0 ? (double)p->steps : 1, sum = 0;
    printf("per op, %ld steps at batch %d: ms per step, share of the step (%.2f ms), rate and its share of "
           "the machine's (GFLOP/s of sgemm for layers with weights, GB/s of memory for the others)\n\n",
           p->steps, m->max_batch, 1e3 * step_s);
    printf("| op                     | dir | ms / step | share  | rate           | of max |\n");
    printf("|------------------------|-----|-----------|--------|----------------|--------|\n");
    row("upload batch", "", p->upload / steps, step_s, 0, 0, mc);
    sum += p->upload / steps;
    for (int dir = 0; dir < 2; dir++)
        for (int k = 0; k < m->n_layers; k++) {
            int i = dir == 0 ? k : m->n_layers - 1 - k;
            if (m->group[i] == 0) continue;
            const Layer *l = &m->layers[i], *last = &m->layers[i + m->group[i] - 1];
            char name[64];
            if (m->group[i] > 1) fused_group_name(name, sizeof name, l, m->group[i]);
            else layer_spec_format(name, sizeof name, &l->spec);
            double s = (dir == 0 ? p->forward[i] : p->backward[i]) / steps, macs = bench_layer_macs(m, i), work;
            int flops = macs > 0;
            if (flops) work = 2 * macs * m->max_batch * (dir == 0 ? 1 : i == 0 ? 1 : 2);
            else if (dir == 0) work = (double)act_bytes(m, l->in) + act_bytes(m, last->out);
            else work = 2.0 * act_bytes(m, l->in) + act_bytes(m, last->out);
            row(name, dir == 0 ? "fwd" : "bwd", s, step_s, work, flops, mc);
            sum += s;
        }
    row("loss", "", p->loss / steps, step_s, 0, 0, mc);
    row("l2 penalty", "", p->l2 / steps, step_s, 0, 0, mc);
    /* the rule reads w, dw and its state and writes w and its state: Adam's two moments */
    row("update (Adam)", "", p->update / steps, step_s, 7.0 * m->param_values * sizeof(float), 0, mc);
    sum += (p->loss + p->l2 + p->update) / steps;
    row("other (batch gather)", "", step_s - sum, step_s, 0, 0, mc);
    printf("\n");
}

/* gen_checkpoint_seed.c — writes a small valid checkpoint (argv[1]) for the checkpoint target's
 * corpus: the model of checkpoint_model.h trained for one epoch with Adam on 8 generated
 * examples, with an input mean. Built and run by `make fuzz`, so the seed always has the
 * current checkpoint format. */
#include <stdio.h>
#include <stdlib.h>

#include "backend.h"
#include "checkpoint.h"
#include "checkpoint_model.h"
#include "error.h"
#include "rng.h"

static void make_data(Dataset *d, int n, uint64_t seed)
{
    dataset_alloc(d, n, FUZZ_CKPT_C, FUZZ_CKPT_H, FUZZ_CKPT_W);
    Rng r;
    rng_seed(&r, seed);
    for (size_t i = 0; i < (size_t)n * dataset_example_size(d); i++) d->x[i] = (float)rng_gaussian(&r);
    for (int i = 0; i < n; i++) d->y[i] = (int)rng_below(&r, 3);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUTPUT.ckpt\n", argv[0]);
        return 2;
    }
    Dataset train, val;
    make_data(&train, 8, 1);
    make_data(&val, 4, 2);
    float mean[FUZZ_CKPT_C * FUZZ_CKPT_H * FUZZ_CKPT_W];
    for (int i = 0; i < FUZZ_CKPT_C * FUZZ_CKPT_H * FUZZ_CKPT_W; i++) mean[i] = 0.25f * i;
    Model m;
    Solver s;
    SolverConfig cfg = solver_config_default();
    cfg.optim = optim_config_default(UPDATE_ADAM);
    cfg.batch_size = 4, cfg.num_epochs = 1, cfg.verbose = 0, cfg.seed = 3;
    Backend *cpu = backend_create("cpu");
    int ok = cpu && model_init(&m, cpu, FUZZ_CKPT_SPEC, FUZZ_CKPT_C, FUZZ_CKPT_H, FUZZ_CKPT_W,
                        1e-2f, 0, LOSS_SOFTMAX, 1, 8) == NNDL_OK &&
             solver_init(&s, &m, &train, &val, &cfg) == NNDL_OK;
    if (ok) {
        s.input_mean = mean;
        ok = solver_train(&s) == NNDL_OK && checkpoint_save(&s, argv[1]) == NNDL_OK;
        solver_free(&s);
        model_free(&m);
    }
    dataset_free(&train);
    dataset_free(&val);
    backend_destroy(cpu);
    if (!ok) fprintf(stderr, "gen_checkpoint_seed: %s\n", nndl_last_error());
    return ok ? 0 : 1;
}

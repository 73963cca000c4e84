/* classify.c — the nndl C library in one program: a small convolutional network learns to tell
 * images with a bright left half from images with a bright right half, reports each epoch
 * through the progress callback, predicts, saves its weights as safetensors, and a model opened
 * from that file predicts the same. Exit status 0 when all of that holds.
 *
 *   cc classify.c $(pkg-config --cflags --libs nndl) -o classify && ./classify model.safetensors
 */
#include <nndl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { C = 1, H = 8, W = 8, N = 200, N_VAL = 50 };

/* Example i: noise in [0, 64) plus 128 on the left (label 0) or right (label 1) half. */
static void make_data(float *x, int *y, int n, unsigned seed)
{
    for (int i = 0; i < n; i++) {
        y[i] = (int)((seed + (unsigned)i * 7u) % 2u);
        for (int r = 0; r < H; r++)
            for (int c = 0; c < W; c++) {
                seed = seed * 1103515245u + 12345u;
                float noise = (float)((seed >> 16) % 64u);
                x[((size_t)i * H + r) * W + c] = noise + ((c < W / 2) == (y[i] == 0) ? 128.0f : 0.0f);
            }
    }
}

static int report(int epoch, int epochs, double loss, double train_acc, double val_acc, void *user)
{
    int *calls = user;
    ++*calls;
    printf("epoch %d/%d: loss %.4f, train acc %.3f, val acc %.3f\n", epoch, epochs, loss, train_acc, val_acc);
    return 0; /* non-zero would stop training here */
}

static int fail(const char *what)
{
    fprintf(stderr, "classify: %s: %s\n", what, nndl_error_message());
    return 1;
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "classify.safetensors";
    static float x[N * C * H * W], vx[N_VAL * C * H * W], mean[C * H * W], scores[N_VAL * 2];
    static int y[N], vy[N_VAL], labels[N_VAL], again[N_VAL];
    make_data(x, y, N, 1), make_data(vx, vy, N_VAL, 2);
    for (int k = 0; k < C * H * W; k++) mean[k] = 96.0f;

    printf("nndl %s\n", nndl_version());
    nndl_model *m = nndl_model_create("conv4x3-relu-pool2-affine2", C, H, W, "cpu", 7);
    if (!m || nndl_model_set_mean(m, mean) != 0) return fail("create");
    nndl_train_options opt;
    nndl_train_options_init(&opt);
    int calls = 0;
    opt.epochs = 5, opt.batch_size = 20, opt.learning_rate = 1e-2f, opt.progress = report, opt.user = &calls;
    if (nndl_train(m, x, y, N, vx, vy, N_VAL, &opt) != 0) return fail("train");
    if (nndl_predict(m, vx, N_VAL, labels, scores) != 0) return fail("predict");
    int correct = 0;
    for (int i = 0; i < N_VAL; i++) correct += labels[i] == vy[i];
    printf("%s: val accuracy %d / %d\n", nndl_model_spec(m), correct, N_VAL);
    if (nndl_model_save(m, path) != 0) return fail("save");

    nndl_model *back = nndl_model_open(path, "cpu");
    if (!back) return fail("open");
    if (nndl_predict(back, vx, N_VAL, again, NULL) != 0) return fail("predict (reopened)");
    int same = memcmp(labels, again, sizeof labels) == 0 && nndl_model_mean(back) != NULL;
    /* a file that does not exist: an error message, no crash */
    int refused = nndl_model_open("/nonexistent/model.safetensors", "cpu") == NULL && nndl_error_message()[0];
    nndl_model_free(back);
    nndl_model_free(m);
    printf("reopened %s: %s predictions; progress called %d times\n", path, same ? "the same" : "DIFFERENT", calls);
    return correct >= 45 && same && refused && calls == opt.epochs ? 0 : 1;
}

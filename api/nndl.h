/* nndl.h — the nndl C library: convolutional networks from a layer spec, trained and run on the
 * CPU (or a GPU in a CUDA build), weights saved as safetensors for other tools.
 *
 *   nndl_model *m = nndl_model_create("conv16x3-bn-relu-pool2-affine10", 3, 32, 32, "cpu", 0);
 *   nndl_train_options opt;
 *   nndl_train_options_init(&opt);            // Adam 1e-3, 10 epochs, batch 100
 *   opt.progress = my_callback;               // once per epoch; non-zero return stops
 *   nndl_train(m, x, y, n, val_x, val_y, n_val, &opt);
 *   nndl_predict(m, x, n, labels, NULL);
 *   nndl_model_save(m, "model.safetensors");  // also: nndl_model_open("model.safetensors", "cpu")
 *   nndl_model_free(m);
 *
 * Build against the installed library with pkg-config: cc app.c $(pkg-config --cflags --libs nndl);
 * statically: cc app.c $(pkg-config --cflags nndl) PREFIX/lib/libnndl.a followed by
 * $(pkg-config --static --libs nndl) without its -lnndl (README, "The C library"). The spec
 * language, layouts and the safetensors names are the program's (README, docs/export.md). Images
 * are float32 (N, C, H, W), labels int in [0, classes). Functions that can fail return 0 on
 * success and -1 with a message for nndl_error_message(); no function prints, except the
 * progress a caller asks for, and none exits, except that a CUDA build stops the process when
 * the GPU itself fails (a lost device, an error inside a kernel), as the program does. A model
 * is not thread-safe: use one from one thread at a time; models on separate threads are
 * independent (nndl_train_cancel is the exception that may reach a model from another thread). */
#ifndef NNDL_H
#define NNDL_H

#ifdef __cplusplus
extern "C" {
#endif

#if defined(NNDL_BUILDING_LIBRARY)
#define NNDL_API __attribute__((visibility("default")))
#else
#define NNDL_API
#endif

#define NNDL_API_VERSION 2 /* 2: nndl_model_input_shape, nndl_model_device, nndl_train_cancel */

typedef struct nndl_model nndl_model;

/* The library's version ("0.3.0"). */
NNDL_API const char *nndl_version(void);
/* The message of the last failure on this thread ("" when none). */
NNDL_API const char *nndl_error_message(void);

/* A model of the spec for inputs (channels, height, width) on device "cpu", "cuda" or "auto";
 * weights drawn from seed as the program starts a layer spec: He (Kaiming normal, std
 * sqrt(2 / fan_in)), biases 0, batchnorm scale 1. NULL on failure. */
NNDL_API nndl_model *nndl_model_create(const char *spec, int channels, int height, int width,
                                       const char *device, unsigned long long seed);
/* A model read from a file: an nndl checkpoint (.ckpt, its best parameters) or a safetensors
 * file written by nndl export / nndl_model_save; the input mean recorded in it is kept and
 * subtracted by nndl_predict and nndl_train. NULL on failure. */
NNDL_API nndl_model *nndl_model_open(const char *path, const char *device);
NNDL_API void nndl_model_free(nndl_model *m);

/* Loads the weights of a file (as nndl_model_open reads) into a model of the same spec. */
NNDL_API int nndl_model_load(nndl_model *m, const char *path);
/* Writes the weights (and the input mean, when the model has one) as safetensors. */
NNDL_API int nndl_model_save(const nndl_model *m, const char *path);
/* A checkpoint's weights as safetensors (what `nndl export` does). */
NNDL_API int nndl_export_checkpoint(const char *checkpoint, const char *out);

NNDL_API const char *nndl_model_spec(const nndl_model *m);
NNDL_API int nndl_model_num_classes(const nndl_model *m);
/* The input one example has: channels, height, width (any pointer may be NULL). -1 without a model. */
NNDL_API int nndl_model_input_shape(const nndl_model *m, int *channels, int *height, int *width);
/* The device the model runs on: "cpu" or "cuda" (what "auto" chose). NULL without a model. */
NNDL_API const char *nndl_model_device(const nndl_model *m);
/* The mean image (C*H*W floats) subtracted from every input, or NULL when none; setting copies
 * it (NULL removes it). A created model has none: training then sees the raw pixels. The pointer
 * is the model's, valid until the next set_mean, load or free. */
NNDL_API const float *nndl_model_mean(const nndl_model *m);
NNDL_API int nndl_model_set_mean(nndl_model *m, const float *mean);

/* Called after every epoch (epoch counts from 1): train_loss is the mean of the epoch's
 * minibatch losses, train_acc the accuracy on a random 1000 training examples, val_acc on the
 * validation set (0 without one). A non-zero return stops training after that epoch. */
typedef int (*nndl_progress_fn)(int epoch, int epochs, double train_loss, double train_acc, double val_acc,
                                void *user);

typedef struct nndl_train_options {
    const char *update;         /* sgd, sgd_momentum, sgd_nesterov_momentum, rmsprop, adam */
    float learning_rate, lr_decay, reg, momentum;
    int epochs, batch_size;
    unsigned long long seed;    /* shuffles and dropout */
    nndl_progress_fn progress;  /* NULL: none */
    void *user;                 /* passed to progress */
} nndl_train_options;

NNDL_API void nndl_train_options_init(nndl_train_options *o);
/* Trains on n examples (x, y), keeping the parameters with the best accuracy on (val_x, val_y)
 * when n_val > 0 (checked after every epoch, and after the first step when an epoch has more
 * than one), otherwise the final ones.
 * A model whose first layer is conv(whiten) and that holds no loaded weights gets its whitening
 * filters from the first call's x. Returns 0, or 1 when progress returned non-zero, or -1 on
 * failure (bad options, divergence, out of memory), after which the model is as it was before
 * the call. x and val_x are copied (minus the mean) for the call's duration. */
NNDL_API int nndl_train(nndl_model *m, const float *x, const int *y, int n, const float *val_x,
                        const int *val_y, int n_val, const nndl_train_options *o);
/* Stops the nndl_train running on m after its current step (not its current epoch), which then
 * returns 1 as when progress stops it; the one call that may come from another thread while m
 * trains. A request made while m is not training is dropped when its next nndl_train starts. */
NNDL_API void nndl_train_cancel(nndl_model *m);

/* Labels (n ints) and, when scores is not NULL, the class scores (n x classes floats) of n
 * inputs in test mode. */
NNDL_API int nndl_predict(nndl_model *m, const float *x, int n, int *labels, float *scores);

#ifdef __cplusplus
}
#endif
#endif

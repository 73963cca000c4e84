/* safetensors.h — a model's weights in the safetensors format, for other tools and back.
 *
 * Layout (https://github.com/huggingface/safetensors): u64 little-endian header length N, a JSON
 * header of N bytes (padded with spaces so the data starts 8-byte aligned), then the raw
 * little-endian tensor data. The header maps each tensor name to {"dtype": "F32", "shape": [...],
 * "data_offsets": [begin, end]} (offsets into the data, which the tensors cover exactly), and
 * "__metadata__" to string values: format "nndl-weights", the canonical model spec, the input
 * shape "C,H,W", the loss, the class names (a JSON list, when known), how the input is
 * preprocessed, and the conventions below. The header is written and read with cJSON.
 *
 * Names and layouts are PyTorch's, so that a module built from the spec takes the file with
 * load_state_dict (docs/export.md, tools/nndl_torch.py):
 *   layers.<i>.conv.weight    (F, C, K, K)   layers.<i>.conv.bias    (F, none with nobias)
 *   layers.<i>.proj.weight    (F, C, 1, 1)   a res(proj)[...] block's projection, on its closing
 *                                            layer "]" (no bias), when the shapes differ
 *   layers.<i>.linear.weight  (M, D)         nndl's affine W is (D, M): stored transposed
 *   layers.<i>.linear.bias    (M)
 *   layers.<i>.bn.weight / .bias (C)         gamma (none with noscale: fixed at 1), beta
 *   layers.<i>.bn.running_mean / .running_var (C)   running_var is the BIASED variance (nndl's
 *                                            batchnorm, like the seed's, averages the biased
 *                                            batch variance); in eval mode PyTorch only divides
 *                                            by sqrt(running_var + eps), so predictions agree
 *   preprocess.mean           (C, H, W)      the training mean image, subtracted from the raw
 *                                            pixels (0..255, CHW) before the first layer
 * i is the layer's 0-based position in the canonical spec; relu, pool and dropout layers have no
 * tensors. Reading is strict: every tensor the model needs, with its exact shape and dtype F32,
 * finite values, and no tensor the model does not have (PyTorch's *.num_batches_tracked counters,
 * I64, are accepted and ignored). A file that is not valid safetensors is refused with a message
 * naming what is wrong; nothing is loaded into the model unless all of it is. */
#ifndef NNDL_SAFETENSORS_H
#define NNDL_SAFETENSORS_H

#include "class_names.h"
#include "model.h"

#define SAFETENSORS_MAX_HEADER (100u << 20) /* the reference implementation's limit */

/* What a file says about the model it holds; fields it does not state stay empty / 0. */
typedef struct WeightsInfo {
    char spec[MODEL_SPEC_MAX];
    int in_c, in_h, in_w;
    int loss;                   /* LossKind: "loss" svm, else softmax */
    int tta;                    /* "tta" 1 or 2: the run's test-time augmentation; else 0 */
    int has_mean;
    int n_tensors;
} WeightsInfo;

/* Writes the model's current state (and mean, C*H*W floats, when not NULL; the class names in
 * the metadata as a JSON list when classes is not NULL and has names) to path, atomically
 * (atomic_file.h). */
int safetensors_save_model(const Model *m, const float *mean, const ClassNames *classes, const char *path);

/* Whether path's name ends in ".safetensors" (for callers that pick a reader by name as well as
 * content, so that a missing checkpoint keeps the checkpoint's messages). */
int safetensors_named(const char *path);

/* Reads and validates the header. */
int safetensors_read_info(const char *path, WeightsInfo *info);

/* The class names of the metadata's "classes" (a JSON list of strings, as nndl export writes
 * it); n = 0 when the file has none. A list that is not one of strings is an error. */
int safetensors_load_class_names(ClassNames *names, const char *path);

/* Loads every tensor of the model from path (names and shapes must match exactly, see above);
 * *mean gets the preprocess.mean tensor (malloc'd) or NULL; pass mean NULL to skip it. On
 * failure the model is unchanged. */
int safetensors_load_model(Model *m, float **mean, const char *path);

/* Any F32 tensor of a safetensors file by name: its shape (up to 4 dimensions) and values
 * (malloc'd, in the file's layout). */
int safetensors_read_tensor(const char *path, const char *name, int64_t shape[8], int *ndim, float **values);

#endif

/* data_source.h — where training and test examples come from, whatever the files: CIFAR-10's
 * batches, CIFAR-100's train.bin / test.bin (fine or coarse labels), or a folder of class
 * folders of PNG/JPEG images (image_folder.h). The format is detected from the files unless
 * given. The classes (their number and names) and the input shape come from the data, so that
 * the model can be built, and refused when its last layer does not fit, before anything is
 * decoded (data_describe); data_load then reads the splits and subtracts the training mean.
 *
 * Splits: CIFAR keeps the seed's convention (train = the first num_train training records, val
 * the next num_val, test the first num_test test records; defaults 49000 / 1000 / 1000). An
 * image folder is shuffled with split_seed and num_val images (default: val_fraction of them,
 * rounded) are held out, or val_dir gives a separate val folder; test images come only from
 * test_dir. A val or test folder's classes are matched to the training folder's by name. */
#ifndef NNDL_DATA_SOURCE_H
#define NNDL_DATA_SOURCE_H

#include <stdint.h>

#include "class_names.h"
#include "dataset.h"

typedef enum { DATA_AUTO, DATA_CIFAR10, DATA_CIFAR100, DATA_FOLDER } DataFormat;

int data_format_from_name(const char *name, DataFormat *out);
const char *data_format_name(DataFormat f);

#define DATA_DEFAULT (-1)       /* a split size left to the format's default */

typedef struct DataRequest {
    const char *dir;            /* training data (CIFAR directory or image folder) */
    const char *val_dir, *test_dir; /* image folders only; NULL: none */
    DataFormat format;
    int coarse;                 /* CIFAR-100: the 20 coarse labels instead of the 100 fine ones */
    int num_train, num_val, num_test; /* DATA_DEFAULT or a count */
    double val_fraction;        /* image folder without val_dir or num_val */
    int resize_h, resize_w;     /* image folders: resize every image to this; 0: one size required */
    uint64_t split_seed;
} DataRequest;

DataRequest data_request_default(const char *dir);

/* The format of the files in dir: CIFAR-10 (data_batch_1.bin or test_batch.bin, or a dir that
 * does not exist, so that its reader names the file it wanted and how to fetch it), CIFAR-100
 * (train.bin or test.bin), or an image folder (sub-folders); an error asking for --data-format
 * otherwise. */
int data_format_detect(const char *dir, DataFormat *f);
/* The request's flags must fit the format f (--resize, --val-data and --test-data are for image
 * folders, --labels coarse for CIFAR-100): an error naming the flag otherwise. */
int data_request_check(const DataRequest *r, DataFormat f);

/* What the model needs before the data is read. */
typedef struct DataShape {
    DataFormat format;          /* detected when the request said DATA_AUTO */
    int c, h, w;
    ClassNames classes;
} DataShape;

int data_describe(const DataRequest *r, DataShape *out);
void data_shape_free(DataShape *s);

typedef struct TrainingData {
    DataShape shape;
    Dataset train, val, test;
    float *mean_image;          /* (c, h, w), subtracted from all three */
} TrainingData;

int data_load(const DataRequest *r, TrainingData *out);
void training_data_free(TrainingData *d);

/* Test examples for a trained model: r->dir read as test data (CIFAR's test batch, or an image
 * folder whose classes are matched by name to `classes` and whose images are resized to h x w),
 * with mean (c*h*w values, NULL: none) subtracted. CIFAR-100 reads the labels `classes` has the
 * count of (20 coarse, 100 fine); the model's class names must be CIFAR-10's, or those of
 * CIFAR-100's meta file when present. r->num_test DATA_DEFAULT: 1000 CIFAR records, or every image. */
int data_load_test(const DataRequest *r, const ClassNames *classes, int c, int h, int w, const float *mean,
                   Dataset *test);

#endif

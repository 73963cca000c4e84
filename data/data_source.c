/* data_source.c — see data_source.h. */
#include "data_source.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cifar10.h"
#include "cifar100.h"
#include "error.h"
#include "image_file.h"
#include "image_folder.h"
#include "rng.h"

static const char *const format_names[] = {"auto", "cifar10", "cifar100", "folder"};

int data_format_from_name(const char *name, DataFormat *out)
{
    for (int f = 0; f < 4; f++)
        if (strcmp(name, format_names[f]) == 0) return *out = (DataFormat)f, NNDL_OK;
    return nndl_fail("--data-format: '%s' is not auto, cifar10, cifar100 or folder", name);
}

const char *data_format_name(DataFormat f) { return format_names[f]; }

DataRequest data_request_default(const char *dir)
{
    return (DataRequest){.dir = dir, .format = DATA_AUTO, .num_train = DATA_DEFAULT, .num_val = DATA_DEFAULT,
                         .num_test = DATA_DEFAULT, .val_fraction = 0.1};
}

static int file_exists(const char *dir, const char *name)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &st) == 0;
}

int data_format_detect(const char *dir, DataFormat *f)
{
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || file_exists(dir, "data_batch_1.bin") ||
        file_exists(dir, "test_batch.bin"))
        *f = DATA_CIFAR10;
    else if (file_exists(dir, "train.bin") || file_exists(dir, "test.bin"))
        *f = DATA_CIFAR100;
    else if (image_folder_detect(dir))
        *f = DATA_FOLDER;
    else
        return nndl_fail("cannot tell the data format of %s: no data_batch_1.bin (CIFAR-10), train.bin (CIFAR-100) "
                         "or class folders of images; give --data-format", dir);
    return NNDL_OK;
}

int data_request_check(const DataRequest *r, DataFormat f)
{
    if (f != DATA_FOLDER && (r->val_dir || r->test_dir || r->resize_h))
        return nndl_fail("%s applies to image folders, and %s is %s data", r->val_dir ? "--val-data"
                         : r->test_dir ? "--test-data" : "--resize", r->dir, f == DATA_CIFAR10 ? "CIFAR-10" : "CIFAR-100");
    if (f != DATA_CIFAR100 && r->coarse)
        return nndl_fail("--labels coarse applies to CIFAR-100, and %s is %s data", r->dir,
                         f == DATA_CIFAR10 ? "CIFAR-10" : "image-folder");
    return NNDL_OK;
}

int data_describe(const DataRequest *r, DataShape *out)
{
    *out = (DataShape){.format = r->format, .c = 3, .h = 32, .w = 32};
    if (out->format == DATA_AUTO && data_format_detect(r->dir, &out->format) != NNDL_OK) return NNDL_ERR;
    if (data_request_check(r, out->format) != NNDL_OK) return NNDL_ERR;
    int rc = NNDL_OK;
    if (out->format == DATA_CIFAR10) {
        for (int i = 0; rc == NNDL_OK && i < CIFAR10_CLASSES; i++) rc = class_names_add(&out->classes, cifar10_class_names[i]);
    } else if (out->format == DATA_CIFAR100) {
        rc = cifar100_class_names(&out->classes, r->dir, r->coarse);
    } else {
        ImageFolder f;
        if (image_folder_scan(&f, r->dir) != NNDL_OK) return NNDL_ERR;
        out->h = r->resize_h ? r->resize_h : f.first_h;
        out->w = r->resize_w ? r->resize_w : f.first_w;
        out->classes = f.classes;
        f.classes = (ClassNames){0};
        image_folder_free(&f);
    }
    if (rc != NNDL_OK) data_shape_free(out);
    return rc;
}

void data_shape_free(DataShape *s) { class_names_free(&s->classes); }

static int pick(int given, int fallback) { return given == DATA_DEFAULT ? fallback : given; }

static int load_cifar(const DataRequest *r, TrainingData *d)
{
    int n_train = pick(r->num_train, 49000), n_val = pick(r->num_val, 1000), n_test = pick(r->num_test, 1000);
    if (d->shape.format == DATA_CIFAR10) {
        Cifar10 c;
        if (cifar10_load(&c, r->dir, n_train, n_val, n_test) != NNDL_OK) return NNDL_ERR;
        d->train = c.train, d->val = c.val, d->test = c.test, d->mean_image = c.mean_image;
        return NNDL_OK;
    }
    if (n_train <= 0 || n_val < 0 || n_test < 0 || n_train + n_val > CIFAR100_TRAIN_RECORDS ||
        n_test > CIFAR100_TEST_RECORDS)
        return nndl_fail("CIFAR-100 split sizes train %d, val %d, test %d impossible: train must be positive, train + "
                         "val at most 50000, test at most 10000", n_train, n_val, n_test);
    if (dataset_alloc(&d->train, n_train, 3, 32, 32) != NNDL_OK || dataset_alloc(&d->val, n_val, 3, 32, 32) != NNDL_OK ||
        dataset_alloc(&d->test, n_test, 3, 32, 32) != NNDL_OK)
        return NNDL_ERR;
    if (cifar100_read(&d->train, 0, r->dir, 0, r->coarse, 0, n_train) != NNDL_OK ||
        cifar100_read(&d->val, 0, r->dir, 0, r->coarse, n_train, n_val) != NNDL_OK ||
        (n_test && cifar100_read(&d->test, 0, r->dir, 1, r->coarse, 0, n_test) != NNDL_OK))
        return NNDL_ERR;
    return NNDL_OK;
}

/* A separate val or test folder, every image (or the first n of a shuffle), classes by name. */
static int load_other_folder(const char *dir, const char *what, int n, const DataRequest *r, const DataShape *s,
                             Dataset *d)
{
    ImageFolder f;
    if (image_folder_scan(&f, dir) != NNDL_OK) return NNDL_ERR;
    int *map = malloc((size_t)f.classes.n * sizeof *map), *order = malloc((size_t)f.n * sizeof *order);
    int rc = map && order ? NNDL_OK : nndl_fail("out of memory for the %s folder", what);
    if (rc == NNDL_OK) rc = image_folder_map_classes(&f, &s->classes, map, dir);
    if (rc == NNDL_OK && n > f.n)
        rc = nndl_fail("%s folder %s has %d images, %d asked for", what, dir, f.n, n);
    if (rc == NNDL_OK) {
        for (int i = 0; i < f.n; i++) order[i] = i;
        if (n != DATA_DEFAULT && n < f.n) {
            Rng g;
            rng_seed(&g, r->split_seed);
            rng_shuffle(&g, order, (size_t)f.n);
        }
        rc = image_folder_load(&f, order, pick(n, f.n), d, s->h, s->w, r->resize_h != 0, map);
    }
    free(map), free(order);
    image_folder_free(&f);
    return rc;
}

static int load_folder(const DataRequest *r, TrainingData *d)
{
    ImageFolder f;
    if (image_folder_scan(&f, r->dir) != NNDL_OK) return NNDL_ERR;
    int n_val = r->val_dir ? 0 : pick(r->num_val, (int)lround(r->val_fraction * f.n));
    int n_train = pick(r->num_train, f.n - n_val);
    int rc = NNDL_OK;
    if (n_val >= f.n)
        rc = nndl_fail("image folder %s has %d images: holding out %d for validation leaves none for training "
                       "(--num-val, --val-fraction)", r->dir, f.n, n_val);
    else if (n_val < 0 || n_train < 1 || n_train + n_val > f.n)
        rc = nndl_fail("image folder %s has %d images: %d for training and %d held out for validation are impossible "
                       "(--num-train, --num-val, --val-fraction)", r->dir, f.n, n_train, n_val);
    int *order = rc == NNDL_OK ? malloc((size_t)f.n * sizeof *order) : NULL;
    if (rc == NNDL_OK && !order) rc = nndl_fail("out of memory for the image order");
    if (rc == NNDL_OK) {
        /* a seeded shuffle: the folder lists images class by class, and a held-out tail would be
         * one class; the same seed gives a resumed run the same split */
        Rng g;
        rng_seed(&g, r->split_seed);
        for (int i = 0; i < f.n; i++) order[i] = i;
        rng_shuffle(&g, order, (size_t)f.n);
        int resize = r->resize_h != 0;
        rc = image_folder_load(&f, order, n_val, &d->val, d->shape.h, d->shape.w, resize, NULL);
        if (rc == NNDL_OK) rc = image_folder_load(&f, order + n_val, n_train, &d->train, d->shape.h, d->shape.w, resize, NULL);
    }
    free(order);
    image_folder_free(&f);
    if (rc == NNDL_OK && r->val_dir) {
        dataset_free(&d->val); /* the empty held-out split */
        rc = load_other_folder(r->val_dir, "val", r->num_val, r, &d->shape, &d->val);
    }
    if (rc == NNDL_OK && r->test_dir) rc = load_other_folder(r->test_dir, "test", r->num_test, r, &d->shape, &d->test);
    if (rc == NNDL_OK && !r->test_dir) rc = dataset_alloc(&d->test, 0, 3, d->shape.h, d->shape.w);
    return rc;
}

int data_load(const DataRequest *r, TrainingData *out)
{
    memset(out, 0, sizeof *out);
    if (data_describe(r, &out->shape) != NNDL_OK) return NNDL_ERR;
    int rc = out->shape.format == DATA_FOLDER ? load_folder(r, out) : load_cifar(r, out);
    if (rc == NNDL_OK && !out->mean_image) {
        out->mean_image = malloc(dataset_example_size(&out->train) * sizeof *out->mean_image);
        rc = out->mean_image ? dataset_mean(&out->train, out->mean_image) : nndl_fail("out of memory for the mean image");
        if (rc == NNDL_OK) {
            dataset_subtract(&out->train, out->mean_image);
            dataset_subtract(&out->val, out->mean_image);
            dataset_subtract(&out->test, out->mean_image);
        }
    }
    if (rc != NNDL_OK) {
        char why[1024];
        snprintf(why, sizeof why, "%s", nndl_last_error());
        training_data_free(out);
        return nndl_fail("%s", why);
    }
    return NNDL_OK;
}

void training_data_free(TrainingData *d)
{
    data_shape_free(&d->shape);
    dataset_free(&d->train);
    dataset_free(&d->val);
    dataset_free(&d->test);
    free(d->mean_image);
    d->mean_image = NULL;
}

/* A trained model's classes must be the test data's, name by name: CIFAR-10's list, or CIFAR-100's
 * meta file when there is one (without it the data's classes are only numbers). */
static int same_cifar_classes(const ClassNames *model, int cifar100, const char *dir, int coarse)
{
    ClassNames data = {0};
    int rc = NNDL_OK;
    if (!cifar100)
        for (int i = 0; rc == NNDL_OK && i < CIFAR10_CLASSES; i++) rc = class_names_add(&data, cifar10_class_names[i]);
    else if (cifar100_has_class_names(dir, coarse))
        rc = cifar100_class_names(&data, dir, coarse);
    for (int i = 0; rc == NNDL_OK && i < data.n && i < model->n; i++)
        if (strcmp(data.names[i], model->names[i]) != 0)
            rc = nndl_fail("the model's class %d is '%s', but in the %s test data of %s class %d is '%s': the model was "
                           "trained on other classes", i, model->names[i], cifar100 ? "CIFAR-100" : "CIFAR-10", dir, i,
                           data.names[i]);
    class_names_free(&data);
    return rc;
}

/* The first n records of CIFAR-10's test_batch.bin or CIFAR-100's test.bin. */
static int load_cifar_test(const DataRequest *r, int cifar100, const ClassNames *classes, int c, int h, int w,
                           Dataset *test)
{
    int n = pick(r->num_test, 1000), records = cifar100 ? CIFAR100_TEST_RECORDS : 10000, coarse = classes->n == 20;
    const CifarLayout *l = cifar100 ? cifar100_layout(coarse) : &cifar10_layout;
    if (c != 3 || h != 32 || w != 32 || classes->n != l->num_classes)
        return nndl_fail("the model takes (%d, %d, %d) inputs in %d classes; %s test data are (3, 32, 32) in %d%s", c, h,
                         w, classes->n, l->name, l->num_classes, cifar100 ? " or 20" : "");
    if (n < 1 || n > records) return nndl_fail("%s: %d test examples requested, expected 1..%d", l->name, n, records);
    if (same_cifar_classes(classes, cifar100, r->dir, coarse) != NNDL_OK) return NNDL_ERR;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", r->dir, cifar100 ? "test.bin" : "test_batch.bin");
    if (dataset_alloc(test, n, 3, 32, 32) != NNDL_OK) return NNDL_ERR;
    return cifar_read_records(l, test, 0, path, records, 0, n);
}

int data_load_test(const DataRequest *r, const ClassNames *classes, int c, int h, int w, const float *mean,
                   Dataset *test)
{
    memset(test, 0, sizeof *test);
    DataFormat f = r->format;
    if (f == DATA_AUTO && data_format_detect(r->dir, &f) != NNDL_OK) return NNDL_ERR;
    int rc;
    if (f == DATA_FOLDER) {
        DataRequest all = *r;
        all.resize_h = h, all.resize_w = w; /* resized like training */
        DataShape s = {.format = f, .c = c, .h = h, .w = w, .classes = *classes};
        rc = load_other_folder(r->dir, "test", r->num_test, &all, &s, test);
    } else {
        rc = load_cifar_test(r, f == DATA_CIFAR100, classes, c, h, w, test);
    }
    if (rc != NNDL_OK) {
        dataset_free(test);
        return NNDL_ERR;
    }
    if (mean) dataset_subtract(test, mean);
    return NNDL_OK;
}

/* test_data_sources.c — the data sources beside CIFAR-10, on files generated here: image folders
 * (PNG and JPEG written with stb_image_write; classes, held-out split, val folders, resizing)
 * and CIFAR-100 (fine and coarse labels, class names); the bad inputs each is refused with
 * (empty folder, unreadable image, mixed sizes, truncated or mislabelled CIFAR-100 file, a model
 * whose last layer does not fit the data's classes). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stb/stb_image_write.h> /* a JPEG */

#include "cifar100.h"
#include "data_source.h"
#include "error.h"
#include "image_file.h"
#include "test_util.h"

static char root[64];

/* Image k of class c, W x H: red = 10 + 20c + k (which image it is), green = 30x, blue = 40y
 * (write_test_png). */
enum { W = 6, H = 4, CLASSES = 3, PER_CLASS = 4 };
static const char *const class_dirs[CLASSES] = {"cat", "dog", "frog"};

static int make_folder(const char *name, int classes, int per_class)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", root, name);
    return write_test_image_folder(path, class_dirs, classes, per_class, W, H);
}

static void folder_path(char *out, size_t size, const char *name) { snprintf(out, size, "%s/%s", root, name); }

static int write_names(const char *dir, const char *name, const char *prefix, int n)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    for (int i = 0; i < n; i++) fprintf(f, "%s%d\n", prefix, i);
    return fclose(f);
}

static char c100[128];
static const long C100_TRAIN = (long)CIFAR100_TRAIN_RECORDS * 3074, C100_TEST = (long)CIFAR100_TEST_RECORDS * 3074;

static int setup(void)
{
    if (make_temp_dir(root, sizeof root, "nndl_sources") != 0) return 1;
    snprintf(c100, sizeof c100, "%s/cifar100", root);
    return make_folder("pets", CLASSES, PER_CLASS) || mkdir(c100, 0700) ||
           write_cifar100_file(c100, "train.bin", C100_TRAIN) || write_cifar100_file(c100, "test.bin", C100_TEST) ||
           write_names(c100, "fine_label_names.txt", "fine", 100) ||
           write_names(c100, "coarse_label_names.txt", "coarse", 20);
}

static int teardown(void)
{
    remove_tree(root);
    return 0;
}

/* Every example of d, its mean added back, is one of the generated images with its own label;
 * seen[] counts each image (index 3 * class... by its red value). */
static int check_examples(const Dataset *d, const float *mean, int *seen)
{
    int wrong = 0;
    size_t plane = (size_t)H * W;
    for (int n = 0; n < d->n; n++) {
        const float *x = d->x + (size_t)n * dataset_example_size(d);
        int red = (int)(x[0] + mean[0] + 0.5f), c = (red - 10) / 20, k = (red - 10) % 20;
        wrong += c < 0 || c >= CLASSES || k >= PER_CLASS || d->y[n] != c;
        if (c >= 0 && c < CLASSES && k < PER_CLASS) seen[c * PER_CLASS + k]++;
        for (int y = 0; y < H; y++)
            for (int xx = 0; xx < W; xx++) {
                size_t p = (size_t)y * W + xx;
                wrong += x[p] + mean[p] != (float)red || x[plane + p] + mean[plane + p] != 30.0f * xx ||
                         x[2 * plane + p] + mean[2 * plane + p] != 40.0f * y;
            }
    }
    return wrong;
}

/* dir/name/, a class folder holding one W x H image of red value `red`. */
static void add_class_folder(const char *dir, const char *name, int red)
{
    char path[300];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    CU_ASSERT_FATAL(mkdir(path, 0700) == 0);
    snprintf(path, sizeof path, "%s/%s/0.png", dir, name);
    CU_ASSERT_FATAL(write_test_png(path, W, H, red) == 0);
}

static void test_folder_split(void)
{
    char dir[128];
    folder_path(dir, sizeof dir, "pets");
    DataRequest r = data_request_default(dir);
    r.num_val = 3, r.split_seed = 7;
    TrainingData d;
    CU_ASSERT_FATAL(data_load(&r, &d) == NNDL_OK);
    CU_ASSERT_EQUAL(d.shape.format, DATA_FOLDER);
    CU_ASSERT(d.shape.classes.n == CLASSES && strcmp(d.shape.classes.names[0], "cat") == 0 &&
              strcmp(d.shape.classes.names[2], "frog") == 0);
    CU_ASSERT(d.train.n == CLASSES * PER_CLASS - 3 && d.val.n == 3 && d.test.n == 0);
    CU_ASSERT(d.train.c == 3 && d.train.h == H && d.train.w == W);
    /* the mean is the training split's */
    double red = 0;
    for (int n = 0; n < d.train.n; n++) red += d.train.x[(size_t)n * 3 * H * W] + d.mean_image[0];
    ASSERT_BELOW(fabs(red / d.train.n - d.mean_image[0]), 1e-4, "mean image vs training average");
    int seen[CLASSES * PER_CLASS] = {0};
    CU_ASSERT_EQUAL(check_examples(&d.train, d.mean_image, seen), 0);
    CU_ASSERT_EQUAL(check_examples(&d.val, d.mean_image, seen), 0);
    int once = 0;
    for (int i = 0; i < CLASSES * PER_CLASS; i++) once += seen[i] == 1;
    CU_ASSERT_EQUAL(once, CLASSES * PER_CLASS); /* disjoint, and together every image */
    /* the held-out images are a shuffle's, not the folder's last class */
    int val_classes = 0;
    for (int c = 0; c < CLASSES; c++) {
        int any = 0;
        for (int n = 0; n < d.val.n; n++) any |= d.val.y[n] == c;
        val_classes += any;
    }
    CU_ASSERT(val_classes >= 2);
    training_data_free(&d);
    /* the default held-out share: 10% of 12, rounded */
    r.num_val = DATA_DEFAULT;
    CU_ASSERT_FATAL(data_load(&r, &d) == NNDL_OK);
    CU_ASSERT(d.val.n == 1 && d.train.n == 11);
    training_data_free(&d);
    r.num_val = 12;
    ASSERT_ERROR_MENTIONS(data_load(&r, &d), "has 12 images: holding out 12 for validation leaves none");
    r.num_val = 100; /* said as such, not as "-88 for training" */
    ASSERT_ERROR_MENTIONS(data_load(&r, &d), "holding out 100 for validation leaves none for training");
}

static void test_val_folder(void)
{
    char dir[128], val[128];
    folder_path(dir, sizeof dir, "pets");
    folder_path(val, sizeof val, "petsval");
    /* cat and dog only: a val folder need not hold every class, and its labels follow the
     * training folder's names */
    CU_ASSERT_FATAL(make_folder("petsval", 2, 2) == 0);
    DataRequest r = data_request_default(dir);
    r.val_dir = val;
    TrainingData d;
    CU_ASSERT_FATAL(data_load(&r, &d) == NNDL_OK);
    CU_ASSERT(d.train.n == 12 && d.val.n == 4);
    int seen[CLASSES * PER_CLASS] = {0};
    CU_ASSERT_EQUAL(check_examples(&d.val, d.mean_image, seen), 0);
    training_data_free(&d);
    /* a class the training data lacks */
    char val_dir[160];
    snprintf(val_dir, sizeof val_dir, "%s/petsval", root);
    add_class_folder(val_dir, "zebra", 1);
    ASSERT_ERROR_MENTIONS(data_load(&r, &d), "a class 'zebra'");
}

/* Shrinking averages areas: 2x2 blocks of one value become that value; enlarging a constant
 * image keeps it constant; the same size is a copy. */
static void test_resize(void)
{
    unsigned char rgb[8 * 8 * 3];
    for (int y = 0; y < 8; y++)
        for (int x = 0; x < 8; x++)
            for (int c = 0; c < 3; c++) rgb[(y * 8 + x) * 3 + c] = (unsigned char)(10 * (x / 2) + 60 * (y / 2) + c);
    float out[3 * 8 * 8];
    CU_ASSERT_FATAL(image_to_planar(rgb, 8, 8, out, 4, 4) == NNDL_OK);
    double err = 0;
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < 4; y++)
            for (int x = 0; x < 4; x++) err = fmax(err, fabs(out[c * 16 + y * 4 + x] - (10 * x + 60 * y + c)));
    ASSERT_BELOW(err, 1e-3, "area shrink of 2x2 blocks");
    CU_ASSERT_FATAL(image_to_planar(rgb, 8, 8, out, 8, 8) == NNDL_OK);
    CU_ASSERT(out[0] == 0 && out[64 + 8 * 7 + 7] == 10 * 3 + 60 * 3 + 1); /* planar: channel 1, (7, 7) */
    unsigned char flat[3 * 3 * 3];
    memset(flat, 77, sizeof flat);
    CU_ASSERT_FATAL(image_to_planar(flat, 3, 3, out, 5, 7) == NNDL_OK);
    err = 0;
    for (int i = 0; i < 3 * 7 * 5; i++) err = fmax(err, fabs(out[i] - 77));
    ASSERT_BELOW(err, 1e-3, "bilinear enlargement of a constant image");
}

static void test_mixed_sizes_and_jpeg(void)
{
    char dir[128], path[200];
    CU_ASSERT_FATAL(make_folder("mixed", 2, 2) == 0);
    folder_path(dir, sizeof dir, "mixed");
    snprintf(path, sizeof path, "%s/mixed/dog/9.png", root);
    CU_ASSERT_FATAL(write_test_png(path, 8, 8, 50) == 0);
    DataRequest r = data_request_default(dir);
    TrainingData d;
    ASSERT_ERROR_MENTIONS(data_load(&r, &d), "mixed/dog/9.png is 8x8");
    CU_ASSERT(strstr(nndl_last_error(), "--resize") != NULL);
    /* a JPEG among them, everything resized to 4x4 */
    unsigned char px[8 * 8 * 3];
    memset(px, 200, sizeof px);
    snprintf(path, sizeof path, "%s/mixed/cat/8.JPG", root);
    CU_ASSERT_FATAL(stbi_write_jpg(path, 8, 8, 3, px, 100) != 0);
    r.resize_h = 4, r.resize_w = 4, r.num_val = 0;
    CU_ASSERT_FATAL(data_load(&r, &d) == NNDL_OK);
    CU_ASSERT(d.train.n == 6 && d.train.h == 4 && d.train.w == 4);
    /* the JPEG is the cat folder's last image; its pixels decode near 200 */
    int found = 0;
    for (int n = 0; n < d.train.n; n++) {
        const float *x = d.train.x + (size_t)n * 48;
        if (fabsf(x[5] + d.mean_image[5] - 200) < 3 && fabsf(x[37] + d.mean_image[37] - 200) < 3) found += d.train.y[n] == 0;
    }
    CU_ASSERT_EQUAL(found, 1);
    training_data_free(&d);
}

static void test_bad_folders(void)
{
    char dir[128], path[200];
    TrainingData d;
    folder_path(dir, sizeof dir, "empty");
    CU_ASSERT_FATAL(mkdir(dir, 0700) == 0);
    DataRequest r = data_request_default(dir);
    ASSERT_ERROR_MENTIONS(data_load(&r, &d), "cannot tell the data format");
    r.format = DATA_FOLDER;
    ASSERT_ERROR_MENTIONS(data_load(&r, &d), "holds no class folders");
    snprintf(path, sizeof path, "%s/bird", dir);
    CU_ASSERT_FATAL(mkdir(path, 0700) == 0);
    snprintf(path, sizeof path, "%s/bird/notes.txt", dir);
    FILE *f = fopen(path, "w");
    fputs("not an image\n", f);
    fclose(f);
    ASSERT_ERROR_MENTIONS(data_load(&r, &d), "empty/bird holds no PNG or JPEG files");
    snprintf(path, sizeof path, "%s/bird/broken.png", dir);
    f = fopen(path, "w");
    fputs("\x89PNG but not really", f);
    fclose(f);
    ASSERT_ERROR_MENTIONS(data_load(&r, &d), "cannot read image");
    CU_ASSERT(strstr(nndl_last_error(), "bird/broken.png") != NULL);
    /* a good first image, a damaged later one: named when decoded */
    snprintf(path, sizeof path, "%s/bird/a.png", dir);
    CU_ASSERT_FATAL(write_test_png(path, W, H, 5) == 0);
    snprintf(path, sizeof path, "%s/bird/b.png", dir);
    CU_ASSERT_FATAL(write_test_png(path, W, H, 5) == 0);
    CU_ASSERT_FATAL(truncate(path, 40) == 0);
    snprintf(path, sizeof path, "%s/bird/broken.png", dir);
    unlink(path);
    ASSERT_ERROR_MENTIONS(data_load(&r, &d), "bird/b.png");
    /* flags of another format */
    r.resize_h = r.resize_w = 0, r.coarse = 1;
    ASSERT_ERROR_MENTIONS(data_load(&r, &d), "--labels coarse applies to CIFAR-100");
    /* a class folder whose name is not UTF-8: refused, since the JSON, SVG and safetensors
     * outputs would carry it as it is */
    r.coarse = 0;
    add_class_folder(dir, "\xff\xfe", 5);
    ASSERT_ERROR_MENTIONS(data_load(&r, &d), "is not UTF-8 text");
}

/* Files stb_image would decode but that are not what they are named: another format behind a
 * .png name (a truncated PNM's missing pixels were read from uninitialised memory), and a PNG
 * whose header declares more pixels than nndl reads (a 261 KB PNG had taken 3.9 GB). */
static void test_image_files_refused(void)
{
    char path[200];
    int h, w;
    folder_path(path, sizeof path, "fake.png");
    FILE *f = fopen(path, "wb");
    CU_ASSERT_FATAL(f && fputs("P6\n32 32\n255\n", f) >= 0 && fclose(f) == 0);
    ASSERT_ERROR_MENTIONS(image_file_size(path, &h, &w), "not a PNG or JPEG file");
    /* a 1x1 PNG whose IHDR says 10000 x 10000 (stb does not check the chunk's CRC) */
    folder_path(path, sizeof path, "huge.png");
    CU_ASSERT_FATAL(write_test_png(path, 1, 1, 5) == 0);
    CU_ASSERT_FATAL(image_file_size(path, &h, &w) == NNDL_OK && h == 1 && w == 1);
    f = fopen(path, "r+b");
    const unsigned char side[8] = {0, 0, 0x27, 0x10, 0, 0, 0x27, 0x10}; /* 10000, big-endian */
    CU_ASSERT_FATAL(f && fseek(f, 16, SEEK_SET) == 0 && fwrite(side, 1, 8, f) == 8 && fclose(f) == 0);
    ASSERT_ERROR_MENTIONS(image_file_size(path, &h, &w), "is 10000x10000, 100000000 pixels: images of at most");
}

/* Class names are UTF-8: multi-byte text is kept, malformed sequences are refused. */
static void test_class_names_utf8(void)
{
    const char *good[] = {"cat", "caf\xc3\xa9", "\xe6\x97\xa5\xe6\x9c\xac", "\xf0\x9f\x90\x88", "\xf4\x8f\xbf\xbf"};
    const char *bad[] = {"\xff\xfe", "ab\xc3",          /* not a lead byte; cut short */
                         "\xc0\xaf",  "\xe0\x80\xaf",  /* overlong forms of '/' */
                         "\xed\xa0\x80", "\xf4\x90\x80\x80", /* a surrogate; past U+10FFFF */
                         "\xe6\x97x"};                     /* a continuation byte missing */
    ClassNames c = {0};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) CU_ASSERT(class_names_add(&c, good[i]) == NNDL_OK);
    CU_ASSERT_EQUAL(c.n, 5);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) ASSERT_ERROR_MENTIONS(class_names_add(&c, bad[i]), "UTF-8");
    CU_ASSERT_EQUAL(c.n, 5);
    ASSERT_ERROR_MENTIONS(class_names_add(&c, "\xef\xbf\xbe"), "UTF-8"); /* U+FFFE: not an XML character */
    /* names read back from files are repaired, not refused */
    CU_ASSERT(class_names_add_repaired(&c, "caf\xe9") == NNDL_OK && strcmp(c.names[5], "caf?") == 0);
    CU_ASSERT(class_names_add_repaired(&c, "\xe6\x97\xa5\xff!") == NNDL_OK && strcmp(c.names[6], "\xe6\x97\xa5?!") == 0);
    class_names_free(&c);
}

static void test_cifar100(void)
{
    DataRequest r = data_request_default(c100);
    r.num_train = 30, r.num_val = 10, r.num_test = 5;
    TrainingData d;
    CU_ASSERT_FATAL(data_load(&r, &d) == NNDL_OK);
    CU_ASSERT_EQUAL(d.shape.format, DATA_CIFAR100);
    CU_ASSERT(d.shape.classes.n == 100 && strcmp(d.shape.classes.names[42], "fine42") == 0);
    CU_ASSERT(d.train.n == 30 && d.val.n == 10 && d.test.n == 5);
    CU_ASSERT(d.train.y[7] == 21 && d.val.y[2] == 96 && d.test.y[4] == 12); /* fine: 3r % 100 */
    int wrong = 0;
    for (int i = 0; i < CIFAR_IMAGE_BYTES; i++) {
        double m = 0;
        for (int k = 0; k < 30; k++) m += (k + i) % 251;
        wrong += fabs(m / 30 - d.mean_image[i]) > 1e-3;
        wrong += d.val.x[(size_t)3 * CIFAR_IMAGE_BYTES + i] + d.mean_image[i] != (float)((33 + i) % 251);
    }
    CU_ASSERT_EQUAL(wrong, 0);
    training_data_free(&d);
    r.coarse = 1;
    CU_ASSERT_FATAL(data_load(&r, &d) == NNDL_OK);
    CU_ASSERT(d.shape.classes.n == 20 && strcmp(d.shape.classes.names[19], "coarse19") == 0);
    CU_ASSERT(d.train.y[7] == 7 && d.val.y[2] == 12 && d.test.y[4] == 4); /* coarse: r % 20 */
    training_data_free(&d);
}

static void test_bad_cifar100(void)
{
    char dir[128];
    snprintf(dir, sizeof dir, "%s/c100bad", root);
    CU_ASSERT_FATAL(mkdir(dir, 0700) == 0);
    CU_ASSERT_FATAL(write_cifar100_file(dir, "train.bin", C100_TRAIN - 100) == 0);
    DataRequest r = data_request_default(dir);
    r.num_train = 30, r.num_val = 0, r.num_test = 0;
    TrainingData d;
    ASSERT_ERROR_MENTIONS(data_load(&r, &d), "expected 153700000");
    CU_ASSERT(strstr(nndl_last_error(), "c100bad/train.bin") != NULL);
    /* a fine label past 99 */
    CU_ASSERT_FATAL(write_cifar100_file(dir, "train.bin", C100_TRAIN) == 0);
    char path[200];
    snprintf(path, sizeof path, "%s/train.bin", dir);
    FILE *f = fopen(path, "r+b");
    fseek(f, 3074 * 5 + 1, SEEK_SET);
    fputc(100, f);
    fclose(f);
    ASSERT_ERROR_MENTIONS(data_load(&r, &d), "record 5 has label 100, expected 0..99");
    r.coarse = 1; /* the coarse labels of the same file are fine */
    CU_ASSERT_FATAL(data_load(&r, &d) == NNDL_OK);
    CU_ASSERT(strcmp(d.shape.classes.names[3], "3") == 0); /* no names file: numbers */
    training_data_free(&d);
    CU_ASSERT_FATAL(write_names(dir, "coarse_label_names.txt", "c", 19) == 0);
    ASSERT_ERROR_MENTIONS(data_load(&r, &d), "has 19 names, expected 20");
    r.coarse = 0, r.num_train = 50000, r.num_val = 1;
    ASSERT_ERROR_MENTIONS(data_load(&r, &d), "impossible");
}

/* The program: classes and input shape from the data; a model that does not fit refused (2)
 * before any image is decoded; a short run on each format. */
static void test_program_on_sources(void)
{
    char args[600], dir[128];
    folder_path(dir, sizeof dir, "pets");
    snprintf(args, sizeof args, "train --data %s --model affine5", dir);
    expect_cli(args, 2, "the image folder has 3 classes");
    snprintf(args, sizeof args, "train --data %s --model affine3 --epochs 1 --batch-size 4 --num-val 2 --print-every 0",
             dir);
    expect_cli(args, 0, "data: ");
    expect_cli(args, 0, "3 classes (cat, dog, ...), inputs (3, 4, 6)");
    snprintf(args, sizeof args, "train --data %s --model cnn3 --filters 2 --hidden 4 --epochs 1 --batch-size 4 "
             "--resize 8x8 --print-every 0", dir);
    expect_cli(args, 0, "inputs (3, 8, 8)");
    /* resuming on data whose classes have other names is refused */
    snprintf(args, sizeof args, "train --data %s --model affine3 --epochs 1 --batch-size 4 --print-every 0 "
             "--checkpoint %s/pets", dir, root);
    expect_cli(args, 0, "best val acc");
    char renamed[160], from[200], to[200];
    folder_path(renamed, sizeof renamed, "pets2");
    CU_ASSERT_FATAL(make_folder("pets2", CLASSES, PER_CLASS) == 0);
    snprintf(from, sizeof from, "%s/frog", renamed);
    snprintf(to, sizeof to, "%s/fox", renamed);
    CU_ASSERT_FATAL(rename(from, to) == 0);
    snprintf(args, sizeof args, "train --data %s --epochs 2 --resume %s/pets_epoch_1.ckpt", renamed, root);
    expect_cli(args, 2, "class 2 is 'frog'; this data's class 2 is 'fox'");
    snprintf(args, sizeof args, "train --data %s --epochs 2 --print-every 0 --resume %s/pets_epoch_1.ckpt", dir, root);
    expect_cli(args, 0, "resumed from");
    snprintf(args, sizeof args, "train --data %s --labels coarse --model affine100 --num-train 30 --num-val 10", c100);
    expect_cli(args, 2, "CIFAR-100 has 20 classes");
    snprintf(args, sizeof args, "train --data %s --labels coarse --model fc --hidden 8 --num-train 30 --num-val 10 "
             "--num-test 5 --epochs 1 --batch-size 10 --print-every 0", c100);
    expect_cli(args, 0, "test acc:");
    expect_cli("train --data-format tiff", 2, "--data-format: 'tiff'");
    snprintf(args, sizeof args, "train --data %s --resize 8x8", c100);
    expect_cli(args, 2, "--resize applies to image folders");
    snprintf(args, sizeof args, "train --data %s --labels coarse", dir);
    expect_cli(args, 2, "--labels coarse applies to CIFAR-100");
    expect_cli("train --labels medium", 2, "--labels: 'medium'");
    expect_cli("train --resize 0x3", 2, "--resize: '0x3'");
    expect_cli("train --resize 4294967300x4", 2, "--resize: '4294967300x4'"); /* not wrapped to 4x4 */
    expect_cli("train --resize 4x", 2, "--resize: '4x'");
}

void register_data_sources_suite(void)
{
    static const CU_TestInfo tests[] = {
        {"image folder: classes, held-out split, pixels, mean", test_folder_split},
        {"image folder: a separate val folder, classes by name", test_val_folder},
        {"resizing: area shrink, bilinear enlargement", test_resize},
        {"image folder: mixed sizes refused or resized, a JPEG", test_mixed_sizes_and_jpeg},
        {"image folder: empty, imageless, unreadable, damaged", test_bad_folders},
        {"class names: UTF-8 kept, malformed sequences refused", test_class_names_utf8},
        {"image files: another format, too many pixels", test_image_files_refused},
        {"CIFAR-100: fine and coarse labels, names, splits", test_cifar100},
        {"CIFAR-100: truncated, bad label, names file, splits", test_bad_cifar100},
        {"the program on image folders and CIFAR-100", test_program_on_sources},
        CU_TEST_INFO_NULL};
    CU_pSuite s = CU_add_suite("data sources", setup, teardown);
    for (const CU_TestInfo *t = tests; s && t->pName; t++) CU_add_test(s, t->pName, t->pTestFunc);
}

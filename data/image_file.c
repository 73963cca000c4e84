/* image_file.c — see image_file.h. */
#include "image_file.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <stb/stb_image.h>
#include <stb/stb_image_resize.h>

#include "error.h"
#include "open_read.h"

int image_file_name_ok(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && dot != name &&
           (strcasecmp(dot, ".png") == 0 || strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0);
}

/* A regular file opened for reading (never blocking on a FIFO), or NULL with a message. */
static FILE *open_image(const char *path)
{
    FILE *f = open_read(path);
    if (!f) return nndl_fail("cannot open image %s: %s", path, strerror(errno)), NULL;
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return nndl_fail("image %s is not a regular file", path), NULL;
    }
    return f;
}

/* Whether f starts as a PNG (its 8-byte signature) or a JPEG (SOI and a marker) does; f is
 * rewound. */
static int png_or_jpeg(FILE *f)
{
    unsigned char b[8] = {0};
    size_t n = fread(b, 1, sizeof b, f);
    rewind(f);
    return (n == 8 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0) || (n >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff);
}

/* The size of the image open in f (left rewound), checked as image_file_size says. */
static int image_info(FILE *f, const char *path, int *h, int *w)
{
    int comp, format = png_or_jpeg(f);
    int ok = format && stbi_info_from_file(f, w, h, &comp);
    rewind(f);
    if (!format) return nndl_fail("cannot read image %s: not a PNG or JPEG file (by its first bytes)", path);
    if (!ok) return nndl_fail("cannot read image %s: %s (expected a PNG or JPEG file)", path, stbi_failure_reason());
    if (*w < 1 || *h < 1 || *w > IMAGE_SIDE_MAX || *h > IMAGE_SIDE_MAX)
        return nndl_fail("image %s is %dx%d: sides of 1 to %d pixels are read", path, *w, *h, IMAGE_SIDE_MAX);
    if ((long)*w * *h > IMAGE_PIXELS_MAX)
        return nndl_fail("image %s is %dx%d, %ld pixels: images of at most %ld pixels are read", path, *w, *h,
                         (long)*w * *h, IMAGE_PIXELS_MAX);
    return NNDL_OK;
}

int image_file_size(const char *path, int *h, int *w)
{
    FILE *f = open_image(path);
    if (!f) return NNDL_ERR;
    int rc = image_info(f, path, h, w);
    fclose(f);
    return rc;
}

int image_to_planar(const unsigned char *rgb, int h, int w, float *chw, int out_h, int out_w)
{
    size_t plane = (size_t)out_h * out_w;
    float *hwc = malloc((size_t)h * w * IMAGE_CHANNELS * sizeof *hwc);
    float *resized = (h == out_h && w == out_w) ? hwc : malloc(plane * IMAGE_CHANNELS * sizeof *resized);
    if (!hwc || !resized) {
        free(hwc);
        if (resized != hwc) free(resized);
        return nndl_fail("out of memory for a %dx%d image", w, h);
    }
    for (size_t i = 0; i < (size_t)h * w * IMAGE_CHANNELS; i++) hwc[i] = rgb[i];
    if (resized != hwc) {
        stbir_filter filter = out_h <= h && out_w <= w ? STBIR_FILTER_BOX : STBIR_FILTER_TRIANGLE;
        int ok = stbir_resize_float_generic(hwc, w, h, 0, resized, out_w, out_h, 0, IMAGE_CHANNELS,
                                            STBIR_ALPHA_CHANNEL_NONE, 0, STBIR_EDGE_CLAMP, filter,
                                            STBIR_COLORSPACE_LINEAR, NULL);
        if (!ok) {
            free(hwc), free(resized);
            return nndl_fail("cannot resize a %dx%d image to %dx%d", w, h, out_w, out_h);
        }
    }
    for (size_t p = 0; p < plane; p++)
        for (int c = 0; c < IMAGE_CHANNELS; c++) chw[c * plane + p] = resized[p * IMAGE_CHANNELS + c];
    if (resized != hwc) free(resized);
    free(hwc);
    return NNDL_OK;
}

int image_file_read(const char *path, float *chw, int out_h, int out_w, int resize)
{
    int h, w, comp;
    FILE *f = open_image(path); /* one open: the file checked is the file decoded */
    if (!f) return NNDL_ERR;
    if (image_info(f, path, &h, &w) != NNDL_OK) {
        fclose(f);
        return NNDL_ERR;
    }
    if ((h != out_h || w != out_w) && !resize) {
        fclose(f);
        return nndl_fail("image %s is %dx%d, the others (and the model's input) %dx%d: give --resize %dx%d to "
                         "resize every image, or make them one size", path, w, h, out_w, out_h, out_w, out_h);
    }
    unsigned char *rgb = stbi_load_from_file(f, &w, &h, &comp, IMAGE_CHANNELS);
    fclose(f);
    if (!rgb) return nndl_fail("cannot decode image %s: %s", path, stbi_failure_reason());
    int rc = image_to_planar(rgb, h, w, chw, out_h, out_w);
    stbi_image_free(rgb);
    if (rc != NNDL_OK) return nndl_fail_context("image %s", path);
    return NNDL_OK;
}

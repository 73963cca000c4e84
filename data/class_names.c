/* class_names.c — see class_names.h. */
#include "class_names.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "error.h"
#include "open_read.h"

/* The length of the well-formed UTF-8 sequence at s (RFC 3629: no overlong forms, no surrogates,
 * nothing past U+10FFFF) within len bytes, or 0. U+FFFE and U+FFFF count as malformed too: XML
 * (the SVG) forbids them. The names go into JSON, SVG and the safetensors header, which all need
 * UTF-8. */
static size_t utf8_sequence(const unsigned char *s, size_t len)
{
    unsigned char b = s[0];
    int more = b < 0x80 ? 0 : (b & 0xe0) == 0xc0 ? 1 : (b & 0xf0) == 0xe0 ? 2 : (b & 0xf8) == 0xf0 ? 3 : -1;
    if (more < 0 || (size_t)more >= len) return 0; /* not a lead byte, or cut short */
    unsigned long cp = more ? b & (0x3f >> more) : b;
    for (int k = 1; k <= more; k++) {
        if ((s[k] & 0xc0) != 0x80) return 0;
        cp = cp << 6 | (s[k] & 0x3f);
    }
    static const unsigned long least[4] = {0, 0x80, 0x800, 0x10000};
    if (cp < least[more] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe || cp == 0xffff) return 0;
    return (size_t)more + 1;
}

static int utf8_valid(const unsigned char *s, size_t len)
{
    for (size_t i = 0, k; i < len; i += k)
        if (!(k = utf8_sequence(s + i, len - i))) return 0;
    return 1;
}

int class_names_add(ClassNames *c, const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > CLASS_NAME_MAX)
        return nndl_fail("class name '%.40s%s' is %s (1 to %d bytes)", name, len > 40 ? "..." : "",
                         len ? "too long" : "empty", CLASS_NAME_MAX);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
            return nndl_fail("class name '%.40s' holds a control character", name);
    if (!utf8_valid((const unsigned char *)name, len))
        return nndl_fail("class name '%.40s' is not UTF-8 text that JSON, SVG and safetensors can carry", name);
    if (c->n >= CLASS_COUNT_MAX) return nndl_fail("more than %d classes", CLASS_COUNT_MAX);
    char **grown = realloc(c->names, (size_t)(c->n + 1) * sizeof *grown);
    if (!grown) return nndl_fail("out of memory for class names");
    c->names = grown;
    if (!(c->names[c->n] = strdup(name))) return nndl_fail("out of memory for class names");
    c->n++;
    return NNDL_OK;
}

int class_names_add_repaired(ClassNames *c, const char *name)
{
    const unsigned char *s = (const unsigned char *)name;
    size_t len = strlen(name), out = 0;
    char fixed[CLASS_NAME_MAX + 1];
    if (len > CLASS_NAME_MAX) return class_names_add(c, name); /* its message */
    for (size_t i = 0, k; i < len; i += k) {
        k = utf8_sequence(s + i, len - i);
        if (k) memcpy(fixed + out, s + i, k), out += k;
        else fixed[out++] = '?', k = 1;
    }
    fixed[out] = '\0';
    return class_names_add(c, fixed);
}

int class_names_numbered(ClassNames *c, int n)
{
    char name[16];
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, "%d", i);
        if (class_names_add(c, name) != NNDL_OK) return NNDL_ERR;
    }
    return NNDL_OK;
}

int class_names_read_file(ClassNames *c, const char *path, int expect)
{
    FILE *f = open_read(path);
    if (!f) return nndl_fail("cannot open class names file %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return nndl_fail("class names file %s is not a regular file", path);
    }
    char line[CLASS_NAME_MAX + 3];
    int rc = NNDL_OK, lineno = 0;
    while (rc == NNDL_OK && fgets(line, sizeof line, f)) {
        lineno++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n') {
            rc = nndl_fail("class names file %s: line %d is longer than %d bytes", path, lineno, CLASS_NAME_MAX);
            break;
        }
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' ')) line[--len] = '\0';
        if (len == 0) continue;
        if (class_names_add(c, line) != NNDL_OK) rc = nndl_fail_context("class names file %s, line %d", path, lineno);
    }
    fclose(f);
    if (rc == NNDL_OK && c->n != expect)
        rc = nndl_fail("class names file %s has %d names, expected %d", path, c->n, expect);
    if (rc != NNDL_OK) class_names_free(c);
    return rc;
}

int class_names_copy(ClassNames *dst, const ClassNames *src)
{
    *dst = (ClassNames){0};
    for (int i = 0; i < src->n; i++)
        if (class_names_add(dst, src->names[i]) != NNDL_OK) {
            class_names_free(dst);
            return NNDL_ERR;
        }
    return NNDL_OK;
}

int class_names_find(const ClassNames *c, const char *name)
{
    for (int i = 0; i < c->n; i++)
        if (strcmp(c->names[i], name) == 0) return i;
    return -1;
}

void class_names_free(ClassNames *c)
{
    for (int i = 0; i < c->n; i++) free(c->names[i]);
    free(c->names);
    *c = (ClassNames){0};
}

/* atomic_file.c — see atomic_file.h. */
#include "atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"

#define TEMP_SUFFIX ".nndl-tmp"

/* dirname/basename may modify their argument: each gets its own copy. */
static void split_path(const char *path, char *dir, char *base, size_t size)
{
    char a[4096], b[4096];
    snprintf(a, sizeof a, "%s", path);
    snprintf(b, sizeof b, "%s", path);
    snprintf(dir, size, "%s", dirname(a));
    snprintf(base, size, "%s", basename(b));
}

int atomic_file_temp_name(char *tmp, size_t size, const char *path)
{
    char dir[4096], base[4096];
    split_path(path, dir, base, sizeof dir);
    int n = snprintf(tmp, size, "%s/.%s" TEMP_SUFFIX, dir, base);
    return n >= 0 && (size_t)n < size ? NNDL_OK : nndl_fail("path too long: %.200s...", path);
}

static const char *kind_of(mode_t mode)
{
    return S_ISLNK(mode) ? "a symbolic link" : S_ISFIFO(mode) ? "a FIFO" : S_ISCHR(mode) ? "a character device"
         : S_ISBLK(mode) ? "a block device" : S_ISDIR(mode) ? "a directory" : S_ISSOCK(mode) ? "a socket"
         : "not a regular file";
}

/* An existing path that is not a regular file is never written through nor replaced. */
static int refuse_non_regular(const char *path, const char *what)
{
    struct stat st;
    if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return nndl_fail("refusing to write %s %s: it exists and is %s, not a regular file; it is left "
                         "untouched", what, path, kind_of(st.st_mode));
    return NNDL_OK;
}

int atomic_file_check_target(const char *path, const char *what)
{
    char dir[4096], base[4096];
    struct stat st;
    if (refuse_non_regular(path, what) != NNDL_OK) return NNDL_ERR;
    /* names the write would fail on only at its end, after a whole run: too long a path, or a
     * name with the temporary's decoration past the file system's limit */
    if (strlen(path) + sizeof TEMP_SUFFIX + 1 >= PATH_MAX)
        return nndl_fail("cannot write %s %.200s...: a path of %zu characters is too long", what, path, strlen(path));
    split_path(path, dir, base, sizeof dir);
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return nndl_fail("cannot write %s %s: its directory %s does not exist", what, path, dir);
    /* a relative path from a current directory that was deleted: stat(".") still succeeds, but
     * nothing can be created there (getcwd says ENOENT; a link count is no test, since some file
     * systems report 1 or 0 for every directory) */
    char cwd[PATH_MAX];
    if (path[0] != '/' && !getcwd(cwd, sizeof cwd) && errno == ENOENT)
        return nndl_fail("cannot write %s %s: the current directory was deleted", what, path);
    if (access(dir, W_OK) != 0) return nndl_fail("cannot write %s %s: %s: %s", what, path, dir, strerror(errno));
    long name_max = pathconf(dir, _PC_NAME_MAX);
    if (name_max > 0 && (long)(strlen(base) + sizeof TEMP_SUFFIX) > name_max) /* "." + base + suffix */
        return nndl_fail("cannot write %s %s: its name is too long for the file system (%zu characters with the "
                         "temporary file's '.' and '%s'; at most %ld)", what, path, strlen(base) + sizeof TEMP_SUFFIX,
                         TEMP_SUFFIX, name_max);
    return NNDL_OK;
}

/* Opens the temporary file, locked and empty. O_NOFOLLOW and O_NONBLOCK keep a planted symlink
 * or FIFO from being followed or blocking; the lock tells a stale file from a live writer's,
 * and the inode check after locking catches a file renamed away while we waited for it. */
static int open_temp(const char *tmp, const char *what)
{
    if (refuse_non_regular(tmp, what) != NNDL_OK) return -1;
    int existed = access(tmp, F_OK) == 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0666);
    if (fd < 0) return nndl_fail("cannot write %s: cannot create its temporary file %s: %s", what, tmp, strerror(errno)), -1;
    struct stat by_fd, by_name;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        return nndl_fail("cannot write %s: another process is writing its temporary file %s", what, tmp), -1;
    }
    if (fstat(fd, &by_fd) != 0 || !S_ISREG(by_fd.st_mode) || lstat(tmp, &by_name) != 0 ||
        by_fd.st_ino != by_name.st_ino || by_fd.st_dev != by_name.st_dev) {
        close(fd);
        return nndl_fail("cannot write %s: its temporary file %s changed while it was being opened", what, tmp), -1;
    }
    if (existed) {
        fprintf(stderr, "note: replacing %s, a stale temporary file left by an interrupted write\n", tmp);
        /* a new file under the name, never the old one truncated: the stale name may be a hard
         * link to a file of the user's */
        close(fd);
        if (unlink(tmp) != 0 ||
            (fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0666)) < 0)
            return nndl_fail("cannot write %s %s: %s", what, tmp, strerror(errno)), -1;
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            close(fd);
            return nndl_fail("cannot write %s: another process is writing its temporary file %s", what, tmp), -1;
        }
    }
    if (ftruncate(fd, 0) != 0) {
        close(fd);
        return nndl_fail("cannot write %s %s: %s", what, tmp, strerror(errno)), -1;
    }
    int flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    return fd;
}

/* After the rename, the directory entry itself must reach the disk. */
static int sync_directory(const char *path)
{
    char dir[4096], base[4096];
    split_path(path, dir, base, sizeof dir);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return NNDL_ERR;
    int rc = fsync(fd) == 0 || errno == EINVAL ? NNDL_OK : NNDL_ERR; /* some file systems cannot */
    close(fd);
    return rc;
}

int write_file_atomically(const char *path, const char *what, FileWriter write, const void *ctx)
{
    char tmp[4200];
    if (!*path) return nndl_fail("cannot write %s: no file name", what);
    /* a missing or read-only directory is reported under the target's name, not the temporary's */
    if (atomic_file_temp_name(tmp, sizeof tmp, path) != NNDL_OK || atomic_file_check_target(path, what) != NNDL_OK)
        return NNDL_ERR;
    int fd = open_temp(tmp, what);
    if (fd < 0) return NNDL_ERR;
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        close(fd);
        unlink(tmp);
        return nndl_fail("cannot write %s %s: %s", what, tmp, strerror(errno));
    }
    int ok = write(f, ctx);
    ok = fflush(f) == 0 && fsync(fd) == 0 && ok;
    /* the target is checked again just before it is replaced */
    int refused = ok && refuse_non_regular(path, what) != NNDL_OK;
    int renamed = ok && !refused && rename(tmp, path) == 0;
    int rename_errno = errno;
    if (!renamed) unlink(tmp);
    fclose(f); /* releases the lock, after the rename so no second writer can take the name */
    if (refused) return NNDL_ERR;
    if (!ok) return nndl_fail("writing %s %s failed (disk full?); the previous file is untouched", what, path);
    if (!renamed) return nndl_fail("cannot rename %s to %s: %s", tmp, path, strerror(rename_errno));
    if (sync_directory(path) != NNDL_OK)
        return nndl_fail("%s %s was written, but its directory could not be synced to disk: %s", what, path,
                         strerror(errno));
    return NNDL_OK;
}

/* load.c - the entry points: a config read from a file or from text, through
 * the syntax check, the --set overrides and the schema, into an nn_config;
 * paths relative to the config's folder; freeing. */
#include "config/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CFG_MAX_BYTES ((size_t)16 << 20) /* larger config files are refused */

static char *dir_of(const char *path);

int nn_config_parse_with_sets(nn_config *cfg, const char *text, size_t len, const char *name,
                              const char *dir, char *const *sets, int n_sets, nn_error *err)
{
    nn_config_defaults(cfg);
    nn_cfg_parser p = {
        .name = name ? name : "<config>",
        .len = len,
        .dir = dir && *dir ? dir : ".",
        .sets = sets,
        .n_sets = sets && n_sets > 0 ? n_sets : 0,
        .err = err,
    };
    char *buf = malloc(len + 1);
    cfg->config_dir = strdup(p.dir);
    if (!buf || !cfg->config_dir) {
        free(buf);
        nn_config_free(cfg);
        return nn_cfg_fail_nomem(&p);
    }
    if (len)
        memcpy(buf, text, len);
    buf[len] = '\0';
    p.text = buf;
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        p.body = 3;

    cJSON *root = NULL, *grave = NULL;
    int rc = nn_cfg_parse_syntax(&p, &root);
    if (rc == 0 && p.n_sets > 0) {
        grave = cJSON_CreateArray();
        rc = grave ? nn_cfg_apply_sets(&p, root, grave) : nn_cfg_fail_nomem(&p);
    }
    p.root = root;
    if (rc == 0)
        rc = nn_cfg_read(&p, cfg);
    cJSON_Delete(root);
    cJSON_Delete(grave);
    free(p.pos);
    free(buf);
    if (rc < 0)
        nn_config_free(cfg);
    return rc;
}

int nn_config_parse(nn_config *cfg, const char *text, size_t len, const char *name,
                    const char *dir, nn_error *err)
{
    return nn_config_parse_with_sets(cfg, text, len, name, dir, NULL, 0, err);
}

/* The whole of f into *buf[*len] (malloc'd, NUL-terminated); `name` in messages. */
static int read_all(FILE *f, const char *name, char **buf, size_t *len, nn_error *err)
{
    size_t cap = 0;
    *buf = NULL;
    *len = 0;
    for (;;) {
        if (*len == cap) {
            if (cap >= CFG_MAX_BYTES) {
                nn_error_set(err, NN_EXIT_USAGE, "%s: config is larger than %zu MiB", name,
                             CFG_MAX_BYTES >> 20);
                return -1;
            }
            cap = cap ? 2 * cap : 4096;
            char *b = realloc(*buf, cap + 1);
            if (!b) {
                nn_error_set(err, NN_EXIT_RUNTIME, "%s: out of memory", name);
                return -1;
            }
            *buf = b;
        }
        errno = 0;
        size_t got = fread(*buf + *len, 1, cap - *len, f);
        *len += got;
        if (got == 0) {
            if (!ferror(f))
                return 0;
            nn_error_set(err, NN_EXIT_RUNTIME, "%s: %s", name, strerror(errno ? errno : EIO));
            return -1;
        }
    }
}

int nn_config_load_with_sets(nn_config *cfg, const char *path, char *const *sets, int n_sets,
                             nn_error *err)
{
    nn_config_defaults(cfg);
    bool is_stdin = strcmp(path, "-") == 0;
    const char *name = is_stdin ? "<stdin>" : path;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (!f) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: %s", name, strerror(errno));
        return -1;
    }
    char *buf;
    size_t len;
    int rc = read_all(f, name, &buf, &len, err);
    if (!is_stdin)
        fclose(f);
    if (rc == 0) {
        char *dir = is_stdin ? strdup(".") : dir_of(path);
        if (!dir) {
            nn_error_set(err, NN_EXIT_RUNTIME, "%s: out of memory", name);
            rc = -1;
        } else {
            rc = nn_config_parse_with_sets(cfg, buf, len, name, dir, sets, n_sets, err);
        }
        free(dir);
    }
    free(buf);
    return rc;
}

int nn_config_load(nn_config *cfg, const char *path, nn_error *err)
{
    return nn_config_load_with_sets(cfg, path, NULL, 0, err);
}

int nn_config_set_checkpoint(nn_config *cfg, const char *path, nn_error *err)
{
    if (!path || !*path) {
        nn_error_set(err, NN_EXIT_USAGE, "the checkpoint path is empty");
        return -1;
    }
    char *a = strdup(path), *b = strdup(path);
    if (!a || !b) {
        free(a);
        free(b);
        nn_error_set(err, NN_EXIT_RUNTIME, "out of memory");
        return -1;
    }
    free(cfg->checkpoint);
    free(cfg->checkpoint_path);
    cfg->checkpoint = a;
    cfg->checkpoint_path = b;
    return 0;
}

void nn_config_free(nn_config *cfg)
{
    if (!cfg)
        return;
    nn_cfg_source_free(&cfg->train);
    nn_cfg_source_free(&cfg->test);
    nn_cfg_source_free(&cfg->validation);
    free(cfg->checkpoint);
    free(cfg->checkpoint_path);
    free(cfg->cache_dir);
    free(cfg->cache_dir_path);
    free(cfg->config_dir);
    nn_config_defaults(cfg);
}

/* ---- paths ------------------------------------------------------------------- */

char *nn_cfg_resolve(const char *dir, const char *path)
{
    if (path[0] == '/' || strcmp(dir, ".") == 0 || strcmp(path, "-") == 0)
        return strdup(path);
    size_t ld = strlen(dir), lp = strlen(path);
    bool slash = ld > 0 && dir[ld - 1] == '/';
    char *s = malloc(ld + lp + 2);
    if (!s)
        return NULL;
    memcpy(s, dir, ld);
    if (!slash)
        s[ld++] = '/';
    memcpy(s + ld, path, lp + 1);
    return s;
}

/* The folder of a file name: "a/b.json" -> "a", "b.json" -> ".", "/b" -> "/". */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    size_t n = (size_t)(slash - path);
    while (n > 0 && path[n - 1] == '/')
        n--;
    if (n == 0)
        return strdup("/");
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, path, n);
        d[n] = '\0';
    }
    return d;
}

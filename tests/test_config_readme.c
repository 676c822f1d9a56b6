/* test_config_readme.c - README.md's "Config reference" lists exactly the
 * config's keys: the first column of its main table against the key table
 * (nn_config_key), the first column of its source table against the source
 * keys (nn_config_source_key).  README.md is read from the working directory:
 * `make unit` and `make check` run the tests from the top of the repository. */
#include "tests.h"

#include "config/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_KEYS 256

typedef struct {
    char *names[MAX_KEYS];
    int n;
} key_list;

static void add_key(key_list *l, const char *s, size_t len)
{
    ck_assert_int_lt(l->n, MAX_KEYS);
    l->names[l->n] = strndup(s, len);
    ck_assert_ptr_nonnull(l->names[l->n]);
    l->n++;
}

static bool has_key(const key_list *l, const char *name)
{
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->names[i], name) == 0)
            return true;
    return false;
}

static void free_keys(key_list *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->names[i]);
    l->n = 0;
}

static char *read_readme(void)
{
    FILE *f = fopen("README.md", "rb");
    ck_assert_msg(f != NULL, "README.md is not in the working directory (run the tests from the "
                             "top of the repository, as make unit does)");
    size_t cap = 1 << 16, n = 0;
    char *text = malloc(cap + 1);
    ck_assert_ptr_nonnull(text);
    size_t got;
    while ((got = fread(text + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            cap *= 2;
            text = realloc(text, cap + 1);
            ck_assert_ptr_nonnull(text);
        }
    }
    fclose(f);
    text[n] = '\0';
    return text;
}

/* The keys in backticks in the first column of the data rows of the
 * `index`-th table (0-based) of the section "## Config reference" of the
 * Markdown `text`.  A table is a run of lines that start with '|'; its first
 * two lines are the header and the separator. */
static void table_keys(const char *text, int index, key_list *out)
{
    const char *sec = strstr(text, "\n## Config reference\n");
    ck_assert_msg(sec != NULL, "README.md has no \"## Config reference\" section");
    const char *end = strstr(sec + 1, "\n## ");
    if (!end)
        end = sec + strlen(sec);
    int table = -1, row = 0;
    bool in_table = false;
    for (const char *line = sec + 1; line < end;) {
        const char *eol = strchr(line, '\n');
        if (!eol || eol > end)
            eol = end;
        bool is_row = *line == '|';
        if (is_row && !in_table) {
            table++;
            row = 0;
        }
        in_table = is_row;
        if (is_row && table == index && row++ >= 2) {
            const char *cell_end = memchr(line + 1, '|', (size_t)(eol - line - 1));
            ck_assert_ptr_nonnull(cell_end);
            for (const char *q = memchr(line, '`', (size_t)(cell_end - line)); q && q < cell_end;) {
                const char *close = memchr(q + 1, '`', (size_t)(cell_end - q - 1));
                ck_assert_msg(close != NULL, "unmatched ` in README.md: %.*s", (int)(eol - line),
                              line);
                add_key(out, q + 1, (size_t)(close - q - 1));
                q = memchr(close + 1, '`', (size_t)(cell_end - close - 1));
            }
        }
        line = eol + 1;
    }
    ck_assert_msg(table >= index, "README.md's \"## Config reference\" has no table %d", index);
}

/* Appends a line to msg for every name of `want` missing from `have` and
 * every name of `have` missing from `want`; the number of such names. */
static int compare(const key_list *want, const key_list *have, const char *table, char *msg,
                   size_t size)
{
    int bad = 0;
    size_t o = strlen(msg);
    for (int i = 0; i < want->n; i++)
        if (!has_key(have, want->names[i]) && o < size) {
            o += (size_t)snprintf(msg + o, size - o, "\nthe config key `%s` is missing from "
                                  "README.md's %s", want->names[i], table);
            bad++;
        }
    for (int i = 0; i < have->n; i++)
        if (!has_key(want, have->names[i]) && o < size) {
            o += (size_t)snprintf(msg + o, size - o, "\nREADME.md's %s lists `%s`, which is not "
                                  "a config key", table, have->names[i]);
            bad++;
        }
    return bad;
}

static void config_keys(key_list *out)
{
    char name[128];
    for (int i = 0; nn_config_key(i, name, sizeof name, NULL) == 0; i++)
        add_key(out, name, strlen(name));
}

static void source_keys(key_list *out)
{
    const char *name;
    for (int i = 0; (name = nn_config_source_key(i, NULL)) != NULL; i++)
        add_key(out, name, strlen(name));
}

/* The README `text` against the tables of keys; the problems into msg. */
static int check_readme(const char *text, char *msg, size_t size)
{
    key_list want = {0}, have = {0};
    msg[0] = '\0';
    config_keys(&want);
    table_keys(text, 0, &have);
    int bad = compare(&want, &have, "config table (the first under \"## Config reference\")",
                      msg, size);
    free_keys(&want);
    free_keys(&have);
    source_keys(&want);
    table_keys(text, 1, &have);
    bad += compare(&want, &have, "source table (the second under \"## Config reference\")", msg,
                   size);
    free_keys(&want);
    free_keys(&have);
    return bad;
}

START_TEST(test_readme_lists_exactly_the_config_keys)
{
    char *text = read_readme();
    char msg[8192];
    int bad = check_readme(text, msg, sizeof msg);
    ck_assert_msg(bad == 0, "README.md and the config's key table differ:%s", msg);
    free(text);
}
END_TEST

START_TEST(test_config_key_names_every_documented_kind_of_key)
{
    key_list keys = {0};
    config_keys(&keys);
    ck_assert(has_key(&keys, "seed"));
    ck_assert(has_key(&keys, "data.train"));             /* a source */
    ck_assert(has_key(&keys, "model.layers"));           /* the array */
    ck_assert(has_key(&keys, "model.layers[i].units"));  /* a layer's key */
    ck_assert(has_key(&keys, "model.layers[i].batch_norm_eps"));
    ck_assert(has_key(&keys, "optimizer.schedule.gamma")); /* a key two objects down */
    ck_assert(has_key(&keys, "training.early_stopping.patience"));
    ck_assert(!has_key(&keys, "optimizer"));             /* objects of keys are not listed */
    ck_assert(!has_key(&keys, "training.early_stopping"));
    const char *help = NULL;
    char name[128];
    ck_assert_int_eq(nn_config_key(0, name, sizeof name, &help), 0);
    ck_assert_str_eq(name, "seed");
    ck_assert_ptr_nonnull(help);
    ck_assert_int_eq(nn_config_key(keys.n, name, sizeof name, NULL), -1);
    ck_assert_int_eq(nn_config_key(-1, name, sizeof name, NULL), -1);
    free_keys(&keys);

    source_keys(&keys);
    ck_assert_int_eq(keys.n, 13);
    ck_assert(has_key(&keys, "images") && has_key(&keys, "delimiter") && has_key(&keys, "npy"));
    ck_assert_ptr_null(nn_config_source_key(13, NULL));
    free_keys(&keys);
}
END_TEST

/* The check names what is missing and what is extra. */
START_TEST(test_readme_check_names_missing_and_extra_keys)
{
    char *text = read_readme();
    char msg[8192];
    int before = check_readme(text, msg, sizeof msg); /* 0 unless README.md is already off */
    /* drop the `huber_delta` row and document a key that does not exist */
    char *row = strstr(text, "\n| `huber_delta` |");
    ck_assert_ptr_nonnull(row);
    char *next = strchr(row + 1, '\n');
    memmove(row, next, strlen(next) + 1);
    const char *src = "\n| `images`, `labels` |";
    char *at = strstr(text, src);
    ck_assert_ptr_nonnull(at);
    size_t len = strlen(text);
    static const char extra[] = "\n| `separator` | x | | |";
    char *edited = malloc(len + sizeof extra);
    ck_assert_ptr_nonnull(edited);
    size_t head = (size_t)(at - text);
    memcpy(edited, text, head);
    memcpy(edited + head, extra, sizeof extra - 1);
    memcpy(edited + head + sizeof extra - 1, at, len - head + 1);

    ck_assert_int_eq(check_readme(edited, msg, sizeof msg), before + 2);
    ck_assert_msg(strstr(msg, "the config key `huber_delta` is missing from README.md's config "
                              "table") != NULL, "%s", msg);
    ck_assert_msg(strstr(msg, "README.md's source table (the second under \"## Config "
                              "reference\") lists `separator`, which is not a config key") != NULL,
                  "%s", msg);
    free(edited);
    free(text);
}
END_TEST

Suite *config_readme_suite(void)
{
    Suite *s = suite_create("config_readme");
    TCase *tc = tcase_create("config_readme");
    tcase_add_test(tc, test_readme_lists_exactly_the_config_keys);
    tcase_add_test(tc, test_config_key_names_every_documented_kind_of_key);
    tcase_add_test(tc, test_readme_check_names_missing_and_extra_keys);
    suite_add_tcase(s, tc);
    return s;
}

/* internal.h - what the files of src/config/ share; the public API is config.h.
 *
 * Reading a config: json_pos.c checks the text's syntax strictly and records
 * where each cJSON node was written; set.c applies the --set overrides to
 * the tree; schema.c walks its table of keys over the tree, reading each
 * value with value.c, calling the rules of rules.c where two settings must
 * fit together and source.c for the data sources; diag.c words every message
 * and places it at FILE:LINE:COL (or names the --set argument).  emit.c
 * writes the canonical JSON from the same table; load.c is the entry points.
 * The int functions return 0, or -1 with p->err set.
 */
#ifndef NN_CONFIG_INTERNAL_H
#define NN_CONFIG_INTERNAL_H

#include <cJSON.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

#define CFG_MAX_DEPTH CJSON_NESTING_LIMIT
#define CFG_NO_KEY ((size_t)-1)
#define CFG_CLIP 40      /* bytes of a user's string or number quoted in a message */
#define CFG_SET_CLIP 200 /* bytes of a --set argument quoted in a message */

/* ---- json_pos.c: the strict scanner and the position index ------------------ */

/* Where one node was written. */
typedef struct {
    const cJSON *node;
    size_t key;   /* offset of the member's opening quote, or CFG_NO_KEY */
    size_t start; /* offset of the value's first byte */
    size_t end;   /* one past the value's last byte */
    int set;      /* -1: offsets are in the config text; else they are in
                     the --set argument sets[set] (a node it created) */
} nn_cfg_pos;

enum { CFG_SCAN_OK = 0, CFG_SCAN_SYNTAX, CFG_SCAN_NUL_ESCAPE, CFG_SCAN_TOO_DEEP, CFG_SCAN_NOMEM };

typedef struct {
    const char *s;
    size_t n;
    size_t i;       /* current offset */
    int status;     /* CFG_SCAN_* */
    size_t bad;     /* offset of the error when status != CFG_SCAN_OK */
    bool record;    /* false: only check the syntax (no tree) */
    int set;        /* nn_cfg_pos.set of the records: -1 for the config text */
    nn_cfg_pos *pos;   /* [npos], in document order until sorted */
    size_t npos, cap;
} nn_cfg_scanner;

/* The state of one parse. */
typedef struct {
    const char *name;   /* the config's name in messages */
    const char *text;   /* [len], NUL-terminated */
    size_t len;
    size_t body;        /* offset after a UTF-8 byte-order mark */
    nn_cfg_pos *pos;       /* [npos], sorted by node */
    size_t npos;
    const cJSON *root;  /* the tree, once parsed and overridden */
    const char *dir;    /* folder for relative paths */
    char *const *sets;  /* [n_sets] --set arguments, "KEY=VALUE" */
    int n_sets;
    nn_error *err;
} nn_cfg_parser;

/* The whole document sc->s[sc->n] from offset `body`: checks the syntax and,
 * in record mode, walks the tree `root` parsed from the same text in step,
 * appending a record per node.  -1 with sc->status and sc->bad on error. */
int nn_cfg_scan_document(nn_cfg_scanner *sc, const cJSON *root, size_t body);
/* Appends a record for `node` at sc->i; its index, or -1 (out of memory). */
long nn_cfg_scan_record(nn_cfg_scanner *sc, const cJSON *node, size_t key);
/* Orders records by node (for bsearch). */
int nn_cfg_pos_cmp(const void *a, const void *b);
/* Parses p->text into *root and builds p->pos; syntax errors name the first
 * offending byte.  *root is the caller's to delete, also on error. */
int nn_cfg_parse_syntax(nn_cfg_parser *p, cJSON **root);
/* The record of a node, or NULL; the text its offsets refer to. */
const nn_cfg_pos *nn_cfg_pos_of(const nn_cfg_parser *p, const cJSON *node);
const char *nn_cfg_pos_text(const nn_cfg_parser *p, const nn_cfg_pos *q);

/* ---- diag.c: messages ------------------------------------------------------ */

/* Where an error is reported: a byte offset in the config text, or a --set
 * argument (set >= 0). */
typedef struct {
    int set;
    size_t off;
} nn_cfg_loc;

static inline nn_cfg_loc nn_cfg_file_loc(size_t off)
{
    return (nn_cfg_loc){-1, off};
}

/* A node's value, or its key (the value for an array element). */
nn_cfg_loc nn_cfg_value_loc(const nn_cfg_parser *p, const cJSON *node);
nn_cfg_loc nn_cfg_key_loc(const nn_cfg_parser *p, const cJSON *node);
/* a comes after b in the order the user wrote them: the config text, then
 * each --set in turn. */
bool nn_cfg_loc_after(nn_cfg_loc a, nn_cfg_loc b);
/* The place of a conflict between the setting at `a` and the value `b`
 * (NULL when b is a default): whichever of the two the user wrote later. */
nn_cfg_loc nn_cfg_later_loc(const nn_cfg_parser *p, nn_cfg_loc a, const cJSON *b);

/* "FILE:LINE:COL: message", or "--set ARG: message"; exit code 2.  -1. */
__attribute__((format(printf, 3, 4)))
int nn_cfg_fail_at(const nn_cfg_parser *p, nn_cfg_loc at, const char *fmt, ...);
/* "NAME: out of memory", exit code 1.  -1. */
int nn_cfg_fail_nomem(const nn_cfg_parser *p);

/* Copies at most `max` bytes of s[len] into out[outsz] for a message:
 * control characters and invalid UTF-8 become '?', a multi-byte character
 * is never cut, and "..." marks a shortened text. */
void nn_cfg_clip(char *out, size_t outsz, const char *s, size_t len, size_t max);
/* "a string", "a number", "null", ... */
const char *nn_cfg_type_phrase(const cJSON *v);
/* What was found: a number as written, a string quoted, anything else by
 * its type (callers pass `literal` only for values of the right type). */
const char *nn_cfg_found(const nn_cfg_parser *p, const cJSON *v, bool literal, char *buf, size_t n);
/* "parent.key", or "key" at the top level. */
void nn_cfg_join(char *out, size_t n, const char *parent, const char *key);

/* Every member of `obj` must be one of keys[nkeys] and appear once; an
 * unknown key is reported with the nearest valid one or the list. */
int nn_cfg_check_members(const nn_cfg_parser *p, const cJSON *obj, const char *path,
                      const char *const *keys, int nkeys);
/* "missing required key PARENT.KEY", at the object `obj`. */
int nn_cfg_fail_missing(const nn_cfg_parser *p, const cJSON *obj, const char *parent,
                     const char *key);
/* "\"PATH\" applies only to WHAT", at the later of the member `m` and the
 * value that chose (`chooser`, NULL for a default). */
int nn_cfg_fail_applies(const nn_cfg_parser *p, const cJSON *m, const char *path, const cJSON *chooser,
                     const char *what);

/* ---- value.c: typed values --------------------------------------------------
 * Each getter reads the member `key` of obj ("PARENT.KEY" in messages) and
 * leaves *out unchanged when the member is absent. */

/* A number's allowed range and how messages word it. */
typedef struct {
    double lo, hi;
    bool lo_open, hi_open;
    const char *text; /* "from 0 up to but not including 1" */
} nn_cfg_range;

/* Enum names come from the nn_*_name functions, so they stay in step with
 * nn/types.c and math/activation.c. */
typedef struct {
    const char *(*name)(int v); /* "?" past the last */
    int (*from_name)(const char *s);
    bool bools; /* JSON true and false also stand for the names "true" and "false"
                   (data.stream: "auto", true or false) */
} nn_cfg_enum;

/* The exact integer value of a number node, from its token as written
 * ("1e3" and "10.0" are integers, "1.5" is not); false otherwise. */
bool nn_cfg_node_int64(const nn_cfg_parser *p, const cJSON *v, int64_t *out);
int nn_cfg_get_int64(const nn_cfg_parser *p, const cJSON *obj, const char *parent, const char *key,
                  int64_t lo, int64_t hi, int64_t *out);
/* A finite number in `range`; `suffix` is appended to its wording. */
int nn_cfg_get_double(const nn_cfg_parser *p, const cJSON *obj, const char *parent, const char *key,
                   const nn_cfg_range *range, const char *suffix, double *out);
int nn_cfg_get_bool(const nn_cfg_parser *p, const cJSON *obj, const char *parent, const char *key,
                 bool *out);
/* A non-empty string; *out points into the cJSON tree. */
int nn_cfg_get_string(const nn_cfg_parser *p, const cJSON *obj, const char *parent, const char *key,
                   const char **out);
/* An object member; *out NULL when absent. */
int nn_cfg_get_object(const nn_cfg_parser *p, const cJSON *obj, const char *parent, const char *key,
                   const cJSON **out);
int nn_cfg_get_enum(const nn_cfg_parser *p, const cJSON *obj, const char *parent, const char *key,
                 const nn_cfg_enum *e, int *out);

/* ---- schema.c: the table of keys ------------------------------------------------
 * Each key of the config is one nn_cfg_row: its name, type, range, default, when
 * it applies and where it lands in nn_config (or in a layer's nn_layer_cfg).
 * Reading, nn_config_defaults, the canonical output and the documented key
 * list all walk the same rows (schema.c has the order of a walk). */

typedef enum {
    CFG_INT,     /* an integer from min to max (an int, or the uint64_t seed) */
    CFG_NUM,     /* a finite double in `range` */
    CFG_BOOL,
    CFG_ENUM,    /* a name of `names` (stored as the enum) */
    CFG_PATH,    /* a non-empty string: a char * as written, and one resolved against the
                    config's folder */
    CFG_SECTION, /* an object whose members are the rows `rows` */
    CFG_ARRAY,   /* the layers: an array of objects whose members are the rows `rows` */
    CFG_SOURCE,  /* a data source (an nn_source), read by the data section's check */
    CFG_CHECK    /* no key: the rule `check`, called at this point of the walk */
} nn_cfg_kind;

typedef struct nn_cfg_row nn_cfg_row;
typedef struct nn_cfg_sec nn_cfg_sec;

/* A default or a range that holds for some values of the row's chooser. */
typedef struct {
    uint64_t when;          /* the chooser's values: bit v for value v */
    bool has_def;
    double def;             /* the default for those values */
    const nn_cfg_range *range; /* the range for those values (NULL: the row's) */
} nn_cfg_variant;

#define CFG_MAX_VARIANTS 2

struct nn_cfg_row {
    const char *key;        /* the member's name; NULL for a check */
    nn_cfg_kind kind;
    size_t off, size;       /* offsetof and sizeof the field in the section's struct */
    bool required;          /* a key: must be given.  A section: read even when absent, which
                               reports its required key missing */
    int64_t min, max;       /* CFG_INT: the range; CFG_ARRAY: the number of elements */
    const nn_cfg_range *range; /* CFG_NUM */
    const nn_cfg_enum *names;  /* CFG_ENUM */
    double def;             /* the default of a CFG_INT, CFG_NUM, CFG_BOOL or CFG_ENUM */
    double (*def_fn)(const nn_cfg_sec *s); /* a default computed from the section instead */
    /* When it applies: only while the key `chooser` of the same section has one of the
     * values `applies` (0: always).  The chooser also picks among the variants. */
    const char *chooser;
    uint64_t applies;
    nn_cfg_variant variants[CFG_MAX_VARIANTS];
    const char *hidden_only; /* not on the output layer, because of this; a boolean key only
                                refuses true there */
    /* A chooser: how "applies only to" names its values (`phrase` before them,
     * each quoted when `quote`): "loss \"huber\"", "adam and adamw" */
    const char *phrase;
    bool quote;
    const nn_cfg_row *rows;    /* CFG_SECTION, CFG_ARRAY: the members [n_rows] */
    int n_rows;
    const char *items;      /* CFG_ARRAY: what its elements are called in messages */
    size_t count;           /* CFG_ARRAY: offsetof the int that receives the length */
    size_t item_size;       /* CFG_ARRAY: sizeof an element */
    size_t given;           /* CFG_SECTION, CFG_SOURCE: 1 + offsetof a bool that is true when
                               the key is given (0: none, always written out) */
    size_t resolved;        /* CFG_PATH: 1 + offsetof the resolved char * */
    int (*check)(const nn_cfg_parser *p, const nn_cfg_sec *s); /* CFG_CHECK */
    bool regression_only;   /* a key of the data section that applies only when data.train
                               has targets (regression): not written out otherwise */
    bool quiet_default;     /* written out only when its value is not the default (a key
                               added after checkpoints stored the canonical config: runs that
                               leave it alone keep the bytes they had) */
    const char *help;       /* one line for documentation */
};

/* A section being read: its rows, its object and the struct the rows land in. */
struct nn_cfg_sec {
    const nn_cfg_row *rows;  /* [n_rows] */
    int n_rows;
    const cJSON *obj;     /* NULL when absent */
    const cJSON *at;      /* where a missing key is reported: obj, or the nearest given
                             ancestor */
    char path[80];        /* "optimizer.schedule", "model.layers.3", "" for the root */
    void *base;           /* the struct the rows' offsets are into */
    nn_config *cfg;       /* the whole config */
    bool out_layer;       /* the last layer's section */
    const cJSON *root;    /* the whole tree (NULL for nn_config_defaults): a default may
                             depend on whether another key is given */
};

/* The root section's rows [*n]. */
const nn_cfg_row *nn_cfg_root_rows(int *n);
/* Whether row r of rows[n] applies given the values in `base`: its chooser's
 * value is one it applies to, and it is not a hidden-layer key on the output
 * layer. */
bool nn_cfg_row_applies(const nn_cfg_row *rows, int n, const nn_cfg_row *r, const void *base,
                     bool out_layer);
/* The value of an integer, enum or boolean row in base. */
int64_t nn_cfg_row_int(const nn_cfg_row *r, const void *base);
/* Reads the tree p->root into cfg (filled with defaults before). */
int nn_cfg_read(const nn_cfg_parser *p, nn_config *cfg);

/* ---- rules.c: settings that must fit together (the CFG_CHECK rows) --------------- */

int nn_cfg_check_validation_fraction(const nn_cfg_parser *p, const nn_cfg_sec *s); /* data */
int nn_cfg_check_test_fraction(const nn_cfg_parser *p, const nn_cfg_sec *s);       /* data */
int nn_cfg_check_scale_targets(const nn_cfg_parser *p, const nn_cfg_sec *s);       /* data */
int nn_cfg_check_regression_units(const nn_cfg_parser *p, const nn_cfg_sec *s);   /* a layer */
int nn_cfg_check_softmax(const nn_cfg_parser *p, const nn_cfg_sec *s);            /* a layer */
int nn_cfg_check_loss_pairing(const nn_cfg_parser *p, const nn_cfg_sec *s);       /* the root */
int nn_cfg_check_nesterov(const nn_cfg_parser *p, const nn_cfg_sec *s);           /* optimizer */
int nn_cfg_check_min_lr(const nn_cfg_parser *p, const nn_cfg_sec *s);             /* its schedule */
int nn_cfg_check_batch_norm_batch(const nn_cfg_parser *p, const nn_cfg_sec *s);   /* training */
int nn_cfg_check_early_stopping(const nn_cfg_parser *p, const nn_cfg_sec *s);     /* early_stopping */
int nn_cfg_check_slices(const nn_cfg_parser *p, const nn_cfg_sec *s);             /* slices */
int nn_cfg_check_keep_best(const nn_cfg_parser *p, const nn_cfg_sec *s);          /* checkpoint */

/* ---- source.c: data sources ---------------------------------------------------- */

/* The data section's check: its sources (data.train, data.test,
 * data.validation) each read, data.train deciding regression, the others
 * checked against it. */
int nn_cfg_read_sources(const nn_cfg_parser *p, const nn_cfg_sec *s);
/* s as the object `key` of `data` (every default written out). */
bool nn_cfg_add_source(cJSON *data, const char *key, const nn_source *s);
void nn_cfg_source_free(nn_source *s);

/* ---- emit.c: canonical output ---------------------------------------------------- */

/* The shortest of %.15g..%.17g that reads back as the same double. */
void nn_cfg_fmt_double(char *buf, size_t n, double v);

/* ---- set.c: --set KEY=VALUE -------------------------------------------------------- */

/* Applies every --set to the tree in order and adds the records of the nodes
 * they created to p->pos; the nodes they replace go to `grave`, so that no
 * address the index holds is reused. */
int nn_cfg_apply_sets(nn_cfg_parser *p, cJSON *root, cJSON *grave);

/* ---- load.c ---------------------------------------------------------------------- */

/* `path` resolved against `dir` (absolute paths and "-" unchanged); malloc'd. */
char *nn_cfg_resolve(const char *dir, const char *path);

#endif

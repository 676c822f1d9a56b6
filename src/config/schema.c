/* schema.c - the table of keys, and the walk that reads a config by it.
 *
 * Every key is one row below: its name, type and range, its default (which
 * may depend on another key's choice), when it applies, where it lands, and
 * a line of help.  The same rows give nn_config_defaults, the canonical
 * output (emit.c) and the documented key list (nn_config_key).
 *
 * A section (an object of the config) is read in this order, which is the
 * order its errors are found in:
 *   1. every member is a key of the section, given once;
 *   2. the rows in order.  A key: when a chooser decides it (optimizer.name
 *      decides learning_rate's default and where momentum applies), and it
 *      is the first key that chooser decides, every key the chooser decides
 *      is checked to apply; a key for hidden layers only is refused on the
 *      output layer; then the value is read, or its default stored (a
 *      section is read in place; a source by the data section's check).
 *      A check: the section's required keys must be there by then, and the
 *      rule (rules.c) runs;
 *   3. the required keys, when no check came.
 * A key that does not apply is reported at the later of the key and the
 * value that chose (the config text in order, then each --set in turn).
 */
#include "config/internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CFG_MAX_SEED ((int64_t)1 << 53)
#define CFG_MAX_EPOCHS 1000000
#define CFG_MAX_BATCH 65536
#define CFG_MAX_ROWS 32 /* keys and checks of one section */

#define COUNT(a) ((int)(sizeof(a) / sizeof *(a)))
#define BIT(v) ((uint64_t)1 << (v))
/* where a row's value lands: a field of the section's struct T */
#define AT(T, f) .off = offsetof(T, f), .size = sizeof(((T *)0)->f)
/* a bool or pointer field that is optional in a row (0 means none) */
#define FIELD(T, f) (offsetof(T, f) + 1)
#define SECTION(r) .rows = (r), .n_rows = COUNT(r)
#define ONLY(chooser_key, values) .chooser = (chooser_key), .applies = (values)
#define DEFAULT_WHEN(values, d) {.when = (values), .has_def = true, .def = (d)}
#define RANGE_WHEN(values, r) {.when = (values), .range = (r)}
#define CHECK(fn) {.kind = CFG_CHECK, .check = (fn)}

static const nn_cfg_range unit = {0, 1, false, true, "from 0 up to but not including 1"};
static const nn_cfg_range closed_unit = {0, 1, false, false, "from 0 to 1"};
static const nn_cfg_range factor = {0, 1, true, false, "greater than 0 and at most 1"};
static const nn_cfg_range positive = {0, INFINITY, true, false, "greater than 0"};
static const nn_cfg_range nonnegative = {0, INFINITY, false, false, "0 or greater"};

static const char *act_name(int v) { return nn_act_name((nn_act)v); }
static const char *loss_name(int v) { return nn_loss_name((nn_loss)v); }
static const char *opt_name(int v) { return nn_opt_name((nn_opt)v); }
static const char *scale_name(int v) { return nn_scale_name((nn_scale)v); }
static const char *init_name(int v) { return nn_init_name((nn_init)v); }
static const char *sched_name(int v) { return nn_sched_name_name((nn_sched_name)v); }
static const char *precision_name(int v) { return nn_precision_name((nn_precision)v); }

static const nn_cfg_enum enum_act = {act_name, nn_act_from_name, false};
static const nn_cfg_enum enum_loss = {loss_name, nn_loss_from_name, false};
static const nn_cfg_enum enum_opt = {opt_name, nn_opt_from_name, false};
static const nn_cfg_enum enum_scale = {scale_name, nn_scale_from_name, false};
static const nn_cfg_enum enum_init = {init_name, nn_init_from_name, false};
static const nn_cfg_enum enum_sched = {sched_name, nn_sched_name_from_name, false};
static const nn_cfg_enum enum_precision = {precision_name, nn_precision_from_name, false};
static const char *stream_name(int v)
{
    return v == NN_STREAM_AUTO ? "auto" : v == NN_STREAM_ON ? "true" : v == NN_STREAM_OFF ? "false" : "?";
}
static int stream_from_name(const char *s)
{
    return !strcmp(s, "auto") ? NN_STREAM_AUTO : !strcmp(s, "true") ? NN_STREAM_ON
                                             : !strcmp(s, "false") ? NN_STREAM_OFF : -1;
}
static const nn_cfg_enum enum_stream = {stream_name, stream_from_name, .bools = true};

/* Enums are stored through an int. */
_Static_assert(sizeof(nn_act) == sizeof(int) && sizeof(nn_loss) == sizeof(int) &&
               sizeof(nn_opt) == sizeof(int) && sizeof(nn_scale) == sizeof(int) &&
               sizeof(nn_init) == sizeof(int) && sizeof(nn_sched_name) == sizeof(int) &&
               sizeof(nn_precision) == sizeof(int),
               "an enum is not an int");

/* The loss named in the tree, or -1 when none (or not a valid name: the
 * loss row reports that). */
static int given_loss(const nn_cfg_sec *s)
{
    const cJSON *v = s->root ? cJSON_GetObjectItemCaseSensitive(s->root, "loss") : NULL;
    return cJSON_IsString(v) ? nn_loss_from_name(v->valuestring) : -1;
}

/* Hidden layers: relu (with He initialisation, init "auto"), which keeps its
 * gradient where sigmoid saturates.  The output layer and the loss are a
 * pair: with neither given the pair follows the problem (regression:
 * identity + mse; K > 1 units: softmax + cross_entropy; one unit: sigmoid +
 * binary_cross_entropy); with the loss given the activation follows it
 * (cross_entropy: softmax, or sigmoid over one unit, which the pairing rule
 * then refuses with a hint; binary_cross_entropy: sigmoid; mse, mae, huber:
 * identity).  default_loss is the other half. */
static double default_activation(const nn_cfg_sec *s)
{
    if (!s->out_layer)
        return NN_ACT_RELU;
    const nn_layer_cfg *layer = s->base;
    if (s->cfg->regression)
        return NN_ACT_IDENTITY;
    switch (given_loss(s)) {
    case NN_LOSS_CROSS_ENTROPY:
        return layer->units >= 2 ? NN_ACT_SOFTMAX : NN_ACT_SIGMOID;
    case NN_LOSS_BINARY_CROSS_ENTROPY:
        return NN_ACT_SIGMOID;
    case NN_LOSS_MSE:
    case NN_LOSS_MAE:
    case NN_LOSS_HUBER:
        return NN_ACT_IDENTITY;
    default:
        return layer->units >= 2 ? NN_ACT_SOFTMAX : NN_ACT_SIGMOID;
    }
}

/* The loss when not given: from the output activation when that is given
 * (softmax: cross_entropy; sigmoid over one unit: binary_cross_entropy;
 * anything else: mse), else from the problem (as default_activation). */
static double default_loss(const nn_cfg_sec *s)
{
    const nn_config *cfg = s->cfg;
    if (cfg->n_layers < 1 || cfg->regression)
        return NN_LOSS_MSE;
    const nn_layer_cfg *out = &cfg->layers[cfg->n_layers - 1];
    const cJSON *layers = s->root ? cJSON_GetObjectItemCaseSensitive(
                                        cJSON_GetObjectItemCaseSensitive(s->root, "model"), "layers")
                                  : NULL;
    const cJSON *last = cJSON_GetArrayItem(layers, cfg->n_layers - 1);
    if (!cJSON_GetObjectItemCaseSensitive(last, "activation"))
        return out->units >= 2 ? NN_LOSS_CROSS_ENTROPY : NN_LOSS_BINARY_CROSS_ENTROPY;
    if (out->act == NN_ACT_SOFTMAX)
        return NN_LOSS_CROSS_ENTROPY;
    if (out->act == NN_ACT_SIGMOID && out->units == 1)
        return NN_LOSS_BINARY_CROSS_ENTROPY;
    return NN_LOSS_MSE;
}

static double default_alpha(const nn_cfg_sec *s)
{
    return nn_act_default_alpha(((const nn_layer_cfg *)s->base)->act);
}

/* ---- the table ----------------------------------------------------------------- */

static const nn_cfg_row layer_rows[] = {
    {"units", CFG_INT, AT(nn_layer_cfg, units), .required = true, .min = 1, .max = NN_MAX_UNITS,
     .help = "units of the layer"},
    {"activation", CFG_ENUM, AT(nn_layer_cfg, act), .names = &enum_act,
     .def_fn = default_activation,
     .help = "activation of the layer (softmax only on the output layer)"},
    CHECK(nn_cfg_check_regression_units),
    CHECK(nn_cfg_check_softmax),
    {"alpha", CFG_NUM, AT(nn_layer_cfg, alpha), .def_fn = default_alpha,
     ONLY("activation", BIT(NN_ACT_LEAKY_RELU) | BIT(NN_ACT_ELU)),
     .variants = {RANGE_WHEN(BIT(NN_ACT_LEAKY_RELU), &unit),
                  RANGE_WHEN(BIT(NN_ACT_ELU), &positive)},
     .help = "leaky_relu's slope for z < 0; elu's factor of e^z - 1"},
    {"init", CFG_ENUM, AT(nn_layer_cfg, init), .names = &enum_init, .def = NN_INIT_AUTO,
     .help = "weight initialisation; auto is he for relu-like activations, glorot otherwise"},
    {"dropout", CFG_NUM, AT(nn_layer_cfg, dropout), .range = &unit, .def = 0,
     .hidden_only = "dropout zeroes a layer's outputs at random, and these outputs are the "
                    "predictions",
     .help = "the rate at which the layer's outputs are zeroed while training"},
    {"batch_norm", CFG_BOOL, AT(nn_layer_cfg, batch_norm), .def = false,
     .hidden_only = "batch normalization is for hidden layers (the output layer's values are the "
                    "predictions)",
     .phrase = "layers with \"batch_norm\": ",
     .help = "normalise the layer's pre-activations over each batch (PyTorch BatchNorm1d)"},
    {"batch_norm_momentum", CFG_NUM, AT(nn_layer_cfg, batch_norm_momentum), .range = &closed_unit,
     .def = 0.1, ONLY("batch_norm", BIT(true)),
     .help = "running = (1 - momentum) running + momentum batch statistic"},
    {"batch_norm_eps", CFG_NUM, AT(nn_layer_cfg, batch_norm_eps), .range = &positive,
     .def = 1e-5, ONLY("batch_norm", BIT(true)), .help = "added to the batch variance"},
};

static const nn_cfg_row augment_rows[] = {
    {"shift", CFG_INT, AT(nn_config, augment.shift), .min = 0, .max = 64, .def = 0,
     .help = "pixels an image may move each way, down and across"},
    {"flip", CFG_BOOL, AT(nn_config, augment.flip), .def = false,
     .help = "mirror an image left to right with chance 1/2"},
};

static const nn_cfg_row data_rows[] = {
    {"train", CFG_SOURCE, AT(nn_config, train), .required = true,
     .given = FIELD(nn_config, has_train), .help = "the data to train on"},
    {"test", CFG_SOURCE, AT(nn_config, test), .given = FIELD(nn_config, has_test),
     .help = "test data for --eval"},
    {"validation", CFG_SOURCE, AT(nn_config, validation),
     .given = FIELD(nn_config, has_validation), .help = "a separate validation set"},
    {"validation_fraction", CFG_NUM, AT(nn_config, validation_fraction), .range = &unit,
     .def = 0, .help = "share of the training data held out for validation"},
    {"test_fraction", CFG_NUM, AT(nn_config, test_fraction), .range = &unit, .def = 0,
     .help = "share of the training data held out for testing (--eval)"},
    {"scale", CFG_ENUM, AT(nn_config, scale), .names = &enum_scale, .def = NN_SCALE_AUTO,
     .help = "input scaling"},
    {"stream", CFG_ENUM, AT(nn_config, stream), .names = &enum_stream, .def = NN_STREAM_AUTO,
     .help = "read the training data from disk window by window; auto: when it is larger "
             "than max_memory_mb"},
    {"max_memory_mb", CFG_NUM, AT(nn_config, max_memory_mb), .range = &positive, .def = 4096,
     .help = "MiB the training data may take in memory (streaming beyond)"},
    {"shuffle_buffer", CFG_INT, AT(nn_config, shuffle_buffer), .min = 0, .max = INT32_MAX,
     .def = 0, .help = "rows shuffled together when streaming; 0: as many as fit"},
    {"cache_dir", CFG_PATH, AT(nn_config, cache_dir), .resolved = FIELD(nn_config, cache_dir_path),
     .help = "where a streamed CSV's binary cache is kept"},
    {"augment", CFG_SECTION, SECTION(augment_rows), .given = FIELD(nn_config, augment.enabled),
     .help = "random shifts and flips of training images, per row and epoch"},
    CHECK(nn_cfg_check_validation_fraction),
    CHECK(nn_cfg_check_test_fraction),
    CHECK(nn_cfg_read_sources),
    {"scale_targets", CFG_BOOL, AT(nn_config, scale_targets), .def = true,
     .regression_only = true, .help = "standardise regression targets for training"},
    CHECK(nn_cfg_check_scale_targets),
};

static const nn_cfg_row model_rows[] = {
    {"layers", CFG_ARRAY, AT(nn_config, layers), .required = true, .min = 1,
     .max = NN_MAX_LAYERS, SECTION(layer_rows), .items = "layers",
     .count = offsetof(nn_config, n_layers), .item_size = sizeof(nn_layer_cfg),
     .help = "the dense layers, input side first; the last is the output layer"},
};

static const nn_cfg_row schedule_rows[] = {
    {"name", CFG_ENUM, AT(nn_config, schedule.name), .names = &enum_sched,
     .def = NN_SCHED_NAME_CONSTANT, .help = "the learning-rate schedule"},
    {"gamma", CFG_NUM, AT(nn_config, schedule.gamma), .range = &factor, .def = 0.1,
     ONLY("name", BIT(NN_SCHED_NAME_STEP) | BIT(NN_SCHED_NAME_EXPONENTIAL)),
     .variants = {DEFAULT_WHEN(BIT(NN_SCHED_NAME_EXPONENTIAL), 0.95)},
     .help = "the factor per step (step) or per epoch (exponential)"},
    {"step_epochs", CFG_INT, AT(nn_config, schedule.step_epochs), .min = 1,
     .max = CFG_MAX_EPOCHS, .def = 10, ONLY("name", BIT(NN_SCHED_NAME_STEP)),
     .help = "epochs between steps"},
    {"min_lr", CFG_NUM, AT(nn_config, schedule.min_lr), .range = &nonnegative, .def = 0,
     ONLY("name", BIT(NN_SCHED_NAME_COSINE)),
     .help = "the rate the cosine ends at, below the learning rate"},
    {"warmup_epochs", CFG_INT, AT(nn_config, schedule.warmup_epochs), .min = 0,
     .max = CFG_MAX_EPOCHS, .def = 0, .help = "epochs of linear warmup, any schedule"},
    CHECK(nn_cfg_check_min_lr),
};

static const nn_cfg_row optimizer_rows[] = {
    {"name", CFG_ENUM, AT(nn_config, optimizer), .names = &enum_opt, .def = NN_OPT_ADAM,
     .help = "the optimizer"},
    /* Adam's step is about the rate whatever the gradient's size */
    {"learning_rate", CFG_NUM, AT(nn_config, learning_rate), .range = &positive, .def = 0.1,
     .chooser = "name", .variants = {DEFAULT_WHEN(BIT(NN_OPT_ADAM) | BIT(NN_OPT_ADAMW), 0.001)},
     .help = "the base step size"},
    {"momentum", CFG_NUM, AT(nn_config, momentum), .range = &unit, .def = 0,
     ONLY("name", BIT(NN_OPT_SGD)), .help = "sgd's momentum"},
    {"nesterov", CFG_BOOL, AT(nn_config, nesterov), .def = false,
     ONLY("name", BIT(NN_OPT_SGD)), .help = "sgd's Nesterov look-ahead; needs momentum"},
    {"beta1", CFG_NUM, AT(nn_config, beta1), .range = &unit, .def = 0.9,
     ONLY("name", BIT(NN_OPT_ADAM) | BIT(NN_OPT_ADAMW)),
     .help = "decay of the first moment"},
    {"beta2", CFG_NUM, AT(nn_config, beta2), .range = &unit, .def = 0.999,
     ONLY("name", BIT(NN_OPT_ADAM) | BIT(NN_OPT_ADAMW)),
     .help = "decay of the second moment"},
    {"eps", CFG_NUM, AT(nn_config, eps), .range = &positive, .def = 1e-8,
     ONLY("name", BIT(NN_OPT_ADAM) | BIT(NN_OPT_ADAMW)),
     .help = "added to the second moment's root"},
    {"weight_decay", CFG_NUM, AT(nn_config, weight_decay), .range = &nonnegative, .def = 0,
     .help = "L2 on the weights (decoupled for adamw)"},
    {"clip_norm", CFG_NUM, AT(nn_config, clip_norm), .range = &nonnegative, .def = 0,
     .help = "the global gradient norm is clipped to this; 0 is off"},
    CHECK(nn_cfg_check_nesterov),
    {"schedule", CFG_SECTION, SECTION(schedule_rows), .help = "the learning-rate schedule"},
};

static const nn_cfg_row early_stopping_rows[] = {
    {"patience", CFG_INT, AT(nn_config, early_stopping.patience), .required = true, .min = 1,
     .max = CFG_MAX_EPOCHS, .help = "epochs without a better validation loss before stopping"},
    {"min_delta", CFG_NUM, AT(nn_config, early_stopping.min_delta), .range = &nonnegative,
     .def = 0, .help = "an improvement must beat the best by more than this"},
    CHECK(nn_cfg_check_early_stopping),
};

static const nn_cfg_row training_rows[] = {
    {"epochs", CFG_INT, AT(nn_config, epochs), .min = 1, .max = CFG_MAX_EPOCHS, .def = 200,
     .help = "total epochs"},
    {"batch_size", CFG_INT, AT(nn_config, batch_size), .min = 1, .max = CFG_MAX_BATCH,
     .def = 32, .help = "samples per mini-batch"},
    CHECK(nn_cfg_check_batch_norm_batch),
    {"shuffle", CFG_BOOL, AT(nn_config, shuffle), .def = true,
     .help = "a fresh order of the training rows every epoch"},
    {"ema", CFG_NUM, AT(nn_config, ema), .range = &unit, .def = 0, .quiet_default = true,
     .help = "decay of a moving average of the weights used for validation and the saved "
             "model; 0 is off"},
    {"early_stopping", CFG_SECTION, SECTION(early_stopping_rows),
     .given = FIELD(nn_config, early_stopping.enabled),
     .help = "stop when the validation loss no longer improves"},
    {"precision", CFG_ENUM, AT(nn_config, precision), .names = &enum_precision,
     .def = NN_PREC_FP32, .quiet_default = true,
     .help = "the dense products' precision: fp32, or bf16 operands with fp32 sums"},
    {"slices", CFG_INT, AT(nn_config, slices), .min = 1, .max = 64, .def = 1,
     .quiet_default = true,
     .help = "slices each batch's sums are cut into and added in a fixed tree (a power of two; "
             "MPI ranks must divide it)"},
    CHECK(nn_cfg_check_slices),
};

static const nn_cfg_row checkpoint_rows[] = {
    {"path", CFG_PATH, AT(nn_config, checkpoint), .resolved = FIELD(nn_config, checkpoint_path),
     .help = "where to write the checkpoint"},
    {"every_epochs", CFG_INT, AT(nn_config, checkpoint_every), .min = 0, .max = CFG_MAX_EPOCHS,
     .def = 1, .help = "write every N epochs; 0 is only after the last"},
    {"every_seconds", CFG_NUM, AT(nn_config, checkpoint_every_seconds), .range = &nonnegative,
     .def = 5, .help = "skip a periodic write within this many seconds of the last; 0 is off"},
    {"keep_best", CFG_BOOL, AT(nn_config, keep_best), .def = false,
     .help = "also keep the checkpoint of the lowest validation loss"},
    CHECK(nn_cfg_check_keep_best),
};

static const nn_cfg_row root_rows[] = {
    {"seed", CFG_INT, AT(nn_config, seed), .min = 0, .max = CFG_MAX_SEED, .def = 1,
     .help = "seeds the initial weights, the validation split and the shuffles"},
    {"data", CFG_SECTION, SECTION(data_rows), .required = true, .help = "the data"},
    {"model", CFG_SECTION, SECTION(model_rows), .required = true, .help = "the network"},
    {"loss", CFG_ENUM, AT(nn_config, loss), .names = &enum_loss, .def_fn = default_loss,
     .phrase = "loss ", .quote = true, .help = "the cost"},
    {"label_smoothing", CFG_NUM, AT(nn_config, label_smoothing), .range = &unit, .def = 0,
     .quiet_default = true,
     ONLY("loss", BIT(NN_LOSS_CROSS_ENTROPY) | BIT(NN_LOSS_BINARY_CROSS_ENTROPY)),
     .help = "the share e of the target spread evenly over the K classes: (1 - e) one_hot + "
             "e / K"},
    {"huber_delta", CFG_NUM, AT(nn_config, huber_delta), .range = &positive, .def = 1,
     ONLY("loss", BIT(NN_LOSS_HUBER)),
     .help = "where the huber loss turns from quadratic to linear"},
    CHECK(nn_cfg_check_loss_pairing),
    {"optimizer", CFG_SECTION, SECTION(optimizer_rows), .help = "the optimizer"},
    {"training", CFG_SECTION, SECTION(training_rows), .help = "the training loop"},
    {"checkpoint", CFG_SECTION, SECTION(checkpoint_rows), .help = "saving the model"},
};

const nn_cfg_row *nn_cfg_root_rows(int *n)
{
    *n = COUNT(root_rows);
    return root_rows;
}

/* ---- values in the struct ---------------------------------------------------------- */

static void *field(const nn_cfg_row *r, void *base)
{
    return (char *)base + r->off;
}

int64_t nn_cfg_row_int(const nn_cfg_row *r, const void *base)
{
    const char *f = (const char *)base + r->off;
    if (r->kind == CFG_BOOL)
        return *(const bool *)f;
    if (r->size == sizeof(uint64_t)) {
        uint64_t u;
        memcpy(&u, f, sizeof u);
        return (int64_t)u;
    }
    int i;
    memcpy(&i, f, sizeof i);
    return i;
}

static void put_int(const nn_cfg_row *r, void *base, int64_t v)
{
    if (r->size == sizeof(uint64_t)) {
        uint64_t u = (uint64_t)v;
        memcpy(field(r, base), &u, sizeof u);
    } else {
        int i = (int)v;
        memcpy(field(r, base), &i, sizeof i);
    }
}

static void put_double(const nn_cfg_row *r, void *base, double v)
{
    memcpy(field(r, base), &v, sizeof v);
}

/* ---- choosers ------------------------------------------------------------------ */

static const nn_cfg_row *chooser_of(const nn_cfg_row *rows, int n, const nn_cfg_row *r)
{
    for (int i = 0; r->chooser && i < n; i++)
        if (rows[i].key && strcmp(rows[i].key, r->chooser) == 0)
            return &rows[i];
    return NULL;
}

/* v is one of the values in the set (bit v). */
static bool in_set(uint64_t set, int64_t v)
{
    return v >= 0 && v < 64 && (set >> v & 1);
}

/* The chooser of r has one of the values r applies to (or r always applies). */
static bool chosen(const nn_cfg_row *rows, int n, const nn_cfg_row *r, const void *base)
{
    const nn_cfg_row *c = chooser_of(rows, n, r);
    return !c || !r->applies || in_set(r->applies, nn_cfg_row_int(c, base));
}

bool nn_cfg_row_applies(const nn_cfg_row *rows, int n, const nn_cfg_row *r, const void *base,
                     bool out_layer)
{
    /* a regression-only key is a key of the data section, whose base is the config */
    if (r->regression_only && !((const nn_config *)base)->regression)
        return false;
    return !(r->hidden_only && out_layer) && chosen(rows, n, r, base);
}

/* The variant of r for its chooser's value, or NULL. */
static const nn_cfg_variant *variant_of(const nn_cfg_sec *s, const nn_cfg_row *r)
{
    const nn_cfg_row *c = chooser_of(s->rows, s->n_rows, r);
    for (int i = 0; c && i < CFG_MAX_VARIANTS; i++)
        if (in_set(r->variants[i].when, nn_cfg_row_int(c, s->base)))
            return &r->variants[i];
    return NULL;
}

static double row_default(const nn_cfg_sec *s, const nn_cfg_row *r)
{
    if (r->def_fn)
        return r->def_fn(s);
    const nn_cfg_variant *v = variant_of(s, r);
    return v && v->has_def ? v->def : r->def;
}

/* The chooser c's values in `values` as "applies only to" names them:
 * "sgd", "adam and adamw", "loss \"huber\"". */
static void name_values(char *out, size_t n, const nn_cfg_row *c, uint64_t values)
{
    size_t o = (size_t)snprintf(out, n, "%s", c->phrase ? c->phrase : "");
    int left = 0;
    for (int v = 0; v < 64; v++)
        left += in_set(values, v);
    for (int v = 0; v < 64 && o < n; v++) {
        if (!in_set(values, v))
            continue;
        const char *name = c->kind == CFG_BOOL ? (v ? "true" : "false") : c->names->name(v);
        const char *sep = left == 1 ? "" : left == 2 ? " and " : ", ";
        const char *q = c->quote ? "\"" : "";
        o += (size_t)snprintf(out + o, n - o, "%s%s%s%s", q, name, q, sep);
        left--;
    }
}

/* ---- reading a section ----------------------------------------------------------- */

static int read_section(const nn_cfg_parser *p, nn_cfg_sec *s);

static const cJSON *member(const cJSON *obj, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(obj, key);
}

/* Every key that the chooser c decides and that is given applies to c's value. */
static int check_chosen(const nn_cfg_parser *p, const nn_cfg_sec *s, const nn_cfg_row *c)
{
    for (int i = 0; i < s->n_rows; i++) {
        const nn_cfg_row *r = &s->rows[i];
        const cJSON *m = r->key ? member(s->obj, r->key) : NULL;
        if (!m || chooser_of(s->rows, s->n_rows, r) != c || chosen(s->rows, s->n_rows, r, s->base))
            continue;
        char path[128], what[256];
        nn_cfg_join(path, sizeof path, s->path, r->key);
        name_values(what, sizeof what, c, r->applies);
        return nn_cfg_fail_applies(p, m, path, member(s->obj, c->key), what);
    }
    return 0;
}

/* The section's required keys are given (a required section is read instead). */
static int check_required(const nn_cfg_parser *p, const nn_cfg_sec *s)
{
    for (int i = 0; i < s->n_rows; i++) {
        const nn_cfg_row *r = &s->rows[i];
        if (r->required && r->kind != CFG_SECTION && !member(s->obj, r->key))
            return nn_cfg_fail_missing(p, s->at, s->path, r->key);
    }
    return 0;
}

static int read_number(const nn_cfg_parser *p, const nn_cfg_sec *s, const nn_cfg_row *r)
{
    const nn_cfg_variant *v = variant_of(s, r);
    const nn_cfg_range *range = v && v->range ? v->range : r->range;
    char suffix[128] = "";
    if (v && v->range) {
        strcpy(suffix, " for ");
        name_values(suffix + 5, sizeof suffix - 5, chooser_of(s->rows, s->n_rows, r), v->when);
    }
    double x = row_default(s, r);
    if (nn_cfg_get_double(p, s->obj, s->path, r->key, range, suffix, &x) < 0)
        return -1;
    put_double(r, s->base, x);
    return 0;
}

static int read_path(const nn_cfg_parser *p, const nn_cfg_sec *s, const nn_cfg_row *r)
{
    const char *text = NULL;
    if (nn_cfg_get_string(p, s->obj, s->path, r->key, &text) < 0)
        return -1;
    if (!text)
        return 0;
    char **as_written = field(r, s->base);
    char **resolved = (char **)((char *)s->base + r->resolved - 1);
    *as_written = strdup(text);
    *resolved = nn_cfg_resolve(p->dir, text);
    return *as_written && *resolved ? 0 : nn_cfg_fail_nomem(p);
}

/* A section in place: when given, or when required (to report its keys). */
static int read_subsection(const nn_cfg_parser *p, const nn_cfg_sec *s, const nn_cfg_row *r)
{
    const cJSON *obj;
    if (nn_cfg_get_object(p, s->obj, s->path, r->key, &obj) < 0)
        return -1;
    if (!obj && !r->required)
        return 0;
    nn_cfg_sec sub = {.rows = r->rows, .n_rows = r->n_rows, .obj = obj, .at = obj ? obj : s->at,
                   .base = s->base, .cfg = s->cfg, .out_layer = s->out_layer,
                   .root = s->root};
    nn_cfg_join(sub.path, sizeof sub.path, s->path, r->key);
    if (read_section(p, &sub) < 0)
        return -1;
    if (obj && r->given)
        *(bool *)((char *)s->base + r->given - 1) = true;
    return 0;
}

/* The layers: each element a section of its own, the last the output layer. */
static int read_array(const nn_cfg_parser *p, const nn_cfg_sec *s, const nn_cfg_row *r)
{
    const cJSON *a = member(s->obj, r->key);
    char path[64];
    nn_cfg_join(path, sizeof path, s->path, r->key);
    if (!a)
        return 0;
    if (!cJSON_IsArray(a))
        return nn_cfg_fail_at(p, nn_cfg_value_loc(p, a), "\"%s\" must be an array, found %s", path,
                           nn_cfg_type_phrase(a));
    int n = cJSON_GetArraySize(a);
    if (n < r->min || n > r->max)
        return nn_cfg_fail_at(p, nn_cfg_value_loc(p, a), "\"%s\" must hold from %d to %d %s, found %d",
                           path, (int)r->min, (int)r->max, r->items, n);
    int i = 0;
    for (const cJSON *e = a->child; e; e = e->next, i++) {
        nn_cfg_sec item = {.rows = r->rows, .n_rows = r->n_rows, .obj = e, .at = e,
                        .base = (char *)field(r, s->base) + (size_t)i * r->item_size,
                        .cfg = s->cfg, .out_layer = i == n - 1, .root = s->root};
        snprintf(item.path, sizeof item.path, "%s.%d", path, i);
        if (!cJSON_IsObject(e))
            return nn_cfg_fail_at(p, nn_cfg_value_loc(p, e), "\"%s\" must be an object, found %s",
                               item.path, nn_cfg_type_phrase(e));
        if (read_section(p, &item) < 0)
            return -1;
    }
    *(int *)((char *)s->base + r->count) = n;
    return 0;
}

/* One key: its value when given, else its default. */
static int read_row(const nn_cfg_parser *p, const nn_cfg_sec *s, const nn_cfg_row *r)
{
    const cJSON *v = member(s->obj, r->key);
    if (v && r->hidden_only && s->out_layer && (r->kind != CFG_BOOL || cJSON_IsTrue(v))) {
        char path[128];
        nn_cfg_join(path, sizeof path, s->path, r->key);
        return nn_cfg_fail_at(p, nn_cfg_key_loc(p, v), "\"%s\" is not allowed on the output layer: %s",
                           path, r->hidden_only);
    }
    switch (r->kind) {
    case CFG_INT: {
        int64_t x = (int64_t)row_default(s, r);
        if (nn_cfg_get_int64(p, s->obj, s->path, r->key, r->min, r->max, &x) < 0)
            return -1;
        put_int(r, s->base, x);
        return 0;
    }
    case CFG_NUM:
        return read_number(p, s, r);
    case CFG_BOOL: {
        bool x = row_default(s, r) != 0;
        if (nn_cfg_get_bool(p, s->obj, s->path, r->key, &x) < 0)
            return -1;
        *(bool *)field(r, s->base) = x;
        return 0;
    }
    case CFG_ENUM: {
        int x = (int)row_default(s, r);
        if (nn_cfg_get_enum(p, s->obj, s->path, r->key, r->names, &x) < 0)
            return -1;
        put_int(r, s->base, x);
        return 0;
    }
    case CFG_PATH:
        return read_path(p, s, r);
    case CFG_SECTION:
        return read_subsection(p, s, r);
    case CFG_ARRAY:
        return read_array(p, s, r);
    case CFG_SOURCE: { /* an object (or a list of NPY shards) here; read by the data
                          section's check */
        const cJSON *obj, *given = cJSON_GetObjectItemCaseSensitive(s->obj, r->key);
        if (given && cJSON_IsArray(given))
            return 0;
        return nn_cfg_get_object(p, s->obj, s->path, r->key, &obj);
    }
    case CFG_CHECK:
        break;
    }
    return 0;
}

/* Every member is a key of the section. */
static int check_keys(const nn_cfg_parser *p, const nn_cfg_sec *s)
{
    const char *keys[CFG_MAX_ROWS];
    int n = 0;
    for (int i = 0; i < s->n_rows && n < CFG_MAX_ROWS; i++)
        if (s->rows[i].key)
            keys[n++] = s->rows[i].key;
    return s->obj ? nn_cfg_check_members(p, s->obj, s->path, keys, n) : 0;
}

/* The order is the one at the top of the file. */
static int read_section(const nn_cfg_parser *p, nn_cfg_sec *s)
{
    if (check_keys(p, s) < 0)
        return -1;
    bool required_checked = false;
    uint64_t decided = 0; /* the choosers (by row) whose keys were checked to apply */
    for (int i = 0; i < s->n_rows; i++) {
        const nn_cfg_row *r = &s->rows[i];
        if (r->kind == CFG_CHECK) {
            if (!required_checked && check_required(p, s) < 0)
                return -1;
            required_checked = true;
            if (r->check(p, s) < 0)
                return -1;
            continue;
        }
        const nn_cfg_row *c = chooser_of(s->rows, s->n_rows, r);
        if (c && !(decided & BIT(c - s->rows))) {
            decided |= BIT(c - s->rows);
            if (check_chosen(p, s, c) < 0)
                return -1;
        }
        if (read_row(p, s, r) < 0)
            return -1;
    }
    return required_checked ? 0 : check_required(p, s);
}

int nn_cfg_read(const nn_cfg_parser *p, nn_config *cfg)
{
    nn_cfg_sec root = {.rows = root_rows, .n_rows = COUNT(root_rows), .obj = p->root,
                    .at = p->root, .base = cfg, .cfg = cfg, .root = p->root};
    return read_section(p, &root);
}

/* ---- defaults ---------------------------------------------------------------------- */

/* Every default of the section and of its sections (not the layers: there are none). */
static void put_defaults(const nn_cfg_sec *s)
{
    for (int i = 0; i < s->n_rows; i++) {
        const nn_cfg_row *r = &s->rows[i];
        nn_cfg_sec sub = *s;
        switch (r->kind) {
        case CFG_INT:
        case CFG_ENUM:
            put_int(r, s->base, (int64_t)row_default(s, r));
            break;
        case CFG_NUM:
            put_double(r, s->base, row_default(s, r));
            break;
        case CFG_BOOL:
            *(bool *)field(r, s->base) = row_default(s, r) != 0;
            break;
        case CFG_SECTION:
            sub.rows = r->rows;
            sub.n_rows = r->n_rows;
            put_defaults(&sub);
            break;
        default:
            break;
        }
    }
}

void nn_config_defaults(nn_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    nn_cfg_sec root = {.rows = root_rows, .n_rows = COUNT(root_rows), .base = cfg, .cfg = cfg};
    put_defaults(&root);
}

/* ---- the documented keys ------------------------------------------------------------- */

/* Counts *i down over the keys of rows[n] under `prefix`; 0 with the key's
 * name and help once it reaches it. */
static int find_key(const nn_cfg_row *rows, int n, const char *prefix, int *i, char *name,
                    size_t size, const char **help)
{
    for (int k = 0; k < n; k++) {
        const nn_cfg_row *r = &rows[k];
        char full[128];
        if (r->kind == CFG_CHECK)
            continue;
        nn_cfg_join(full, sizeof full, prefix, r->key);
        if (r->kind != CFG_SECTION && (*i)-- == 0) {
            snprintf(name, size, "%s", full);
            if (help)
                *help = r->help;
            return 0;
        }
        if (r->kind == CFG_ARRAY)
            strcat(full, "[i]");
        if ((r->kind == CFG_SECTION || r->kind == CFG_ARRAY) &&
            find_key(r->rows, r->n_rows, full, i, name, size, help) == 0)
            return 0;
    }
    return -1;
}

int nn_config_key(int i, char *name, size_t size, const char **help)
{
    return i < 0 ? -1 : find_key(root_rows, COUNT(root_rows), "", &i, name, size, help);
}

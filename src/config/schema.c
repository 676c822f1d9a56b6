/* schema.c - the sections of the config: each key's type, range, default and
 * when it applies, and the rules between keys. */
#include "config/internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CFG_MAX_SEED ((int64_t)1 << 53)
#define CFG_MAX_EPOCHS 1000000
#define CFG_MAX_BATCH 65536
/* how cfg_get_double's messages word the common ranges */
#define CFG_RANGE_UNIT "from 0 up to but not including 1" /* [0, 1) */
#define CFG_RANGE_POS "greater than 0"                    /* (0, inf) */
#define CFG_RANGE_NONNEG "0 or greater"                   /* [0, inf) */

static const char *act_name(int v) { return nn_act_name((nn_act)v); }
static const char *loss_name(int v) { return nn_loss_name((nn_loss)v); }
static const char *opt_name(int v) { return nn_opt_name((nn_opt)v); }
static const char *scale_name(int v) { return nn_scale_name((nn_scale)v); }
static const char *init_name(int v) { return nn_init_name((nn_init)v); }
static const char *sched_name(int v) { return nn_sched_name_name((nn_sched_name)v); }

static const cfg_enum enum_act = {act_name, nn_act_from_name};
static const cfg_enum enum_loss = {loss_name, nn_loss_from_name};
static const cfg_enum enum_opt = {opt_name, nn_opt_from_name};
static const cfg_enum enum_scale = {scale_name, nn_scale_from_name};
static const cfg_enum enum_init = {init_name, nn_init_from_name};
static const cfg_enum enum_sched = {sched_name, nn_sched_name_from_name};

static int get_int(const cfg_parser *p, const cJSON *obj, const char *parent, const char *key,
                   int lo, int hi, int *out)
{
    int64_t x = *out;
    if (cfg_get_int64(p, obj, parent, key, lo, hi, &x) < 0)
        return -1;
    *out = (int)x;
    return 0;
}

/* The member `key` of obj, when present, must be one that applies to the
 * choice made by `chooser` (the value that chose, NULL for a default). */
static int check_applies(const cfg_parser *p, const cJSON *obj, const char *parent,
                         const char *key, bool applies, const cJSON *chooser, const char *what)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!m || applies)
        return 0;
    char path[300];
    cfg_join(path, sizeof path, parent, key);
    return cfg_fail_applies(p, m, path, chooser, what);
}

static int parse_data(const cfg_parser *p, const cJSON *root, nn_config *cfg)
{
    static const char *const keys[] = {"train", "test", "validation", "validation_fraction",
                                       "scale"};
    const cJSON *obj, *train, *test, *val;
    int scale = (int)cfg->scale;
    if (cfg_get_object(p, root, "", "data", &obj) < 0)
        return -1;
    if (!obj)
        return cfg_fail_missing(p, root, "data", "train");
    if (cfg_check_members(p, obj, "data", keys, 5) < 0 ||
        cfg_get_object(p, obj, "data", "train", &train) < 0 ||
        cfg_get_object(p, obj, "data", "test", &test) < 0 ||
        cfg_get_object(p, obj, "data", "validation", &val) < 0 ||
        cfg_get_double(p, obj, "data", "validation_fraction", false, 0.0, true, 1.0,
                       "from 0 up to but not including 1", &cfg->validation_fraction) < 0 ||
        cfg_get_enum(p, obj, "data", "scale", &enum_scale, &scale) < 0)
        return -1;
    cfg->scale = (nn_scale)scale;
    if (!train)
        return cfg_fail_missing(p, obj, "data", "train");
    if (val && cfg->validation_fraction > 0) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "validation_fraction");
        char buf[CFG_CLIP + 8];
        return cfg_fail_at(p, cfg_value_loc(p, v),
                           "\"data.validation_fraction\" must be 0 when \"data.validation\" is "
                           "given, found %s", cfg_found(p, v, true, buf, sizeof buf));
    }
    if (cfg_parse_source(p, train, "data.train", &cfg->train) < 0)
        return -1;
    cfg->has_train = true;
    if (cfg->train.kind == NN_SRC_CSV && !cfg->train.csv.has_label) {
        cfg->regression = true;
        cfg->n_targets = cfg->train.csv.n_targets;
    }
    if (test) {
        if (cfg_parse_source(p, test, "data.test", &cfg->test) < 0 ||
            cfg_check_like_train(p, test, "data.test", &cfg->test, cfg) < 0)
            return -1;
        cfg->has_test = true;
    }
    if (val) {
        if (cfg_parse_source(p, val, "data.validation", &cfg->validation) < 0 ||
            cfg_check_like_train(p, val, "data.validation", &cfg->validation, cfg) < 0)
            return -1;
        cfg->has_validation = true;
    }
    return 0;
}

/* The per-layer keys after "units" and "activation": alpha, init, dropout. */
static int parse_layer_options(const cfg_parser *p, const cJSON *l, const char *path,
                               bool out_layer, nn_layer_cfg *layer)
{
    const cJSON *act = cJSON_GetObjectItemCaseSensitive(l, "activation");
    bool leaky = layer->act == NN_ACT_LEAKY_RELU, elu = layer->act == NN_ACT_ELU;
    int init = (int)NN_INIT_AUTO;
    layer->alpha = nn_act_default_alpha(layer->act);
    layer->dropout = 0.0;
    if (check_applies(p, l, path, "alpha", leaky || elu, act, "leaky_relu and elu") < 0 ||
        (leaky && cfg_get_double(p, l, path, "alpha", false, 0.0, true, 1.0,
                                 CFG_RANGE_UNIT " for leaky_relu", &layer->alpha) < 0) ||
        (elu && cfg_get_double(p, l, path, "alpha", true, 0.0, false, HUGE_VAL,
                               CFG_RANGE_POS " for elu", &layer->alpha) < 0) ||
        cfg_get_enum(p, l, path, "init", &enum_init, &init) < 0)
        return -1;
    layer->init = (nn_init)init;
    const cJSON *drop = cJSON_GetObjectItemCaseSensitive(l, "dropout");
    if (drop && out_layer)
        return cfg_fail_at(p, cfg_key_loc(p, drop), "\"%s.dropout\" is not allowed on the output layer: "
                           "dropout zeroes a layer's outputs at random, and these outputs are the "
                           "predictions", path);
    return cfg_get_double(p, l, path, "dropout", false, 0.0, true, 1.0, CFG_RANGE_UNIT,
                          &layer->dropout);
}

/* Softmax is row-wise over the output layer's units: only there, over at
 * least two units, and only for classes. */
static int check_softmax(const cfg_parser *p, const cJSON *l, const char *path, bool out_layer,
                         const nn_layer_cfg *layer, const nn_config *cfg)
{
    if (layer->act != NN_ACT_SOFTMAX)
        return 0;
    const cJSON *act = cJSON_GetObjectItemCaseSensitive(l, "activation");
    const cJSON *units = cJSON_GetObjectItemCaseSensitive(l, "units");
    if (!out_layer)
        return cfg_fail_at(p, cfg_value_loc(p, act), "\"%s.activation\": softmax is only allowed on the "
                           "output layer", path);
    if (cfg->regression)
        return cfg_fail_at(p, cfg_value_loc(p, act), "\"%s.activation\": a softmax output layer is for "
                           "classes, but \"data.train\" has targets (regression)", path);
    if (layer->units < 2)
        return cfg_fail_at(p, cfg_later_loc(p, cfg_value_loc(p, act), units), "\"%s.activation\": softmax "
                           "needs at least 2 units (over one unit it is the constant 1), found %d",
                           path, layer->units);
    return 0;
}

static int parse_model(const cfg_parser *p, const cJSON *root, nn_config *cfg)
{
    static const char *const model_keys[] = {"layers"};
    static const char *const layer_keys[] = {"units", "activation", "alpha", "init", "dropout"};
    const cJSON *obj;
    if (cfg_get_object(p, root, "", "model", &obj) < 0)
        return -1;
    if (!obj)
        return cfg_fail_missing(p, root, "model", "layers");
    if (cfg_check_members(p, obj, "model", model_keys, 1) < 0)
        return -1;
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(obj, "layers");
    if (!layers)
        return cfg_fail_missing(p, obj, "model", "layers");
    if (!cJSON_IsArray(layers))
        return cfg_fail_at(p, cfg_value_loc(p, layers), "\"model.layers\" must be an array, found %s",
                           cfg_type_phrase(layers));
    int n = cJSON_GetArraySize(layers);
    if (n < 1 || n > NN_MAX_LAYERS)
        return cfg_fail_at(p, cfg_value_loc(p, layers),
                           "\"model.layers\" must hold from 1 to %d layers, found %d", NN_MAX_LAYERS,
                           n);
    int i = 0;
    for (const cJSON *l = layers->child; l; l = l->next, i++) {
        char path[64];
        snprintf(path, sizeof path, "model.layers.%d", i);
        if (!cJSON_IsObject(l))
            return cfg_fail_at(p, cfg_value_loc(p, l), "\"%s\" must be an object, found %s", path,
                               cfg_type_phrase(l));
        /* a regression output defaults to identity: sigmoid would bound it */
        bool out_layer = i == n - 1;
        int units = 0, act = (int)(cfg->regression && out_layer ? NN_ACT_IDENTITY
                                                                  : NN_ACT_SIGMOID);
        if (cfg_check_members(p, l, path, layer_keys, 5) < 0 ||
            get_int(p, l, path, "units", 1, NN_MAX_UNITS, &units) < 0 ||
            cfg_get_enum(p, l, path, "activation", &enum_act, &act) < 0)
            return -1;
        if (!units)
            return cfg_fail_missing(p, l, path, "units");
        if (out_layer && cfg->regression && units != cfg->n_targets) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(l, "units");
            char buf[CFG_CLIP + 8];
            return cfg_fail_at(p, cfg_value_loc(p, v), "\"%s.units\" must equal the number of "
                               "data.train.targets (%d), found %s", path, cfg->n_targets,
                               cfg_found(p, v, true, buf, sizeof buf));
        }
        nn_layer_cfg *layer = &cfg->layers[i];
        layer->units = units;
        layer->act = (nn_act)act;
        if (check_softmax(p, l, path, out_layer, layer, cfg) < 0 ||
            parse_layer_options(p, l, path, out_layer, layer) < 0)
            return -1;
    }
    cfg->n_layers = n;
    return 0;
}

/* The loss must suit the output layer and the kind of problem.  `loss` is the
 * "loss" value (NULL: the default), `act` the last layer's "activation" value
 * (NULL: its default). */
static int check_loss_pairing(const cfg_parser *p, const cJSON *loss, const cJSON *act,
                              const nn_config *cfg)
{
    nn_act out = cfg->layers[cfg->n_layers - 1].act;
    const char *ln = nn_loss_name(cfg->loss), *an = nn_act_name(out);
    bool ce = cfg->loss == NN_LOSS_CROSS_ENTROPY, bce = cfg->loss == NN_LOSS_BINARY_CROSS_ENTROPY;
    cfg_loc both = loss ? cfg_later_loc(p, cfg_value_loc(p, loss), act) : cfg_value_loc(p, act);
    if ((ce || bce) && cfg->regression)
        return cfg_fail_at(p, cfg_value_loc(p, loss), "loss \"%s\" is a classification loss, but "
                           "\"data.train\" has targets (regression): use \"mse\", \"mae\" or "
                           "\"huber\"", ln);
    if (ce && out != NN_ACT_SOFTMAX)
        return cfg_fail_at(p, both, "loss \"cross_entropy\" needs a softmax output layer (the last "
                           "layer's activation is \"%s\")", an);
    if (bce && out != NN_ACT_SIGMOID)
        return cfg_fail_at(p, both, "loss \"binary_cross_entropy\" needs a sigmoid output layer, "
                           "whose outputs lie in (0, 1) (the last layer's activation is \"%s\")",
                           an);
    if (out == NN_ACT_SOFTMAX && !ce)
        return cfg_fail_at(p, both, "a softmax output layer needs loss \"cross_entropy\": with "
                           "\"%s\" the outputs, tied to sum to 1, learn through the softmax Jacobian "
                           "diag(p) - p p^T, which vanishes as they saturate; cross-entropy cancels "
                           "it (gradient p - y) and is the pairing nntrain supports", ln);
    return 0;
}

static int parse_loss(const cfg_parser *p, const cJSON *root, nn_config *cfg)
{
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(model, "layers");
    const cJSON *last = cJSON_GetArrayItem(layers, cfg->n_layers - 1);
    const cJSON *act = cJSON_GetObjectItemCaseSensitive(last, "activation");
    const cJSON *loss = cJSON_GetObjectItemCaseSensitive(root, "loss");
    int l = (int)cfg->loss;
    if (cfg_get_enum(p, root, "", "loss", &enum_loss, &l) < 0)
        return -1;
    cfg->loss = (nn_loss)l;
    if (check_applies(p, root, "", "huber_delta", cfg->loss == NN_LOSS_HUBER, loss,
                      "loss \"huber\"") < 0 ||
        cfg_get_double(p, root, "", "huber_delta", true, 0.0, false, HUGE_VAL, CFG_RANGE_POS,
                       &cfg->huber_delta) < 0)
        return -1;
    return check_loss_pairing(p, loss, act, cfg);
}

static int parse_schedule(const cfg_parser *p, const cJSON *opt, nn_config *cfg)
{
    static const char *const keys[] = {"name", "gamma", "step_epochs", "min_lr",
                                       "warmup_epochs"};
    static const char path[] = "optimizer.schedule";
    nn_schedule_cfg *s = &cfg->schedule;
    const cJSON *obj;
    int name = (int)s->name;
    if (cfg_get_object(p, opt, "optimizer", "schedule", &obj) < 0)
        return -1;
    if (!obj)
        return 0;
    if (cfg_check_members(p, obj, path, keys, 5) < 0 ||
        cfg_get_enum(p, obj, path, "name", &enum_sched, &name) < 0)
        return -1;
    s->name = (nn_sched_name)name;
    const cJSON *chooser = cJSON_GetObjectItemCaseSensitive(obj, "name");
    bool step = s->name == NN_SCHED_NAME_STEP, expo = s->name == NN_SCHED_NAME_EXPONENTIAL;
    bool cosine = s->name == NN_SCHED_NAME_COSINE;
    if (expo)
        s->gamma = 0.95;
    if (check_applies(p, obj, path, "gamma", step || expo, chooser, "step and exponential") < 0 ||
        check_applies(p, obj, path, "step_epochs", step, chooser, "step") < 0 ||
        check_applies(p, obj, path, "min_lr", cosine, chooser, "cosine") < 0 ||
        cfg_get_double(p, obj, path, "gamma", true, 0.0, false, 1.0, "greater than 0 and at most 1",
                       &s->gamma) < 0 ||
        get_int(p, obj, path, "step_epochs", 1, CFG_MAX_EPOCHS, &s->step_epochs) < 0 ||
        cfg_get_double(p, obj, path, "min_lr", false, 0.0, false, HUGE_VAL, CFG_RANGE_NONNEG,
                       &s->min_lr) < 0 ||
        get_int(p, obj, path, "warmup_epochs", 0, CFG_MAX_EPOCHS, &s->warmup_epochs) < 0)
        return -1;
    const cJSON *min_lr = cJSON_GetObjectItemCaseSensitive(obj, "min_lr");
    if (min_lr && s->min_lr >= cfg->learning_rate) {
        const cJSON *lr = cJSON_GetObjectItemCaseSensitive(opt, "learning_rate");
        char rate[40], buf[CFG_CLIP + 8];
        cfg_fmt_double(rate, sizeof rate, cfg->learning_rate);
        return cfg_fail_at(p, cfg_later_loc(p, cfg_value_loc(p, min_lr), lr), "\"%s.min_lr\" must be below "
                           "\"optimizer.learning_rate\" (%s), found %s", path, rate,
                           cfg_found(p, min_lr, true, buf, sizeof buf));
    }
    return 0;
}

static int parse_optimizer(const cfg_parser *p, const cJSON *root, nn_config *cfg)
{
    static const char *const keys[] = {"name", "learning_rate", "momentum", "nesterov", "beta1",
                                       "beta2", "eps", "weight_decay", "clip_norm", "schedule"};
    static const char path[] = "optimizer";
    const cJSON *opt;
    int name = (int)cfg->optimizer;
    if (cfg_get_object(p, root, "", path, &opt) < 0)
        return -1;
    if (!opt)
        return 0;
    if (cfg_check_members(p, opt, path, keys, 10) < 0 ||
        cfg_get_enum(p, opt, path, "name", &enum_opt, &name) < 0)
        return -1;
    cfg->optimizer = (nn_opt)name;
    const cJSON *chooser = cJSON_GetObjectItemCaseSensitive(opt, "name");
    bool sgd = cfg->optimizer == NN_OPT_SGD;
    if (!sgd)
        cfg->learning_rate = 0.001; /* Adam's step is about lr whatever the gradient's size */
    if (check_applies(p, opt, path, "momentum", sgd, chooser, "sgd") < 0 ||
        check_applies(p, opt, path, "nesterov", sgd, chooser, "sgd") < 0 ||
        check_applies(p, opt, path, "beta1", !sgd, chooser, "adam and adamw") < 0 ||
        check_applies(p, opt, path, "beta2", !sgd, chooser, "adam and adamw") < 0 ||
        check_applies(p, opt, path, "eps", !sgd, chooser, "adam and adamw") < 0 ||
        cfg_get_double(p, opt, path, "learning_rate", true, 0.0, false, HUGE_VAL, CFG_RANGE_POS,
                       &cfg->learning_rate) < 0 ||
        cfg_get_double(p, opt, path, "momentum", false, 0.0, true, 1.0, CFG_RANGE_UNIT,
                       &cfg->momentum) < 0 ||
        cfg_get_bool(p, opt, path, "nesterov", &cfg->nesterov) < 0 ||
        cfg_get_double(p, opt, path, "beta1", false, 0.0, true, 1.0, CFG_RANGE_UNIT,
                       &cfg->beta1) < 0 ||
        cfg_get_double(p, opt, path, "beta2", false, 0.0, true, 1.0, CFG_RANGE_UNIT,
                       &cfg->beta2) < 0 ||
        cfg_get_double(p, opt, path, "eps", true, 0.0, false, HUGE_VAL, CFG_RANGE_POS,
                       &cfg->eps) < 0 ||
        cfg_get_double(p, opt, path, "weight_decay", false, 0.0, false, HUGE_VAL, CFG_RANGE_NONNEG,
                       &cfg->weight_decay) < 0 ||
        cfg_get_double(p, opt, path, "clip_norm", false, 0.0, false, HUGE_VAL, CFG_RANGE_NONNEG,
                       &cfg->clip_norm) < 0)
        return -1;
    if (cfg->nesterov && cfg->momentum == 0.0) {
        const cJSON *nesterov = cJSON_GetObjectItemCaseSensitive(opt, "nesterov");
        const cJSON *momentum = cJSON_GetObjectItemCaseSensitive(opt, "momentum");
        return cfg_fail_at(p, cfg_later_loc(p, cfg_value_loc(p, nesterov), momentum), "\"optimizer.nesterov\" "
                           "needs \"optimizer.momentum\" greater than 0 (Nesterov's look-ahead "
                           "follows the momentum; with 0 there is none)");
    }
    return parse_schedule(p, opt, cfg);
}

static bool has_validation_data(const nn_config *cfg)
{
    return cfg->has_validation || cfg->validation_fraction > 0;
}

static int parse_early_stopping(const cfg_parser *p, const cJSON *train, nn_config *cfg)
{
    static const char *const keys[] = {"patience", "min_delta"};
    static const char path[] = "training.early_stopping";
    nn_early_stopping_cfg *es = &cfg->early_stopping;
    const cJSON *obj;
    if (cfg_get_object(p, train, "training", "early_stopping", &obj) < 0)
        return -1;
    if (!obj)
        return 0;
    if (cfg_check_members(p, obj, path, keys, 2) < 0 ||
        get_int(p, obj, path, "patience", 1, CFG_MAX_EPOCHS, &es->patience) < 0 ||
        cfg_get_double(p, obj, path, "min_delta", false, 0.0, false, HUGE_VAL, CFG_RANGE_NONNEG,
                       &es->min_delta) < 0)
        return -1;
    if (!es->patience)
        return cfg_fail_missing(p, obj, path, "patience");
    if (!has_validation_data(cfg))
        return cfg_fail_at(p, cfg_key_loc(p, obj), "training.early_stopping needs validation data "
                           "(set data.validation_fraction or data.validation)");
    es->enabled = true;
    return 0;
}

int cfg_read(const cfg_parser *p, const cJSON *root, nn_config *cfg)
{
    static const char *const keys[] = {"seed", "data", "model", "loss", "huber_delta",
                                       "optimizer", "training", "checkpoint"};
    static const char *const train_keys[] = {"epochs", "batch_size", "shuffle",
                                             "early_stopping"};
    static const char *const ckpt_keys[] = {"path", "every_epochs", "keep_best"};
    const cJSON *train, *ckpt;
    int64_t seed = (int64_t)cfg->seed;

    if (cfg_check_members(p, root, "", keys, 8) < 0 ||
        cfg_get_int64(p, root, "", "seed", 0, CFG_MAX_SEED, &seed) < 0 ||
        parse_data(p, root, cfg) < 0 ||
        parse_model(p, root, cfg) < 0 ||
        parse_loss(p, root, cfg) < 0 ||
        parse_optimizer(p, root, cfg) < 0)
        return -1;
    cfg->seed = (uint64_t)seed;

    if (cfg_get_object(p, root, "", "training", &train) < 0)
        return -1;
    if (train && (cfg_check_members(p, train, "training", train_keys, 4) < 0 ||
                  get_int(p, train, "training", "epochs", 1, CFG_MAX_EPOCHS, &cfg->epochs) < 0 ||
                  get_int(p, train, "training", "batch_size", 1, CFG_MAX_BATCH,
                          &cfg->batch_size) < 0 ||
                  cfg_get_bool(p, train, "training", "shuffle", &cfg->shuffle) < 0 ||
                  parse_early_stopping(p, train, cfg) < 0))
        return -1;

    const char *path = NULL;
    if (cfg_get_object(p, root, "", "checkpoint", &ckpt) < 0)
        return -1;
    if (ckpt && (cfg_check_members(p, ckpt, "checkpoint", ckpt_keys, 3) < 0 ||
                 cfg_get_string(p, ckpt, "checkpoint", "path", &path) < 0 ||
                 get_int(p, ckpt, "checkpoint", "every_epochs", 0, CFG_MAX_EPOCHS,
                         &cfg->checkpoint_every) < 0 ||
                 cfg_get_bool(p, ckpt, "checkpoint", "keep_best", &cfg->keep_best) < 0))
        return -1;
    if (cfg->keep_best) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(ckpt, "keep_best");
        if (!has_validation_data(cfg))
            return cfg_fail_at(p, cfg_value_loc(p, v), "checkpoint.keep_best needs validation data "
                               "(set data.validation_fraction or data.validation)");
        /* a path may still come from --checkpoint: nn_train checks */
    }
    if (path) {
        cfg->checkpoint = strdup(path);
        cfg->checkpoint_path = cfg_resolve(p->dir, path);
        if (!cfg->checkpoint || !cfg->checkpoint_path)
            return cfg_fail_nomem(p);
    }
    return 0;
}


/* ---- public ---------------------------------------------------------------- */

void nn_config_defaults(nn_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->seed = 1;
    cfg->validation_fraction = 0.0;
    cfg->scale = NN_SCALE_AUTO;
    cfg->n_layers = 0;
    cfg->loss = NN_LOSS_MSE;
    cfg->huber_delta = 1.0;
    cfg->optimizer = NN_OPT_SGD;
    cfg->learning_rate = 0.1;
    cfg->momentum = 0.0;
    cfg->nesterov = false;
    cfg->beta1 = 0.9;
    cfg->beta2 = 0.999;
    cfg->eps = 1e-8;
    cfg->weight_decay = 0.0;
    cfg->clip_norm = 0.0;
    cfg->schedule = (nn_schedule_cfg){.name = NN_SCHED_NAME_CONSTANT, .gamma = 0.1,
                                      .step_epochs = 10, .min_lr = 0.0, .warmup_epochs = 0};
    cfg->epochs = 10;
    cfg->batch_size = 32;
    cfg->shuffle = true;
    cfg->early_stopping = (nn_early_stopping_cfg){.enabled = false, .patience = 0,
                                                  .min_delta = 0.0};
    cfg->checkpoint_every = 1;
    cfg->keep_best = false;
}



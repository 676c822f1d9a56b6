/* rules.c - the rules between keys: settings that are each valid alone but do
 * not fit together.  Each is a check row of the table (schema.c), called at
 * its place in the walk of its section, when the keys it needs are read; a
 * conflict is reported at whichever of its settings the user wrote later. */
#include "config/internal.h"

#include <stdio.h>

static const cJSON *member(const cJSON *obj, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(obj, key);
}

static bool has_validation_data(const nn_config *cfg)
{
    return cfg->has_validation || cfg->validation_fraction > 0;
}

/* data: a validation source replaces the fraction. */
int nn_cfg_check_validation_fraction(const nn_cfg_parser *p, const nn_cfg_sec *s)
{
    if (!member(s->obj, "validation") || s->cfg->validation_fraction <= 0)
        return 0;
    const cJSON *v = member(s->obj, "validation_fraction");
    char buf[CFG_CLIP + 8];
    return nn_cfg_fail_at(p, nn_cfg_value_loc(p, v), "\"data.validation_fraction\" must be 0 when "
                       "\"data.validation\" is given, found %s",
                       nn_cfg_found(p, v, true, buf, sizeof buf));
}

/* data: the test and validation shares come out of the same file. */
int nn_cfg_check_test_fraction(const nn_cfg_parser *p, const nn_cfg_sec *s)
{
    const nn_config *cfg = s->cfg;
    const cJSON *t = member(s->obj, "test_fraction");
    char buf[CFG_CLIP + 8];
    if (cfg->test_fraction > 0 && member(s->obj, "test"))
        return nn_cfg_fail_at(p, nn_cfg_later_loc(p, nn_cfg_value_loc(p, t), member(s->obj, "test")),
                           "\"data.test_fraction\" must be 0 when \"data.test\" is given, found %s",
                           nn_cfg_found(p, t, true, buf, sizeof buf));
    if (cfg->test_fraction + cfg->validation_fraction < 1)
        return 0;
    const cJSON *v = member(s->obj, "validation_fraction");
    char a[40], b[40];
    nn_cfg_fmt_double(a, sizeof a, cfg->test_fraction);
    nn_cfg_fmt_double(b, sizeof b, cfg->validation_fraction);
    return nn_cfg_fail_at(p, nn_cfg_later_loc(p, nn_cfg_value_loc(p, t), v),
                       "\"data.test_fraction\" (%s) and \"data.validation_fraction\" (%s) must "
                       "add up to less than 1: no training rows would be left", a, b);
}

/* data: target scaling is for regression; given for classes it is an error. */
int nn_cfg_check_scale_targets(const nn_cfg_parser *p, const nn_cfg_sec *s)
{
    if (s->cfg->regression)
        return 0;
    s->cfg->scale_targets = false;
    const cJSON *v = member(s->obj, "scale_targets");
    if (!v)
        return 0;
    return nn_cfg_fail_at(p, nn_cfg_key_loc(p, v), "\"data.scale_targets\" applies only to regression "
                       "(\"data.train\" with \"targets\"); this config's data has class labels");
}

/* A layer: a regression output has one unit per target. */
int nn_cfg_check_regression_units(const nn_cfg_parser *p, const nn_cfg_sec *s)
{
    const nn_layer_cfg *layer = s->base;
    /* n_targets 0: an NPY source, whose targets are counted when it is read */
    if (!s->out_layer || !s->cfg->regression || s->cfg->n_targets == 0 ||
        layer->units == s->cfg->n_targets)
        return 0;
    const cJSON *v = member(s->obj, "units");
    char buf[CFG_CLIP + 8];
    return nn_cfg_fail_at(p, nn_cfg_value_loc(p, v), "\"%s.units\" must equal the number of "
                       "data.train.targets (%d), found %s", s->path, s->cfg->n_targets,
                       nn_cfg_found(p, v, true, buf, sizeof buf));
}

/* A layer: softmax is row-wise over the output layer's units - only there,
 * over at least two units, and only for classes. */
int nn_cfg_check_softmax(const nn_cfg_parser *p, const nn_cfg_sec *s)
{
    const nn_layer_cfg *layer = s->base;
    if (layer->act != NN_ACT_SOFTMAX)
        return 0;
    const cJSON *act = member(s->obj, "activation");
    if (!s->out_layer)
        return nn_cfg_fail_at(p, nn_cfg_value_loc(p, act), "\"%s.activation\": softmax is only allowed "
                           "on the output layer", s->path);
    if (s->cfg->regression)
        return nn_cfg_fail_at(p, nn_cfg_value_loc(p, act), "\"%s.activation\": a softmax output layer "
                           "is for classes, but \"data.train\" has targets (regression)", s->path);
    if (layer->units < 2)
        return nn_cfg_fail_at(p, nn_cfg_later_loc(p, nn_cfg_value_loc(p, act), member(s->obj, "units")),
                           "\"%s.activation\": softmax needs at least 2 units (over one unit it "
                           "is the constant 1), found %d; for a binary classifier with one "
                           "output unit use \"sigmoid\" with loss \"binary_cross_entropy\"",
                           s->path, layer->units);
    return 0;
}

/* The root: the loss must suit the output layer and the kind of problem;
 * reported at the later of the "loss" value and the last layer's
 * "activation" value (either may be a default). */
int nn_cfg_check_loss_pairing(const nn_cfg_parser *p, const nn_cfg_sec *s)
{
    const nn_config *cfg = s->cfg;
    const cJSON *layers = member(member(s->obj, "model"), "layers");
    const cJSON *act = member(cJSON_GetArrayItem(layers, cfg->n_layers - 1), "activation");
    const cJSON *loss = member(s->obj, "loss");
    nn_act out = cfg->layers[cfg->n_layers - 1].act;
    const char *ln = nn_loss_name(cfg->loss), *an = nn_act_name(out);
    bool ce = cfg->loss == NN_LOSS_CROSS_ENTROPY, bce = cfg->loss == NN_LOSS_BINARY_CROSS_ENTROPY;
    nn_cfg_loc both = loss ? nn_cfg_later_loc(p, nn_cfg_value_loc(p, loss), act) : nn_cfg_value_loc(p, act);
    if ((ce || bce) && cfg->regression)
        return nn_cfg_fail_at(p, nn_cfg_value_loc(p, loss), "loss \"%s\" is a classification loss, but "
                           "\"data.train\" has targets (regression): use \"mse\", \"mae\" or "
                           "\"huber\"", ln);
    int K = cfg->layers[cfg->n_layers - 1].units;
    if (ce && K == 1)
        return nn_cfg_fail_at(p, both, "loss \"cross_entropy\" needs a softmax output layer of 2 or "
                           "more units, and the output layer has one unit: for a binary "
                           "classifier with one output unit use loss \"binary_cross_entropy\" "
                           "(with a sigmoid output), or give the output layer 2 units");
    if (ce && out != NN_ACT_SOFTMAX)
        return nn_cfg_fail_at(p, both, "loss \"cross_entropy\" needs a softmax output layer (the "
                           "last layer's activation is \"%s\")", an);
    if (bce && out != NN_ACT_SIGMOID)
        return nn_cfg_fail_at(p, both, "loss \"binary_cross_entropy\" needs a sigmoid output layer, "
                           "whose outputs lie in (0, 1) (the last layer's activation is \"%s\")",
                           an);
    if (out == NN_ACT_SOFTMAX && !ce)
        return nn_cfg_fail_at(p, both, "a softmax output layer needs loss \"cross_entropy\": with "
                           "\"%s\" the outputs, tied to sum to 1, learn through the softmax "
                           "Jacobian diag(p) - p p^T, which vanishes as they saturate; "
                           "cross-entropy cancels it (gradient p - y) and is the pairing nntrain "
                           "supports", ln);
    return 0;
}

/* optimizer: Nesterov's look-ahead follows the momentum. */
int nn_cfg_check_nesterov(const nn_cfg_parser *p, const nn_cfg_sec *s)
{
    if (!s->cfg->nesterov || s->cfg->momentum != 0.0)
        return 0;
    const cJSON *nesterov = member(s->obj, "nesterov"), *momentum = member(s->obj, "momentum");
    return nn_cfg_fail_at(p, nn_cfg_later_loc(p, nn_cfg_value_loc(p, nesterov), momentum),
                       "\"optimizer.nesterov\" needs \"optimizer.momentum\" greater than 0 "
                       "(Nesterov's look-ahead follows the momentum; with 0 there is none)");
}

/* optimizer.schedule: the cosine ends below the rate it starts from. */
int nn_cfg_check_min_lr(const nn_cfg_parser *p, const nn_cfg_sec *s)
{
    const cJSON *min_lr = member(s->obj, "min_lr");
    double lr = s->cfg->learning_rate;
    if (!min_lr || s->cfg->schedule.min_lr < lr)
        return 0;
    const cJSON *lr_value = member(member(p->root, "optimizer"), "learning_rate");
    char rate[40], buf[CFG_CLIP + 8];
    nn_cfg_fmt_double(rate, sizeof rate, lr);
    return nn_cfg_fail_at(p, nn_cfg_later_loc(p, nn_cfg_value_loc(p, min_lr), lr_value), "\"%s.min_lr\" "
                       "must be below \"optimizer.learning_rate\" (%s), found %s", s->path, rate,
                       nn_cfg_found(p, min_lr, true, buf, sizeof buf));
}

/* training: batch normalization normalises by the statistics of the batch,
 * which one row does not have; reported at the later of the batch size and
 * the first "batch_norm": true. */
int nn_cfg_check_batch_norm_batch(const nn_cfg_parser *p, const nn_cfg_sec *s)
{
    const nn_config *cfg = s->cfg;
    int i = 0;
    while (i < cfg->n_layers && !cfg->layers[i].batch_norm)
        i++;
    if (cfg->batch_size >= 2 || i == cfg->n_layers)
        return 0;
    const cJSON *layers = member(member(p->root, "model"), "layers");
    const cJSON *bn = member(cJSON_GetArrayItem(layers, i), "batch_norm");
    nn_cfg_loc at = nn_cfg_later_loc(p, nn_cfg_value_loc(p, member(s->obj, "batch_size")), bn);
    return nn_cfg_fail_at(p, at, "\"training.batch_size\" must be at least 2 with batch "
                       "normalization (in \"model.layers.%d\"): a batch of one row has no batch "
                       "statistics", i);
}

/* training.slices: the tree of the slices' sums is a balanced binary one. */
int nn_cfg_check_slices(const nn_cfg_parser *p, const nn_cfg_sec *s)
{
    int n = s->cfg->slices;
    if ((n & (n - 1)) == 0)
        return 0;
    char buf[CFG_CLIP + 8];
    const cJSON *v = member(s->obj, "slices");
    return nn_cfg_fail_at(p, nn_cfg_value_loc(p, v), "\"training.slices\" must be a power of two (1, 2, "
                       "4, ..., 64), found %s", nn_cfg_found(p, v, true, buf, sizeof buf));
}

/* training.early_stopping watches the validation loss. */
int nn_cfg_check_early_stopping(const nn_cfg_parser *p, const nn_cfg_sec *s)
{
    if (has_validation_data(s->cfg))
        return 0;
    return nn_cfg_fail_at(p, nn_cfg_key_loc(p, s->obj), "training.early_stopping needs validation data "
                       "(set data.validation_fraction or data.validation)");
}

/* checkpoint: the best checkpoint is the one of the lowest validation loss.
 * A path may still come from --checkpoint: nn_train checks that. */
int nn_cfg_check_keep_best(const nn_cfg_parser *p, const nn_cfg_sec *s)
{
    if (!s->cfg->keep_best || has_validation_data(s->cfg))
        return 0;
    return nn_cfg_fail_at(p, nn_cfg_value_loc(p, member(s->obj, "keep_best")), "checkpoint.keep_best "
                       "needs validation data (set data.validation_fraction or data.validation)");
}

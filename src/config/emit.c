/* emit.c - the effective config as canonical JSON text.
 *
 * Numbers are written by hand (cJSON_CreateRaw): cJSON's own printer checks
 * its 15-digit form only approximately, so 0.30000000000000004 would come
 * back as 0.3 and a seed near 2^53 would lose its last digits. */
#include "config/internal.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

void cfg_fmt_double(char *buf, size_t n, double v)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
}

static bool add_raw_int(cJSON *obj, const char *key, int64_t v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRId64, v);
    return cJSON_AddRawToObject(obj, key, buf) != NULL;
}

/* The shortest form that reads back as the same double (cfg_fmt_double). */
static bool add_raw_double(cJSON *obj, const char *key, double v)
{
    char buf[40] = "null";
    if (isfinite(v))
        cfg_fmt_double(buf, sizeof buf, v);
    return cJSON_AddRawToObject(obj, key, buf) != NULL;
}


static bool add_layer(cJSON *layers, const nn_layer_cfg *layer, bool out_layer)
{
    cJSON *l = cJSON_CreateObject();
    if (!l || !cJSON_AddItemToArray(layers, l)) {
        cJSON_Delete(l);
        return false;
    }
    bool ok = add_raw_int(l, "units", layer->units) &&
              cJSON_AddStringToObject(l, "activation", nn_act_name(layer->act));
    if (ok && (layer->act == NN_ACT_LEAKY_RELU || layer->act == NN_ACT_ELU))
        ok = add_raw_double(l, "alpha", layer->alpha);
    ok = ok && cJSON_AddStringToObject(l, "init", nn_init_name(layer->init));
    if (ok && !out_layer)
        ok = add_raw_double(l, "dropout", layer->dropout);
    return ok;
}

/* The optimizer with the keys of its kind, and its schedule with the keys of
 * the schedule's kind. */
static bool add_optimizer(cJSON *root, const nn_config *cfg)
{
    cJSON *opt = cJSON_AddObjectToObject(root, "optimizer");
    bool ok = opt && cJSON_AddStringToObject(opt, "name", nn_opt_name(cfg->optimizer)) &&
              add_raw_double(opt, "learning_rate", cfg->learning_rate);
    if (ok && cfg->optimizer == NN_OPT_SGD)
        ok = add_raw_double(opt, "momentum", cfg->momentum) &&
             cJSON_AddBoolToObject(opt, "nesterov", cfg->nesterov);
    else if (ok)
        ok = add_raw_double(opt, "beta1", cfg->beta1) && add_raw_double(opt, "beta2", cfg->beta2) &&
             add_raw_double(opt, "eps", cfg->eps);
    ok = ok && add_raw_double(opt, "weight_decay", cfg->weight_decay) &&
         add_raw_double(opt, "clip_norm", cfg->clip_norm);

    const nn_schedule_cfg *s = &cfg->schedule;
    cJSON *sched = ok ? cJSON_AddObjectToObject(opt, "schedule") : NULL;
    ok = sched && cJSON_AddStringToObject(sched, "name", nn_sched_name_name(s->name));
    if (ok && (s->name == NN_SCHED_NAME_STEP || s->name == NN_SCHED_NAME_EXPONENTIAL))
        ok = add_raw_double(sched, "gamma", s->gamma);
    if (ok && s->name == NN_SCHED_NAME_STEP)
        ok = add_raw_int(sched, "step_epochs", s->step_epochs);
    if (ok && s->name == NN_SCHED_NAME_COSINE)
        ok = add_raw_double(sched, "min_lr", s->min_lr);
    return ok && add_raw_int(sched, "warmup_epochs", s->warmup_epochs);
}

char *nn_config_to_json(const nn_config *cfg)
{
    cJSON *root = cJSON_CreateObject();
    char seed[32];
    snprintf(seed, sizeof seed, "%" PRIu64, cfg->seed);
    bool ok = root && cJSON_AddRawToObject(root, "seed", seed);

    cJSON *data = ok ? cJSON_AddObjectToObject(root, "data") : NULL;
    ok = data != NULL;
    if (ok && cfg->has_train)
        ok = cfg_add_source(data, "train", &cfg->train);
    if (ok && cfg->has_test)
        ok = cfg_add_source(data, "test", &cfg->test);
    if (ok && cfg->has_validation)
        ok = cfg_add_source(data, "validation", &cfg->validation);
    ok = ok && add_raw_double(data, "validation_fraction", cfg->validation_fraction) &&
         cJSON_AddStringToObject(data, "scale", nn_scale_name(cfg->scale));

    cJSON *model = ok ? cJSON_AddObjectToObject(root, "model") : NULL;
    cJSON *layers = model ? cJSON_AddArrayToObject(model, "layers") : NULL;
    ok = layers != NULL;
    int n = cfg->n_layers < NN_MAX_LAYERS ? cfg->n_layers : NN_MAX_LAYERS;
    for (int i = 0; ok && i < n; i++)
        ok = add_layer(layers, &cfg->layers[i], i == n - 1);
    ok = ok && cJSON_AddStringToObject(root, "loss", nn_loss_name(cfg->loss));
    if (ok && cfg->loss == NN_LOSS_HUBER)
        ok = add_raw_double(root, "huber_delta", cfg->huber_delta);
    ok = ok && add_optimizer(root, cfg);

    cJSON *train = ok ? cJSON_AddObjectToObject(root, "training") : NULL;
    ok = train && add_raw_int(train, "epochs", cfg->epochs) &&
         add_raw_int(train, "batch_size", cfg->batch_size) &&
         cJSON_AddBoolToObject(train, "shuffle", cfg->shuffle);
    if (ok && cfg->early_stopping.enabled) {
        cJSON *es = cJSON_AddObjectToObject(train, "early_stopping");
        ok = es && add_raw_int(es, "patience", cfg->early_stopping.patience) &&
             add_raw_double(es, "min_delta", cfg->early_stopping.min_delta);
    }

    cJSON *ckpt = ok ? cJSON_AddObjectToObject(root, "checkpoint") : NULL;
    ok = ckpt != NULL;
    if (ok && cfg->checkpoint)
        ok = cJSON_AddStringToObject(ckpt, "path", cfg->checkpoint) != NULL;
    ok = ok && add_raw_int(ckpt, "every_epochs", cfg->checkpoint_every) &&
         cJSON_AddBoolToObject(ckpt, "keep_best", cfg->keep_best);

    char *text = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    return text;
}

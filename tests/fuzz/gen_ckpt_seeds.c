/* gen_ckpt_seeds.c - writes small valid checkpoints, made with nn_ckpt_encode,
 * into the folder given as argv[1]: the seeds of fuzz_checkpoint.
 *
 * `make fuzz` / `make fuzz-check` run it into the writable corpus before
 * fuzzing, so the harness always starts from checkpoints of the current
 * format version even when the committed seeds are of an older one; the
 * committed copies in tests/fuzz/corpus/fuzz_checkpoint/ came from here, beside
 * two format-3 files (copies of tests/fixtures/v3/fruit-e3.ckpt and
 * wave-int.ckpt) that keep the format-3 reader fuzzed.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint/checkpoint.h"
#include "math/activation.h"
#include "nn/types.h"
#include "util/error.h"

static const char *g_dir;

static int save(const char *file, const nn_ckpt *c)
{
    unsigned char *buf;
    size_t n;
    nn_error err = {0};
    if (nn_ckpt_encode(c, &buf, &n, file, &err) != 0) {
        fprintf(stderr, "gen_ckpt_seeds: %s\n", err.msg);
        return -1;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", g_dir, file);
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(buf, 1, n, f) == n;
    if (f && fclose(f) != 0)
        ok = 0;
    free(buf);
    if (!ok) {
        perror(path);
        return -1;
    }
    return 0;
}

/* Parameters 0.01 * k, so every value differs (at most 64 of them). */
static void fill_params(nn_ckpt *c, float *params)
{
    size_t n = nn_arch_param_count(&c->arch);
    for (size_t k = 0; k < n; k++)
        params[k] = 0.01f * (float)k - 0.5f;
    c->params = params;
    c->n_params = n;
}

/* A checkpoint of dense layers units[l] with activations act[l]. */
static void base(nn_ckpt *c, int n_inputs, int n_layers, const int *units, const nn_act *act)
{
    memset(c, 0, sizeof *c);
    c->version = "0.1.0";
    nn_layer_cfg layers[8];
    memset(layers, 0, sizeof layers);
    for (int l = 0; l < n_layers; l++) {
        layers[l].units = units[l];
        layers[l].act = act[l];
        layers[l].alpha = nn_act_default_alpha(act[l]);
    }
    nn_error err = {0};
    if (nn_arch_from_layers(&c->arch, n_inputs, layers, n_layers, &err) != 0) {
        fprintf(stderr, "gen_ckpt_seeds: %s\n", err.msg);
        exit(1);
    }
    c->loss = NN_LOSS_MSE;
    c->optimizer = NN_OPT_SGD;
    c->scale = NN_SCALE_NONE;
    c->epoch = 3;
    c->step = 12;
    c->rng[0] = 1, c->rng[1] = 2, c->rng[2] = 3, c->rng[3] = 4;
    c->seed = 1;
    c->train_loss = 0.25, c->train_accuracy = 0.5, c->val_loss = 0.3, c->val_accuracy = 0.4;
    c->layout.label_col = -1;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_ckpt_seeds DIR\n");
        return 2;
    }
    g_dir = argv[1];
    float params[256];
    int rc = 0;

    /* IDX classification: 4 inputs, 3 sigmoid, 2 sigmoid; unit scaling. */
    {
        nn_ckpt c;
        const int units[] = {3, 2};
        const nn_act act[] = {NN_ACT_SIGMOID, NN_ACT_SIGMOID};
        base(&c, 4, 2, units, act);
        c.config_json = "{\"seed\":1,\"data\":{\"train\":{\"images\":\"i.idx\","
                        "\"labels\":\"l.idx\"}},\"model\":{\"layers\":[{\"units\":3},"
                        "{\"units\":2}]}}";
        c.n_classes = 2;
        c.scale = NN_SCALE_UNIT;
        float shift[4] = {0, 0, 0, 0}, mult[4] = {1 / 255.f, 1 / 255.f, 1 / 255.f, 1 / 255.f};
        c.shift = shift;
        c.mult = mult;
        fill_params(&c, params);
        /* the metrics of its 3 epochs (HIST) */
        static const char *const names[] = {"train_loss", "train_accuracy", "val_loss",
                                            "val_accuracy"};
        nn_error err = {0};
        rc |= nn_history_init(&c.hist, names, 4, &err);
        for (int e = 1; e <= 3; e++) {
            double v[4] = {1.0 / e, 0.25 * e, 1.5 / e, e == 2 ? NAN : 0.2 * e};
            rc |= nn_history_add(&c.hist, e, v, &err);
        }
        rc |= save("idx-classes.ckpt", &c);
        nn_history_free(&c.hist);
    }

    /* CSV classification with a header and class names; standard scaling;
     * an interrupted epoch. */
    {
        nn_ckpt c;
        const int units[] = {3};
        const nn_act act[] = {NN_ACT_SIGMOID};
        base(&c, 2, 1, units, act);
        c.config_json = "{\"data\":{\"train\":{\"path\":\"f.csv\",\"label\":\"fruit\"}},"
                        "\"model\":{\"layers\":[{\"units\":3}]}}";
        c.n_classes = 3;
        char *classes[] = {"apple", "kiwi", "pear"};
        c.class_names = classes;
        char *names[] = {"w", "fruit", "h"};
        c.layout = (nn_data_layout){.format = NN_FORMAT_CSV, .header = true, .delimiter = ',',
                                    .n_columns = 3, .names = names, .label_col = 1};
        c.scale = NN_SCALE_STANDARD;
        float shift[2] = {1.5f, -2}, mult[2] = {0.5f, 2};
        c.shift = shift;
        c.mult = mult;
        c.batch = 2;
        c.epoch_rng[0] = 9;
        c.acc_loss_sum = 1.25;
        c.acc_n = 8;
        c.acc_correct = 5;
        fill_params(&c, params);
        rc |= save("csv-class-names.ckpt", &c);
    }

    /* CSV regression: 2 targets, whitespace-delimited, no header; the
     * regression accumulators of an interrupted epoch. */
    {
        nn_ckpt c;
        const int units[] = {4, 2};
        const nn_act act[] = {NN_ACT_SIGMOID, NN_ACT_IDENTITY};
        base(&c, 3, 2, units, act);
        c.config_json = "{\"data\":{\"train\":{\"path\":\"w.txt\",\"targets\":[0,-1],"
                        "\"delimiter\":\"whitespace\",\"header\":false}},"
                        "\"model\":{\"layers\":[{\"units\":4},{\"units\":2}]}}";
        long tcols[] = {0, 4};
        c.layout = (nn_data_layout){.format = NN_FORMAT_CSV, .n_targets = 2, .header = false,
                                    .delimiter = -1, .n_columns = 5, .label_col = -1,
                                    .target_cols = tcols};
        c.batch = 1;
        c.acc_n = 4;
        c.acc_k = 2;
        double reg[8] = {0.5, 1, 0.25, 0.125, -1, 2, 3, 4};
        c.acc_reg = reg;
        fill_params(&c, params);
        rc |= save("csv-regression.ckpt", &c);
    }
    /* Adam with its state, leaky_relu and identity layers, huber loss,
     * early-stopping state (huber needs an output other than softmax, whose
     * loss is cross_entropy: a checkpoint obeys the config's pairings). */
    {
        nn_ckpt c;
        const int units[] = {3, 2};
        const nn_act act[] = {NN_ACT_LEAKY_RELU, NN_ACT_IDENTITY};
        base(&c, 2, 2, units, act);
        c.config_json = "{\"data\":{\"train\":{\"images\":\"i\",\"labels\":\"l\"}},"
                        "\"model\":{\"layers\":[{\"units\":3,\"activation\":\"leaky_relu\","
                        "\"alpha\":0.1},{\"units\":2,\"activation\":\"identity\"}]},"
                        "\"loss\":\"huber\",\"optimizer\":{\"name\":\"adam\"}}";
        c.n_classes = 2;
        c.loss = NN_LOSS_HUBER;
        c.huber_delta = 1.5;
        c.optimizer = NN_OPT_ADAM;
        c.arch.layers[0].alpha = 0.1f;
        c.best_val_loss = 0.2;
        c.best_epoch = 2;
        c.bad_epochs = 1;
        fill_params(&c, params);
        float state[2 * 17 + 1];
        for (size_t k = 0; k < 2 * c.n_params + 1 && k < sizeof state / sizeof *state; k++)
            state[k] = 0.001f * (float)k;
        c.opt_state = state;
        c.n_opt_state = 2 * c.n_params + 1;
        rc |= save("adam-huber.ckpt", &c);
    }
    /* A batch-normalised hidden layer: a dense layer without bias, the
     * normalisation with its momentum and eps, and its running statistics. */
    {
        nn_ckpt c;
        const int units[] = {3, 2};
        const nn_act act[] = {NN_ACT_RELU, NN_ACT_SIGMOID};
        base(&c, 2, 2, units, act);
        nn_layer_cfg layers[2] = {{.units = 3, .act = NN_ACT_RELU, .batch_norm = true,
                                   .batch_norm_momentum = 0.1, .batch_norm_eps = 1e-5},
                                  {.units = 2, .act = NN_ACT_SIGMOID}};
        nn_error err = {0};
        if (nn_arch_from_layers(&c.arch, 2, layers, 2, &err) != 0)
            return 1;
        c.config_json = "{\"model\":{\"layers\":[{\"units\":3,\"activation\":\"relu\","
                        "\"batch_norm\":true},{\"units\":2}]}}";
        c.n_classes = 2;
        fill_params(&c, params);
        float running[6] = {0.5f, -0.25f, 1, 1.5f, 0.75f, 2};
        c.state = running;
        c.n_state = 6;
        rc |= save("batch-norm.ckpt", &c);
    }
    return rc ? 1 : 0;
}

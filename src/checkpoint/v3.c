/* v3.c - reading checkpoint format 3, written by nntrain 0.1.0 (checkpoint.h,
 * internal.h).  Its sections have no flags, each must appear once and no
 * other may:
 *   VERS, CONF  text, as in format 4
 *   ARCH  u32 n_inputs, u32 n_layers, n_layers x (u32 units, u32 act),
 *         u32 loss, u32 optimizer, u32 n_classes       L = 20 + 8 n_layers
 *   SCAL, PROG, DATA, EPOC  as in format 4 (fields.c)
 *   PARM, OPTS  u64 count, count f32
 *   TRAI  u32 n_layers, n_layers x f32 alpha, f64 huber_delta,
 *         f64 best_val_loss, i64 best_epoch, i64 bad_epochs, u32 stopped
 *                                                       L = 40 + 4 n_layers
 * Every layer is dense with a bias: the architecture is built from the
 * units and activations as a config's layer list would be. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "checkpoint/internal.h"

enum { S_VERS, S_CONF, S_ARCH, S_SCAL, S_PROG, S_PARM, S_OPTS, S_DATA, S_EPOC, S_TRAI, S_COUNT };
static const char tags[S_COUNT][5] = {"VERS", "CONF", "ARCH", "SCAL", "PROG",
                                      "PARM", "OPTS", "DATA", "EPOC", "TRAI"};

/* Each known section once, no other. */
static int sort_sections(const nn_ckpt_section *secs, size_t count, const char *name,
                         nn_bytes_in body[S_COUNT], nn_error *err)
{
    bool seen[S_COUNT] = {false};
    char tag[16];
    for (size_t i = 0; i < count; i++) {
        int s = 0;
        while (s < S_COUNT && memcmp(secs[i].tag, tags[s], 4) != 0)
            s++;
        nn_ckpt_tag_text(secs[i].tag, tag);
        if (s == S_COUNT)
            return nn_ckpt_malformed(err, name, "unknown section %s", tag);
        if (seen[s])
            return nn_ckpt_malformed(err, name, "section %s appears twice", tag);
        seen[s] = true;
        body[s] = secs[i].body;
    }
    for (int s = 0; s < S_COUNT; s++)
        if (!seen[s])
            return nn_ckpt_malformed(err, name, "section \"%s\" is missing", tags[s]);
    return 0;
}

/* A u32 that must fit an int, or -1 (reported by the checks). */
static int get_int(nn_bytes_in *r)
{
    uint32_t u = nn_get_u32(r);
    return u > INT_MAX ? -1 : (int)u;
}

/* ARCH: the dense stack, loss, optimizer and class count; the architecture
 * is built here (alpha follows from TRAI). */
static int get_arch(nn_bytes_in *r, nn_ckpt *c, const char *name, nn_error *err)
{
    if (r->n < 8)
        return nn_ckpt_malformed(err, name, "section \"ARCH\" is %zu bytes, too short", r->n);
    int n_inputs = get_int(r);
    if (n_inputs < 1 || n_inputs > NN_MAX_FEATURES)
        return nn_ckpt_malformed(err, name, "n_inputs not in 1..%d", NN_MAX_FEATURES);
    uint32_t nl = nn_get_u32(r);
    if (nl < 1 || nl > NN_MAX_LAYERS)
        return nn_ckpt_malformed(err, name, "n_layers %lu not in 1..%d", (unsigned long)nl,
                                 NN_MAX_LAYERS);
    if (r->n != 20 + 8 * (size_t)nl)
        return nn_ckpt_malformed(err, name, "section \"ARCH\" is %zu bytes, %zu expected for %d "
                                 "layers", r->n, 20 + 8 * (size_t)nl, (int)nl);
    nn_layer_cfg layers[NN_MAX_LAYERS];
    memset(layers, 0, sizeof layers);
    for (uint32_t l = 0; l < nl; l++) {
        layers[l].units = get_int(r);
        layers[l].act = (nn_act)get_int(r);
        layers[l].init = NN_INIT_GLOROT;
        if (layers[l].units < 1 || layers[l].units > NN_MAX_UNITS)
            return nn_ckpt_malformed(err, name, "layer %lu has %d units, not in 1..%d",
                                     (unsigned long)l + 1, layers[l].units, NN_MAX_UNITS);
        if (strcmp(nn_act_name(layers[l].act), "?") == 0)
            return nn_ckpt_malformed(err, name, "layer %lu has unknown activation %d",
                                     (unsigned long)l + 1, (int)layers[l].act);
    }
    c->loss = (nn_loss)get_int(r);
    c->optimizer = (nn_opt)get_int(r);
    c->n_classes = get_int(r);
    if (c->n_classes < 0 || c->n_classes > NN_MAX_UNITS)
        return nn_ckpt_malformed(err, name, "n_classes %d not in 0..%d", c->n_classes,
                                 NN_MAX_UNITS);
    nn_error why = {0};
    if (nn_arch_from_layers(&c->arch, n_inputs, layers, (int)nl, &why) != 0)
        return nn_ckpt_malformed(err, name, "%s", why.msg);
    return 0;
}

/* TRAI: alpha per layer, the huber delta, early stopping. */
static int get_trai(nn_bytes_in *r, nn_ckpt *c, const char *name, nn_error *err)
{
    int nl = c->arch.n_layers;
    if (r->n != 40 + 4 * (size_t)nl || nn_get_u32(r) != (uint32_t)nl)
        return nn_ckpt_malformed(err, name, "section \"TRAI\" does not match %d layers", nl);
    for (int l = 0; l < nl; l++)
        c->arch.layers[l].alpha = nn_get_f32(r);
    c->huber_delta = nn_get_f64(r);
    return nn_ckpt_get_stopping(r, c, name, err);
}

int nn_ckpt_decode_v3(const nn_ckpt_section *secs, size_t count, const char *name, nn_ckpt *c,
                      nn_error *err)
{
    nn_bytes_in b[S_COUNT];
    if (sort_sections(secs, count, name, b, err) != 0)
        return -1;
    if (get_arch(&b[S_ARCH], c, name, err) != 0 ||
        nn_ckpt_get_scal(&b[S_SCAL], c, name, err) != 0 ||
        nn_ckpt_get_prog(&b[S_PROG], c, name, err) != 0 ||
        nn_ckpt_get_floats(&b[S_PARM], &c->params, &c->n_params, "PARM", name, err) != 0 ||
        nn_ckpt_get_floats(&b[S_OPTS], &c->opt_state, &c->n_opt_state, "OPTS", name, err) != 0 ||
        nn_ckpt_get_data(&b[S_DATA], c, name, err) != 0 ||
        nn_ckpt_get_epoc(&b[S_EPOC], c, name, err) != 0 ||
        get_trai(&b[S_TRAI], c, name, err) != 0 ||
        nn_ckpt_get_text(&b[S_VERS], &c->version, "version", name, err) != 0 ||
        nn_ckpt_get_text(&b[S_CONF], &c->config_json, "config", name, err) != 0)
        return -1;
    c->format = 3;
    char what[256];
    if (nn_ckpt_check(c, what, sizeof what) != 0)
        return nn_ckpt_malformed(err, name, "%s", what);
    return 0;
}

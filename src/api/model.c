/* model.c - a trained model from C: open a checkpoint, describe it, predict
 * (include/nntrain.h), and the process-wide services it uses.
 *
 * The checkpoint is decoded once and stays read-only.  nn_model keeps the
 * outputs of its last forward pass inside itself, so a prediction takes a
 * workspace (a model of the checkpoint for NN_PREDICT_BATCH rows, and a
 * batch of scaled inputs) from the handle's list of idle ones under its
 * mutex, or builds one, and gives it back when done: threads predicting at
 * once each use their own, and the handle keeps as many as ever ran at the
 * same time.
 *
 * The numbers are those of `nntrain --predict --scores`: rows scaled as in
 * training, batches of NN_PREDICT_BATCH rows (the batch a file is read in;
 * a product's rounding may depend on its row count), the moving average of
 * the weights when the checkpoint has one (nn_ckpt_model), the products in
 * the checkpoint's precision, and regression outputs back in the targets'
 * units.  The kernels of that precision are chosen on the calling thread
 * only (nn_kernels_thread_use), so models of both precisions can predict
 * at the same time and the process's own selection is left alone. */
#include "api/api.h"

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checkpoint/checkpoint.h"
#include "data/batch.h"
#include "eval/predict.h"
#include "kernels/kernels.h"
#include "nn/loss.h"
#include "pool/pool.h"

typedef struct {
    nn_model *m;  /* for NN_PREDICT_BATCH rows */
    float *X;     /* (NN_PREDICT_BATCH, n_inputs) scaled rows */
} workspace;

struct nntrain_model {
    nn_ckpt ck;
    int n_outputs;
    int n_dense;
    pthread_mutex_t mu;     /* guards idle */
    workspace *idle;
    int n_idle, cap_idle;
};

/* ---- process-wide services ------------------------------------------------ */

/* The kernel family per precision: -1 until chosen, by
 * nntrain_select_kernels or on the first prediction (NNTRAIN_ISA when it
 * names a family of that precision, else the best). */
static pthread_mutex_t kernels_mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_int family_of[2] = {-1, -1};
/* 1 where nntrain_select_kernels chose the family (training and evaluation
 * then take it too, nn_api_family) */
static atomic_int chosen[2];

static int resolve_locked(nn_precision prec, const char *family, nn_error *e)
{
    return nn_kernels_resolve(prec, family, e);
}

/* The family predictions in precision prec use; -1 with *e. */
static int kernels_for(nn_precision prec, nn_error *e)
{
    int f = atomic_load(&family_of[prec]);
    if (f >= 0)
        return f;
    pthread_mutex_lock(&kernels_mu);
    f = atomic_load(&family_of[prec]);
    if (f < 0) {
        const char *isa = getenv("NNTRAIN_ISA");
        nn_error ignored = {0};
        if (isa && *isa)
            f = resolve_locked(prec, isa, &ignored);
        if (f < 0)
            f = resolve_locked(prec, NULL, e);
        if (f >= 0)
            atomic_store(&family_of[prec], f);
    }
    pthread_mutex_unlock(&kernels_mu);
    return f;
}

nntrain_status nntrain_select_kernels(const char *precision, const char *family,
                                      nntrain_error *err)
{
    if (!precision)
        return nn_api_argument(err, "nntrain_select_kernels: precision is NULL");
    int p = nn_precision_from_name(precision);
    if (p < 0)
        return nn_api_argument(err, "nntrain_select_kernels: precision '%s': expected fp32 or "
                               "bf16", precision);
    nn_error e = {0};
    pthread_mutex_lock(&kernels_mu);
    int f = resolve_locked((nn_precision)p, family, &e);
    if (f >= 0) {
        atomic_store(&family_of[p], f);
        atomic_store(&chosen[p], 1);
    }
    pthread_mutex_unlock(&kernels_mu);
    if (f < 0)
        return nn_api_fail(err, &e, NNTRAIN_ERR_ARGUMENT);
    return nn_api_ok(err);
}

const char *nn_api_family(nn_precision prec)
{
    if ((unsigned)prec > 1 || !atomic_load(&chosen[prec]))
        return getenv("NNTRAIN_ISA");
    return nn_kernels_family_name(atomic_load(&family_of[prec]));
}

nntrain_status nntrain_set_threads(int n, nntrain_error *err)
{
    if (n < 0 || n > 1024)
        return nn_api_argument(err, "nntrain_set_threads: %d threads (expected 0..1024)", n);
    if (n == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        n = cores < 1 ? 1 : cores > 1024 ? 1024 : (int)cores;
    }
    nn_pool_set_threads(n);
    return nn_api_ok(err);
}

/* ---- open and close ----------------------------------------------------- */

/* The status of a failed decode, from its message (checkpoint.h lists them). */
static nntrain_status decode_status(const nn_error *e)
{
    if (strstr(e->msg, "out of memory"))
        return NNTRAIN_ERR_NOMEM;
    if (strstr(e->msg, "required but unknown"))
        return NNTRAIN_ERR_VERSION;
    return NNTRAIN_ERR_FORMAT;
}

static nntrain_status open_decoded(nntrain_model *m, nntrain_model **out, nntrain_error *err)
{
    nn_error e = {0};
    /* a model can be built from it (the counts fit its architecture) */
    nn_model *probe = nn_ckpt_model(&m->ck, 1, &e);
    if (!probe) {
        nntrain_status s = strstr(e.msg, "out of memory") ? NNTRAIN_ERR_NOMEM
                                                          : NNTRAIN_ERR_FORMAT;
        nn_ckpt_free(&m->ck);
        free(m);
        return nn_api_fail(err, &e, s);
    }
    m->n_outputs = nn_model_outputs(probe);
    nn_model_free(probe);
    for (int l = 0; l < m->ck.arch.n_layers; l++)
        m->n_dense += m->ck.arch.layers[l].kind == NN_LAYER_DENSE;
    pthread_mutex_init(&m->mu, NULL);
    *out = m;
    return nn_api_ok(err);
}

static nntrain_status open_bytes(const void *data, size_t size, const char *name,
                                 nntrain_model **out, nntrain_error *err)
{
    nntrain_model *m = calloc(1, sizeof *m);
    if (!m) {
        nn_error e = {0};
        nn_error_set(&e, NN_EXIT_RUNTIME, "%s: out of memory", name);
        return nn_api_fail(err, &e, NNTRAIN_ERR_NOMEM);
    }
    nn_error e = {0};
    if (nn_ckpt_decode(data, size, name, &m->ck, &e) < 0) {
        nn_ckpt_free(&m->ck);
        free(m);
        return nn_api_fail(err, &e, decode_status(&e));
    }
    return open_decoded(m, out, err);
}

nntrain_status nntrain_open(const char *path, nntrain_model **out, nntrain_error *err)
{
    if (out)
        *out = NULL;
    if (!path || !out)
        return nn_api_argument(err, "nntrain_open: %s is NULL", !path ? "path" : "out");
    unsigned char *bytes = NULL;
    uint64_t n = 0;
    nn_error e = {0};
    if (nn_ckpt_read_bytes(path, &bytes, &n, &e) < 0) {
        nntrain_status s = strstr(e.msg, "out of memory") ? NNTRAIN_ERR_NOMEM
                           : strstr(e.msg, "larger than a checkpoint") ? NNTRAIN_ERR_FORMAT
                                                                      : NNTRAIN_ERR_IO;
        return nn_api_fail(err, &e, s);
    }
    nntrain_status s = open_bytes(bytes, (size_t)n, path, out, err);
    free(bytes);
    return s;
}

nntrain_status nntrain_open_memory(const void *data, size_t size, nntrain_model **out,
                                   nntrain_error *err)
{
    if (out)
        *out = NULL;
    if (!out)
        return nn_api_argument(err, "nntrain_open_memory: out is NULL");
    if (!data && size > 0)
        return nn_api_argument(err, "nntrain_open_memory: data is NULL and size %zu", size);
    if ((uint64_t)size > NN_CKPT_MAX_BYTES) {
        nn_error e = {0};
        nn_error_set(&e, NN_EXIT_RUNTIME, "<memory>: %zu bytes, larger than a checkpoint can be "
                     "(4 GiB)", size);
        return nn_api_fail(err, &e, NNTRAIN_ERR_FORMAT);
    }
    static const unsigned char none[1];
    return open_bytes(data ? data : none, size, "<memory>", out, err);
}

static void workspace_free(workspace *w)
{
    nn_model_free(w->m);
    free(w->X);
}

void nntrain_close(nntrain_model *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->n_idle; i++)
        workspace_free(&m->idle[i]);
    free(m->idle);
    pthread_mutex_destroy(&m->mu);
    nn_ckpt_free(&m->ck);
    free(m);
}

/* ---- describe ----------------------------------------------------------- */

static int is_regression(const nntrain_model *m)
{
    return m->ck.layout.n_targets > 0;
}

static int class_count(const nntrain_model *m)
{
    if (is_regression(m))
        return 0;
    if (m->ck.n_classes > 0)
        return m->ck.n_classes;
    return m->n_outputs == 1 ? 2 : m->n_outputs;
}

nntrain_status nntrain_describe(const nntrain_model *m, nntrain_info *info, nntrain_error *err)
{
    if (!m || !info)
        return nn_api_argument(err, "nntrain_describe: %s is NULL", !m ? "the model" : "info");
    memset(info, 0, sizeof *info);
    info->task = is_regression(m) ? NNTRAIN_TASK_REGRESSION : NNTRAIN_TASK_CLASSIFICATION;
    info->precision = m->ck.precision == NN_PREC_BF16 ? NNTRAIN_PRECISION_BF16
                                                      : NNTRAIN_PRECISION_FP32;
    info->n_inputs = m->ck.arch.n_inputs;
    info->n_outputs = m->n_outputs;
    info->n_classes = class_count(m);
    info->has_class_names = !is_regression(m) && m->ck.class_names != NULL;
    info->n_layers = m->n_dense;
    info->epochs = m->ck.epoch;
    info->checkpoint_format = m->ck.format;
    return nn_api_ok(err);
}

const char *nntrain_class_name(const nntrain_model *m, int k)
{
    if (!m || is_regression(m) || !m->ck.class_names || k < 0 || k >= m->ck.n_classes)
        return NULL;
    return m->ck.class_names[k];
}

/* ---- predict -------------------------------------------------------------- */

/* An idle workspace, or a new one; 0, or -1 with *e. */
static int take_workspace(nntrain_model *m, workspace *w, nn_error *e)
{
    pthread_mutex_lock(&m->mu);
    if (m->n_idle > 0) {
        *w = m->idle[--m->n_idle];
        pthread_mutex_unlock(&m->mu);
        return 0;
    }
    pthread_mutex_unlock(&m->mu);
    w->m = nn_ckpt_model(&m->ck, NN_PREDICT_BATCH, e);
    if (!w->m)
        return -1;
    w->X = malloc(sizeof(float) * NN_PREDICT_BATCH * (size_t)m->ck.arch.n_inputs);
    if (!w->X) {
        nn_model_free(w->m);
        nn_error_set(e, NN_EXIT_RUNTIME, "out of memory");
        return -1;
    }
    return 0;
}

/* Back to the idle list (freed when the list cannot grow). */
static void give_workspace(nntrain_model *m, workspace *w)
{
    pthread_mutex_lock(&m->mu);
    if (m->n_idle == m->cap_idle) {
        int cap = m->cap_idle ? 2 * m->cap_idle : 4;
        workspace *grown = realloc(m->idle, sizeof *grown * (size_t)cap);
        if (!grown) {
            pthread_mutex_unlock(&m->mu);
            workspace_free(w);
            return;
        }
        m->idle = grown;
        m->cap_idle = cap;
    }
    m->idle[m->n_idle++] = *w;
    pthread_mutex_unlock(&m->mu);
}

nntrain_status nntrain_predict(const nntrain_model *cm, const float *x, size_t n_rows,
                               size_t x_len, int *labels, float *outputs, size_t outputs_len,
                               nntrain_error *err)
{
    if (!cm)
        return nn_api_argument(err, "nntrain_predict: the model is NULL");
    if (!labels && !outputs)
        return nn_api_argument(err, "nntrain_predict: labels and outputs are both NULL");
    size_t F = (size_t)cm->ck.arch.n_inputs, K = (size_t)cm->n_outputs;
    if (n_rows > SIZE_MAX / sizeof(float) / F || n_rows > SIZE_MAX / sizeof(float) / K)
        return nn_api_argument(err, "nntrain_predict: %zu rows of %zu inputs and %zu outputs "
                               "overflow a size", n_rows, F, K);
    if (n_rows > 0 && !x)
        return nn_api_argument(err, "nntrain_predict: x is NULL");
    if (x_len != n_rows * F)
        return nn_api_argument(err, "nntrain_predict: x_len is %zu, %zu rows of %zu inputs "
                               "take %zu", x_len, n_rows, F, n_rows * F);
    if (outputs && outputs_len != n_rows * K)
        return nn_api_argument(err, "nntrain_predict: outputs_len is %zu, %zu rows of %zu "
                               "outputs take %zu", outputs_len, n_rows, K, n_rows * K);
    if (n_rows == 0)
        return nn_api_ok(err);

    /* const to the caller: what changes are the workspaces, under the mutex */
    nntrain_model *m = (nntrain_model *)cm;
    const nn_ckpt *c = &m->ck;
    nn_error e = {0};
    int fam = kernels_for(c->precision, &e);
    if (fam < 0)
        return nn_api_fail(err, &e, NNTRAIN_ERR_RUNTIME);
    workspace w;
    if (take_workspace(m, &w, &e) < 0)
        return nn_api_fail(err, &e, strstr(e.msg, "out of memory") ? NNTRAIN_ERR_NOMEM
                                                                   : NNTRAIN_ERR_RUNTIME);
    int was = nn_kernels_thread_use(fam);
    int regression = is_regression(m);
    for (size_t r0 = 0; r0 < n_rows; r0 += NN_PREDICT_BATCH) {
        int B = n_rows - r0 < NN_PREDICT_BATCH ? (int)(n_rows - r0) : NN_PREDICT_BATCH;
        const float *src = x + r0 * F;
        for (size_t i = 0; i < (size_t)B * F; i++) {
            size_t f = i % F;
            w.X[i] = c->shift ? (src[i] - c->shift[f]) * c->mult[f] : src[i];
        }
        float *y = (float *)nn_model_forward(w.m, w.X, B);
        if (c->n_target_scale)
            nn_targets_unscale(y, (size_t)B, c->n_target_scale, c->target_mean, c->target_std);
        if (outputs)
            memcpy(outputs + r0 * K, y, sizeof(float) * (size_t)B * K);
        if (labels)
            for (int i = 0; i < B; i++)
                labels[r0 + (size_t)i] = regression ? -1 : nn_predict_class(y + (size_t)i * K,
                                                                            (int)K);
    }
    nn_kernels_thread_use(was);
    give_workspace(m, &w);
    return nn_api_ok(err);
}

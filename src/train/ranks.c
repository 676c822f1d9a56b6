/* ranks.c - training shared by the processes (MPI ranks) of one run
 * (trainer.h; the sums across them are src/dist's).
 *
 * Every rank holds the whole model and the same data (a streamed source:
 * only the runs of its slices, train/stream.c), draws the same shuffles,
 * and takes its share of each batch: with S = training.slices
 * and N ranks, rank r holds slices [S r/N, S (r+1)/N) (nn/slices.h), so
 * its rows are one run of the batch.  Each sum over the batch is taken in
 * the slices' tree on the rank's slices, then over the ranks in the same
 * tree (nn_dist_tree_sum): the weight gradients layer by layer as the
 * backward pass completes them, batch normalisation's statistics as it
 * needs them, the loss once a batch.  Every rank then takes the same
 * optimizer step and stays identical to the others, bit for bit, and to a
 * single process with the same slices.  Rank 0 keeps the metrics (the
 * batch's outputs are gathered to it, in order) and writes the
 * checkpoints; decisions that could differ between ranks (a signal, the
 * checkpoint throttle, an I/O error) are agreed before they act.
 *
 * A failure inside a sum leaves the ranks unable to agree on anything
 * else; the rank says so through on_fatal and ends the job (nn_dist_abort).
 */
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "data/batch.h"
#include "dist/dist.h"
#include "eval/measure.h"
#include "kernels/kernels.h"
#include "nn/loss.h"
#include "pool/pool.h"
#include "train/trainer.h"
#include "util/crc32.h"
#include "util/profile.h"

_Noreturn static void die(const trainer *t, const nn_error *e)
{
    if (t->o->on_fatal)
        t->o->on_fatal(t->o->fatal_ctx, e);
    nn_dist_abort(e->code ? e->code : NN_EXIT_RUNTIME);
}

static int reduce_d(double *buf, size_t n, void *ctx)
{
    nn_error e = {0};
    double t0 = nn_prof_begin();
    if (nn_dist_tree_sum_d(buf, n, &e) < 0)
        die(ctx, &e);
    nn_prof_end(NN_PROF_COMM, t0);
    return 0;
}

/* A layer's gradients are complete: their sum over the ranks starts. */
static void on_grads(void *ctx, float *grads, size_t n)
{
    trainer *t = ctx;
    nn_error e = {0};
    if (t->n_reqs >= (int)(sizeof t->reqs / sizeof t->reqs[0])) {
        nn_error_set(&e, NN_EXIT_RUNTIME, "more layers than gradient sums in flight");
        die(t, &e);
    }
    if (nn_dist_tree_sum_start(grads, n, &t->reqs[t->n_reqs], &e) < 0)
        die(t, &e);
    t->n_reqs++;
}

int nn_trainer_ranks_setup(trainer *t, nn_error *err)
{
    const nn_config *cfg = t->cfg;
    t->rank = nn_dist_rank();
    t->ranks = nn_dist_size();
    if (t->ranks <= 1)
        return 0;
    int N = t->ranks, S = cfg->slices;
    if (S % N != 0) {
        nn_error_set(err, NN_EXIT_USAGE,
                     "%d processes share each batch, but training.slices is %d: set it to a "
                     "multiple of %d (a power of two, at most 64), e.g. --set "
                     "training.slices=%d; the result is the same for every process count that "
                     "divides it",
                     N, S, N, N > 8 ? N : 8);
        err->scope = NN_ERR_SAME; /* the config's and the count's: every rank has it */
        return -1;
    }
    nn_model *m = t->model;
    if (nn_model_set_slices(m, S, t->rank * S / N, (t->rank + 1) * S / N,
                            nn_pool_threads_for(NN_POOL_MIN_FLOPS), err) < 0)
        return -1;
    m->slicing.reduce = reduce_d;
    m->slicing.reduce_ctx = t;
    m->slicing.on_grads = on_grads;
    m->slicing.on_grads_ctx = t;
    /* the gathered outputs of a batch: per rank its row count, then its
     * outputs, targets and labels, room for a whole batch each */
    size_t K = (size_t)nn_model_outputs(m), bs = (size_t)cfg->batch_size;
    t->gather_bytes = sizeof(int32_t) + bs * (2 * K * sizeof(float) + sizeof(int32_t));
    t->gather_mine = malloc(t->gather_bytes);
    t->gather_all = t->rank == 0 ? malloc(t->gather_bytes * (size_t)N) : NULL;
    t->gather_rows = t->rank == 0 ? malloc(bs * (2 * K * sizeof(float) + sizeof(int32_t))) : NULL;
    if (!t->gather_mine || (t->rank == 0 && (!t->gather_all || !t->gather_rows))) {
        nn_error_set(err, NN_EXIT_RUNTIME, "out of memory for the ranks' buffers");
        return -1;
    }
    return 0;
}

/* Whether every rank read the same config and data and runs the same
 * kernels: a checksum of the canonical config, the data's description and
 * its fitted input scaling, and the kernel family. */
int nn_trainer_ranks_check(trainer *t, nn_error *err)
{
    if (t->ranks <= 1)
        return 0;
    char *json = nn_config_to_json(t->cfg);
    if (!json) {
        nn_error_set(err, NN_EXIT_RUNTIME, "out of memory");
        return -1;
    }
    uint32_t c = nn_crc32(0, json, strlen(json));
    free(json);
    uint64_t dims[5] = {t->n_train, t->n_val, t->train.features,
                        (uint64_t)(t->regression ? 0 : t->train.n_classes), t->n_test};
    c = nn_crc32(c, dims, sizeof dims);
    c = nn_crc32(c, t->shift, sizeof(float) * t->train.features);
    c = nn_crc32(c, t->mult, sizeof(float) * t->train.features);
    const char *isa = nn_kernels_get()->name;
    uint32_t k = nn_crc32(0, isa, strlen(isa));
    int same_data = 0, same_isa = 0;
    if (nn_dist_same_u64(c, &same_data, err) < 0 || nn_dist_same_u64(k, &same_isa, err) < 0)
        return -1;
    if (!same_data) {
        nn_error_set(err, NN_EXIT_USAGE,
                     "the processes read different configs or data (their checksums of the "
                     "canonical config, the data's size and its scaling differ): every rank "
                     "needs the same config and the same data files");
        err->scope = NN_ERR_SAME;
        return -1;
    }
    if (!same_isa) {
        nn_error_set(err, NN_EXIT_USAGE,
                     "the processes would run different kernels (this one: %s): set the same "
                     "NNTRAIN_ISA on every rank",
                     isa);
        err->scope = NN_ERR_SAME;
        return -1;
    }
    return 0;
}

void nn_trainer_ranks_wait(trainer *t)
{
    double t0 = nn_prof_begin();
    for (int i = 0; i < t->n_reqs; i++) {
        nn_error e = {0};
        if (nn_dist_wait(t->reqs[i], &e) < 0)
            die(t, &e);
        t->reqs[i] = NULL;
    }
    t->n_reqs = 0;
    nn_prof_end(NN_PROF_COMM, t0);
}

bool nn_trainer_ranks_any(const trainer *t, bool flag)
{
    if (t->ranks <= 1)
        return flag;
    nn_error e = {0};
    int any = nn_dist_any(flag, &e);
    if (any < 0)
        die(t, &e);
    return any == 1;
}

bool nn_trainer_ranks_decide(const trainer *t, bool flag)
{
    if (t->ranks <= 1)
        return flag;
    nn_error e = {0};
    int32_t v = flag;
    if (nn_dist_bcast(&v, sizeof v, 0, &e) < 0)
        die(t, &e);
    return v != 0;
}

void nn_trainer_ranks_share(const trainer *t, int Bg, int *first, int *B)
{
    const nn_slicing *sl = &t->model->slicing;
    if (sl->S <= 1) {
        *first = 0;
        *B = Bg;
        return;
    }
    int lo, hi, unused;
    nn_slice_rows(Bg, sl->S, sl->lo, &lo, &unused);
    nn_slice_rows(Bg, sl->S, sl->hi - 1, &unused, &hi);
    *first = lo;
    *B = hi - lo;
}

typedef struct {
    const trainer *t;
    const float *yhat, *logits, *T;
} loss_ctx;

static void loss_leaf(void *ctx, int lo, int hi, double *buf)
{
    const loss_ctx *c = ctx;
    const nn_config *cfg = c->t->cfg;
    size_t K = (size_t)nn_model_outputs(c->t->model), at = (size_t)lo * K;
    *buf = nn_loss_total(cfg->loss, nn_arch_output_act(&c->t->model->arch), c->yhat + at,
                         c->logits + at, c->T + at, hi - lo, (int)K, cfg->huber_delta);
}

double nn_trainer_batch_loss(const trainer *t, const float *yhat, const float *logits,
                             const float *T, int B, int Bg)
{
    const nn_config *cfg = t->cfg;
    const nn_slicing *sl = &t->model->slicing;
    if (sl->S <= 1)
        return nn_loss_forward(cfg->loss, nn_arch_output_act(&t->model->arch), yhat, logits, T,
                               B, nn_model_outputs(t->model), cfg->huber_delta);
    loss_ctx c = {t, yhat, logits, T};
    double total, stack[8];
    nn_slices_column_sums(sl, B, 1, loss_leaf, &c, stack, &total);
    if (t->ranks > 1)
        reduce_d(&total, 1, (void *)t);
    return total / Bg;
}

void nn_trainer_ranks_metrics(trainer *t, const float *yhat, int B, double loss)
{
    if (t->ranks <= 1) {
        nn_acc_add(&t->acc, yhat, t->T, t->y, B, loss);
        return;
    }
    size_t K = (size_t)nn_model_outputs(t->model), bs = (size_t)t->cfg->batch_size;
    unsigned char *p = t->gather_mine;
    int32_t rows = B;
    memcpy(p, &rows, sizeof rows);
    memcpy(p + sizeof rows, yhat, sizeof(float) * K * (size_t)B);
    memcpy(p + sizeof rows + sizeof(float) * K * bs, t->T, sizeof(float) * K * (size_t)B);
    memcpy(p + sizeof rows + 2 * sizeof(float) * K * bs, t->y, sizeof(int32_t) * (size_t)B);
    nn_error e = {0};
    double t0 = nn_prof_begin();
    if (nn_dist_gather_bytes(t->gather_mine, t->gather_bytes, t->gather_all, 0, &e) < 0)
        die(t, &e);
    nn_prof_end(NN_PROF_COMM, t0);
    if (t->rank != 0)
        return;
    /* the ranks' rows one after the other: the batch in order */
    float *Y = t->gather_rows, *T = Y + K * bs;
    int32_t *y = (int32_t *)(void *)(T + K * bs);
    size_t at = 0;
    for (int r = 0; r < t->ranks; r++) {
        const unsigned char *q = t->gather_all + (size_t)r * t->gather_bytes;
        memcpy(&rows, q, sizeof rows);
        memcpy(Y + at * K, q + sizeof rows, sizeof(float) * K * (size_t)rows);
        memcpy(T + at * K, q + sizeof rows + sizeof(float) * K * bs, sizeof(float) * K * rows);
        memcpy(y + at, q + sizeof rows + 2 * sizeof(float) * K * bs, sizeof(int32_t) * rows);
        at += (size_t)rows;
    }
    nn_acc_add(&t->acc, Y, T, y, (int)at, loss);
}

void nn_trainer_ranks_free(trainer *t)
{
    free(t->gather_mine);
    free(t->gather_all);
    free(t->gather_rows);
}

int nn_trainer_agree(int rc, const char *others, nn_error *err)
{
    if (nn_dist_size() <= 1)
        return rc;
    nn_error e = {0};
    int any = nn_dist_any(rc < 0, &e);
    if (any < 0) {
        *err = e;
        return -1;
    }
    if (any && rc == 0) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s", others);
        err->scope = NN_ERR_SAME;
        return -1;
    }
    return rc;
}

void nn_trainer_held_parts(const nn_config *cfg, int *lo, int *hi)
{
    int S = cfg->slices > 1 ? cfg->slices : 1, N = nn_dist_size(), r = nn_dist_rank();
    *lo = (int)((long long)S * r / N);
    *hi = (int)((long long)S * (r + 1) / N);
}

/* leaf[0..n) combined in a balanced tree, the result in leaf[0]. */
static void combine_tree(double *const *leaf, int n, size_t L, nn_parts_merge merge, void *ctx)
{
    if (n <= 1)
        return;
    combine_tree(leaf, n / 2, L, merge, ctx);
    combine_tree(leaf + n / 2, n - n / 2, L, merge, ctx);
    merge(leaf[0], leaf[n / 2], L, ctx);
}

int nn_trainer_parts_combine(const trainer *t, double *const *leaf, int n, size_t L,
                             nn_parts_merge merge, void *ctx, nn_error *err)
{
    combine_tree(leaf, n, L, merge, ctx);
    int N = nn_dist_size();
    if (N <= 1)
        return 0;
    /* the processes' subtrees are the top of the same tree: rank 0 adds
     * them in it and sends the whole to every one */
    int root = nn_dist_rank() == 0;
    double *all = root ? malloc(sizeof(double) * L * (size_t)N) : NULL;
    double **at = root ? malloc(sizeof(double *) * (size_t)N) : NULL;
    nn_error e = {0};
    int any = nn_dist_any(root && (!all || !at), &e);
    if (any < 0)
        die(t, &e);
    if (any) {
        free(all);
        free(at);
        nn_error_set(err, NN_EXIT_RUNTIME, "out of memory combining the processes' sums");
        err->scope = NN_ERR_SAME;
        return -1;
    }
    if (nn_dist_gather_bytes(leaf[0], sizeof(double) * L, all, 0, &e) < 0)
        die(t, &e);
    if (root) {
        for (int r = 0; r < N; r++)
            at[r] = all + (size_t)r * L;
        combine_tree(at, N, L, merge, ctx);
        memcpy(leaf[0], all, sizeof(double) * L);
    }
    if (nn_dist_bcast(leaf[0], sizeof(double) * L, 0, &e) < 0)
        die(t, &e);
    free(all);
    free(at);
    return 0;
}

/* A checkpoint read by rank 0 and sent to the others, who need not share
 * its file system. */
int nn_trainer_load_ckpt(const trainer *t, const char *path, nn_ckpt *c, nn_error *err)
{
    if (nn_dist_size() <= 1)
        return nn_ckpt_load(path, c, err);
    memset(c, 0, sizeof *c);
    unsigned char *buf = NULL;
    uint64_t n = 0;
    int ok = 1;
    if (nn_dist_rank() == 0) {
        ok = nn_ckpt_read_bytes(path, &buf, &n, err) == 0;
        if (!ok)
            n = UINT64_MAX;
    }
    nn_error e = {0};
    if (nn_dist_bcast(&n, sizeof n, 0, &e) < 0)
        die(t, &e);
    if (n == UINT64_MAX) { /* every rank stops; rank 0 says why */
        if (nn_dist_rank() != 0)
            nn_error_set(err, NN_EXIT_RUNTIME, "%s: rank 0 could not read the checkpoint",
                         path);
        err->scope = NN_ERR_SAME;
        return -1;
    }
    if (nn_dist_rank() != 0 && !(buf = malloc(n ? n : 1))) {
        nn_error_set(&e, NN_EXIT_RUNTIME, "out of memory for the checkpoint");
        die(t, &e);
    }
    if (nn_dist_bcast(buf, n, 0, &e) < 0)
        die(t, &e);
    int rc = nn_ckpt_decode(buf, n, path, c, err);
    free(buf);
    return rc;
}

/* The validation rows measured by all the ranks together: each batch of
 * nn_measure's (the same boundaries) is cut among the ranks, each computes
 * the outputs of its rows, and rank 0 gathers them in order and takes the
 * loss and the metrics exactly as nn_measure does in one process (a row's
 * outputs do not depend on the rows beside it: nn_kernels_rows_free); the
 * result is then sent to every rank. */
int nn_trainer_ranks_measure(trainer *t, const nn_loss_spec *ls, nn_result *out, nn_error *err)
{
    nn_model *m = t->model;
    if (t->ranks <= 1)
        return nn_measure(m, t->val_set, t->val_idx, t->n_val, t->shift, t->mult, ls,
                          t->regression, false, out, NULL, err);
    const nn_dataset *d = t->val_set;
    int K = nn_model_outputs(m), N = t->ranks;
    int bmax = m->max_batch < NN_MEASURE_BATCH ? m->max_batch : NN_MEASURE_BATCH;
    int mine_max = (bmax + N - 1) / N;
    size_t part = sizeof(int32_t) + 2 * sizeof(float) * (size_t)K * (size_t)mine_max;
    float *X = malloc(sizeof(float) * (size_t)mine_max * d->features);
    uint32_t *rows = malloc(sizeof(uint32_t) * (size_t)bmax);
    unsigned char *mine = malloc(part), *all = t->rank == 0 ? malloc(part * (size_t)N) : NULL;
    float *Y = t->rank == 0 ? malloc(sizeof(float) * 3 * (size_t)bmax * (size_t)K) : NULL;
    int32_t *y = t->rank == 0 ? malloc(sizeof(int32_t) * (size_t)bmax) : NULL;
    nn_acc acc = {0};
    int failed = !X || !rows || !mine || (t->rank == 0 && (!all || !Y || !y));
    if (!failed && t->rank == 0) {
        failed = nn_acc_init(&acc, K, t->regression, false, err) < 0;
        acc.target_std = ls->target_std;
    }
    if (nn_trainer_ranks_any(t, failed)) {
        nn_error_set(err, NN_EXIT_RUNTIME, "out of memory measuring the validation rows");
        err->scope = NN_ERR_SAME;
        goto out;
    }
    for (size_t off = 0; off < t->n_val; off += (size_t)bmax) {
        int B = t->n_val - off < (size_t)bmax ? (int)(t->n_val - off) : bmax;
        int lo = (int)((long long)B * t->rank / N), hi = (int)((long long)B * (t->rank + 1) / N);
        int32_t n = hi - lo;
        for (int i = 0; i < B; i++)
            rows[i] = t->val_idx ? t->val_idx[off + (size_t)i] : (uint32_t)(off + (size_t)i);
        nn_batch_gather(X, d, rows + lo, (size_t)n, t->shift, t->mult);
        const float *yhat = nn_model_forward(m, X, n);
        memcpy(mine, &n, sizeof n);
        memcpy(mine + sizeof n, yhat, sizeof(float) * (size_t)K * (size_t)n);
        memcpy(mine + sizeof n + sizeof(float) * (size_t)K * (size_t)mine_max, m->logits,
               sizeof(float) * (size_t)K * (size_t)n);
        nn_error e = {0};
        double t0 = nn_prof_begin();
        if (nn_dist_gather_bytes(mine, part, all, 0, &e) < 0)
            die(t, &e);
        nn_prof_end(NN_PROF_COMM, t0);
        if (t->rank != 0)
            continue;
        float *Z = Y + (size_t)bmax * K, *T = Z + (size_t)bmax * K;
        size_t at = 0;
        for (int r = 0; r < N; r++) {
            const unsigned char *q = all + (size_t)r * part;
            int32_t rn;
            memcpy(&rn, q, sizeof rn);
            memcpy(Y + at * K, q + sizeof rn, sizeof(float) * (size_t)K * (size_t)rn);
            memcpy(Z + at * K, q + sizeof rn + sizeof(float) * (size_t)K * (size_t)mine_max,
                   sizeof(float) * (size_t)K * (size_t)rn);
            at += (size_t)rn;
        }
        nn_batch_targets(T, d, rows, (size_t)B, K);
        if (!t->regression) {
            nn_batch_labels(y, d, rows, (size_t)B);
            nn_targets_smooth(T, (size_t)B, K, ls->label_smoothing);
        }
        double cost = nn_loss_forward(ls->loss, nn_arch_output_act(&m->arch), Y, Z, T, B, K,
                                      ls->huber_delta);
        nn_acc_add(&acc, Y, T, y, B, cost);
    }
    if (t->rank == 0)
        *out = nn_acc_result(&acc);
    nn_error e = {0};
    if (nn_dist_bcast(out, sizeof *out, 0, &e) < 0)
        die(t, &e);
    failed = 0;
out:
    if (t->rank == 0)
        nn_acc_free(&acc);
    free(X);
    free(rows);
    free(mine);
    free(all);
    free(Y);
    free(y);
    return failed ? -1 : 0;
}

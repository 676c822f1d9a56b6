/* dist.c - the communication layer of data-parallel training (dist.h).
 *
 * Without NN_MPI only the single-rank behaviour is compiled: the state
 * below stays rank 0 of 1 and every collective is a no-op or a copy.  With
 * NN_MPI the same functions take the MPI path once nn_dist_init() has
 * joined a run started by mpirun.
 *
 * The tree sum is a reduce-scatter followed by an all-gather, both written
 * by hand so that the additions are ours.  A vector of n elements is cut
 * into `size` contiguous segments, as even as possible (segment s is
 * [n*s/size, n*(s+1)/size)).  MPI_Ialltoallv hands every rank all ranks'
 * copies of its own segment, in rank order; the rank adds them up the
 * tree (pairs of neighbours, then pairs of pairs, ...), each addition the
 * lower ranks' partial sum plus the higher ranks'; MPI_Iallgatherv then
 * gives every rank every summed segment.  Each element is added by exactly
 * one rank, with the same operations in the same order whatever the
 * segment boundaries, so every rank ends with the same bits, and those are
 * what the tree gives.  Each rank sends and receives (size-1)/size of the
 * vector twice, as a ring all-reduce does.
 *
 * The non-blocking collectives are what lets nn_dist_tree_sum_start()
 * return at once; the additions and the all-gather wait for
 * nn_dist_wait() (MPI moves data only inside MPI calls unless the library
 * runs a progress thread, so a send overlaps the backward pass as far as
 * the network and the library allow).  MPI matches collectives on a
 * communicator by the order they are started in, hence the rule that
 * starts and waits follow the same order on every rank.
 *
 * All traffic goes through a duplicate of MPI_COMM_WORLD, so nothing here
 * can match a message of anybody else, and that duplicate returns error
 * codes instead of aborting (MPI_ERRORS_RETURN), which become nn_error
 * messages.
 */
#include "dist/dist.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#ifdef NN_MPI
#include <mpi.h>
#endif

/* Elements per round of a tree sum.  MPI counts and displacements are
 * ints, and a round needs a scratch copy of itself (its segment from every
 * rank), so a longer vector is summed in rounds of this many elements: 64
 * MB of floats, long enough that a round costs what its bytes cost.  The
 * sum of each element does not depend on the rounds.  tests/mpi builds a
 * copy with small values to exercise the cutting. */
#ifndef NN_DIST_PIECE
#define NN_DIST_PIECE ((size_t)1 << 24)
#endif

/* Bytes per MPI_Bcast of nn_dist_bcast(), below INT_MAX. */
#ifndef NN_DIST_BYTES_PIECE
#define NN_DIST_BYTES_PIECE ((size_t)1 << 30)
#endif

static int g_rank = 0, g_size = 1;
static int g_active; /* joined a run started by mpirun */

#ifdef NN_MPI
static int g_joined;   /* we called MPI_Init_thread, so we finalize */
static MPI_Comm g_comm; /* our duplicate of MPI_COMM_WORLD, while g_active */

static int mpi_fail(nn_error *err, int rc, const char *what)
{
    char s[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(rc, s, &len) == MPI_SUCCESS && len > 0)
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: %s", what, s);
    else
        nn_error_set(err, NN_EXIT_RUNTIME, "%s failed (MPI error %d)", what, rc);
    return -1;
}
#endif

int nn_dist_init(int *argc, char ***argv, nn_error *err)
{
#ifdef NN_MPI
    if (g_active)
        return 0;
    /* Open MPI's launcher (mpirun, or a PMIx one such as srun) puts these
     * in every rank's environment.  Without them this is a plain run:
     * MPI_Init would still work (a singleton), but it costs time, may
     * start helper processes and needs a working MPI installation, none of
     * which a one-process run should depend on. */
    if (!getenv("OMPI_COMM_WORLD_SIZE") && !getenv("PMIX_RANK"))
        return 0;
    int inited = 0, finished = 0, provided = 0, rc;
    MPI_Initialized(&inited);
    MPI_Finalized(&finished);
    if (finished) {
        nn_error_set(err, NN_EXIT_RUNTIME, "MPI was already finalized in this process");
        return -1;
    }
    if (!inited) {
        /* FUNNELED: the pool's worker threads compute but never call MPI. */
        rc = MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
        if (rc != MPI_SUCCESS) {
            nn_error_set(err, NN_EXIT_RUNTIME, "MPI_Init_thread failed (MPI error %d)", rc);
            return -1;
        }
        g_joined = 1;
    } else {
        MPI_Query_thread(&provided);
    }
    if (provided < MPI_THREAD_FUNNELED) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "the MPI library does not support threads (MPI_THREAD_FUNNELED)");
        nn_dist_finalize();
        return -1;
    }
    rc = MPI_Comm_dup(MPI_COMM_WORLD, &g_comm);
    if (rc == MPI_SUCCESS)
        rc = MPI_Comm_set_errhandler(g_comm, MPI_ERRORS_RETURN);
    if (rc == MPI_SUCCESS)
        rc = MPI_Comm_rank(g_comm, &g_rank);
    if (rc == MPI_SUCCESS)
        rc = MPI_Comm_size(g_comm, &g_size);
    if (rc != MPI_SUCCESS) {
        mpi_fail(err, rc, "joining the MPI processes");
        g_rank = 0;
        g_size = 1;
        return -1;
    }
    g_active = 1;
#else
    (void)argc;
    (void)argv;
    (void)err;
#endif
    return 0;
}

int nn_dist_rank(void) { return g_rank; }
int nn_dist_size(void) { return g_size; }
int nn_dist_active(void) { return g_active; }

void nn_dist_finalize(void)
{
#ifdef NN_MPI
    if (g_active)
        MPI_Comm_free(&g_comm);
    if (g_joined)
        MPI_Finalize();
    g_joined = 0;
#endif
    g_active = 0;
    g_rank = 0;
    g_size = 1;
}

void nn_dist_abort(int code)
{
#ifdef NN_MPI
    /* MPI_COMM_WORLD, not ours: every process of the run must end. */
    if (g_active)
        MPI_Abort(MPI_COMM_WORLD, code);
#endif
    exit(code);
}

/* 1 when a tree sum of n elements has work to do, 0 when it has none (one
 * rank, or nothing to sum), -1 with err when it cannot be done.  The rank
 * count is checked first, so that every rank of a bad run reports it
 * whatever n is. */
static int tree_check(const void *buf, size_t n, nn_error *err)
{
    if (g_size & (g_size - 1)) {
        nn_error_set(err, NN_EXIT_USAGE,
                     "data-parallel training needs a power-of-two number of processes "
                     "(1, 2, 4, 8, ...), not %d",
                     g_size);
        return -1;
    }
    if (g_size == 1 || n == 0)
        return 0;
    if (!buf) {
        nn_error_set(err, NN_EXIT_RUNTIME, "tree sum of %zu elements at NULL", n);
        return -1;
    }
    return 1;
}

#ifdef NN_MPI
/* One round of a tree sum: `n` elements at `buf`. */
struct nn_dist_req {
    int dbl;          /* elements are double (else float) */
    char *buf;        /* the round's elements in the caller's vector */
    int *cnt, *off;   /* segment s: cnt[s] elements from element off[s] */
    int *rcnt, *roff; /* rank r's copy of our segment: at roff[r] in copies */
    void *copies;     /* size copies of our segment, rank order */
    MPI_Request mpi;  /* the all-to-all, then the all-gather */
    struct nn_dist_req *next;
};

static void free_rounds(nn_dist_req *r)
{
    while (r) {
        nn_dist_req *next = r->next;
        free(r->cnt);
        free(r->copies);
        free(r);
        r = next;
    }
}

static nn_dist_req *new_round(char *buf, size_t n, int dbl)
{
    size_t es = dbl ? sizeof(double) : sizeof(float);
    size_t sz = (size_t)g_size;
    nn_dist_req *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->dbl = dbl;
    r->buf = buf;
    r->mpi = MPI_REQUEST_NULL;
    r->cnt = malloc(4 * sz * sizeof(int));
    if (!r->cnt) {
        free(r);
        return NULL;
    }
    r->off = r->cnt + sz;
    r->rcnt = r->off + sz;
    r->roff = r->rcnt + sz;
    /* n <= NN_DIST_PIECE: every count and offset below fits an int. */
    for (size_t s = 0; s < sz; s++) {
        size_t lo = n * s / sz, hi = n * (s + 1) / sz;
        r->off[s] = (int)lo;
        r->cnt[s] = (int)(hi - lo);
    }
    int mine = r->cnt[g_rank];
    for (int q = 0; q < g_size; q++) {
        r->rcnt[q] = mine;
        r->roff[q] = q * mine;
    }
    r->copies = malloc(sz * (size_t)mine * es + 1); /* + 1: never malloc(0) */
    if (!r->copies) {
        free_rounds(r);
        return NULL;
    }
    return r;
}

/* The rounds of a tree sum of n elements at buf, not started yet. */
static nn_dist_req *new_rounds(void *buf, size_t n, int dbl, nn_error *err)
{
    size_t es = dbl ? sizeof(double) : sizeof(float);
    nn_dist_req *head = NULL, **tail = &head;
    for (size_t at = 0; at < n; at += NN_DIST_PIECE) {
        size_t len = n - at < NN_DIST_PIECE ? n - at : NN_DIST_PIECE;
        *tail = new_round((char *)buf + at * es, len, dbl);
        if (!*tail) {
            free_rounds(head);
            nn_error_set(err, NN_EXIT_RUNTIME, "out of memory for a tree sum of %zu elements", n);
            return NULL;
        }
        tail = &(*tail)->next;
    }
    return head;
}

static int start_round(nn_dist_req *r, nn_error *err)
{
    MPI_Datatype t = r->dbl ? MPI_DOUBLE : MPI_FLOAT;
    int rc = MPI_Ialltoallv(r->buf, r->cnt, r->off, t, r->copies, r->rcnt, r->roff, t, g_comm,
                            &r->mpi);
    return rc == MPI_SUCCESS ? 0 : mpi_fail(err, rc, "MPI_Ialltoallv");
}

/* a[i] = a[i] + b[i]: a holds the lower ranks' partial sum. */
static void add_f(float *restrict a, const float *restrict b, size_t len)
{
    for (size_t i = 0; i < len; i++)
        a[i] = a[i] + b[i];
}

static void add_d(double *restrict a, const double *restrict b, size_t len)
{
    for (size_t i = 0; i < len; i++)
        a[i] = a[i] + b[i];
}

/* Waits for the round's all-to-all, adds the copies up the tree and
 * starts the all-gather of the sums. */
static int reduce_round(nn_dist_req *r, nn_error *err)
{
    int rc = MPI_Wait(&r->mpi, MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS)
        return mpi_fail(err, rc, "MPI_Ialltoallv");
    size_t len = (size_t)r->cnt[g_rank], es = r->dbl ? sizeof(double) : sizeof(float);
    /* Level by level: copy q becomes q + (q + step) for q a multiple of
     * 2 * step, so after the last level copy 0 is the whole tree. */
    for (int step = 1; step < g_size; step *= 2)
        for (int q = 0; q + step < g_size; q += 2 * step) {
            if (r->dbl)
                add_d((double *)r->copies + (size_t)q * len,
                      (const double *)r->copies + (size_t)(q + step) * len, len);
            else
                add_f((float *)r->copies + (size_t)q * len,
                      (const float *)r->copies + (size_t)(q + step) * len, len);
        }
    if (len)
        memcpy(r->buf + (size_t)r->off[g_rank] * es, r->copies, len * es);
    MPI_Datatype t = r->dbl ? MPI_DOUBLE : MPI_FLOAT;
    rc = MPI_Iallgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, r->buf, r->cnt, r->off, t, g_comm,
                         &r->mpi);
    return rc == MPI_SUCCESS ? 0 : mpi_fail(err, rc, "MPI_Iallgatherv");
}

/* Completes started rounds and frees them.  After an MPI error a round
 * whose operation may still be running is not freed: MPI may yet write
 * into it (the caller is about to abort anyway). */
static int finish_rounds(nn_dist_req *head, nn_error *err)
{
    int rc = 0;
    for (nn_dist_req *r = head; r && rc == 0; r = r->next)
        rc = reduce_round(r, err);
    for (nn_dist_req *r = head; r && rc == 0; r = r->next) {
        int mrc = MPI_Wait(&r->mpi, MPI_STATUS_IGNORE);
        if (mrc != MPI_SUCCESS)
            rc = mpi_fail(err, mrc, "MPI_Iallgatherv");
    }
    if (rc == 0)
        free_rounds(head);
    return rc;
}

/* Starts every round of a new sum; *out NULL when there is nothing to do. */
static int start_sum(void *buf, size_t n, int dbl, nn_dist_req **out, nn_error *err)
{
    *out = NULL;
    int go = tree_check(buf, n, err);
    if (go <= 0)
        return go;
    nn_dist_req *head = new_rounds(buf, n, dbl, err);
    if (!head)
        return -1;
    for (nn_dist_req *r = head; r; r = r->next)
        if (start_round(r, err))
            return -1; /* rounds already started stay allocated, as above */
    *out = head;
    return 0;
}

/* The blocking sum, one round at a time, so its scratch is one round. */
static int tree_sum(void *buf, size_t n, int dbl, nn_error *err)
{
    int go = tree_check(buf, n, err);
    if (go <= 0)
        return go;
    size_t es = dbl ? sizeof(double) : sizeof(float);
    for (size_t at = 0; at < n; at += NN_DIST_PIECE) {
        size_t len = n - at < NN_DIST_PIECE ? n - at : NN_DIST_PIECE;
        nn_dist_req *r;
        if (start_sum((char *)buf + at * es, len, dbl, &r, err) || finish_rounds(r, err))
            return -1;
    }
    return 0;
}
#endif

int nn_dist_tree_sum(float *buf, size_t n, nn_error *err)
{
#ifdef NN_MPI
    return tree_sum(buf, n, 0, err);
#else
    return tree_check(buf, n, err) < 0 ? -1 : 0;
#endif
}

int nn_dist_tree_sum_d(double *buf, size_t n, nn_error *err)
{
#ifdef NN_MPI
    return tree_sum(buf, n, 1, err);
#else
    return tree_check(buf, n, err) < 0 ? -1 : 0;
#endif
}

int nn_dist_tree_sum_start(float *buf, size_t n, nn_dist_req **req, nn_error *err)
{
#ifdef NN_MPI
    return start_sum(buf, n, 0, req, err);
#else
    *req = NULL;
    return tree_check(buf, n, err) < 0 ? -1 : 0;
#endif
}

int nn_dist_wait(nn_dist_req *req, nn_error *err)
{
#ifdef NN_MPI
    return req ? finish_rounds(req, err) : 0;
#else
    (void)req; /* always NULL: start never makes one */
    (void)err;
    return 0;
#endif
}

static int check_root(int root, const char *what, nn_error *err)
{
    if (root >= 0 && root < g_size)
        return 0;
    nn_error_set(err, NN_EXIT_RUNTIME, "%s from rank %d of %d", what, root, g_size);
    return -1;
}

int nn_dist_bcast(void *buf, size_t bytes, int root, nn_error *err)
{
    if (check_root(root, "broadcast", err))
        return -1;
    if (g_size == 1 || bytes == 0)
        return 0;
    if (!buf) {
        nn_error_set(err, NN_EXIT_RUNTIME, "broadcast of %zu bytes at NULL", bytes);
        return -1;
    }
#ifdef NN_MPI
    for (size_t at = 0; at < bytes; at += NN_DIST_BYTES_PIECE) {
        size_t len = bytes - at < NN_DIST_BYTES_PIECE ? bytes - at : NN_DIST_BYTES_PIECE;
        int rc = MPI_Bcast((char *)buf + at, (int)len, MPI_BYTE, root, g_comm);
        if (rc != MPI_SUCCESS)
            return mpi_fail(err, rc, "MPI_Bcast");
    }
#endif
    return 0;
}

int nn_dist_any(int flag, nn_error *err)
{
    int any = flag != 0;
#ifdef NN_MPI
    if (g_size > 1) {
        int rc = MPI_Allreduce(MPI_IN_PLACE, &any, 1, MPI_INT, MPI_LOR, g_comm);
        if (rc != MPI_SUCCESS)
            return mpi_fail(err, rc, "MPI_Allreduce");
    }
#else
    (void)err;
#endif
    return any;
}

int nn_dist_max_i64(int64_t *v, nn_error *err)
{
#ifdef NN_MPI
    if (g_size > 1) {
        int rc = MPI_Allreduce(MPI_IN_PLACE, v, 1, MPI_INT64_T, MPI_MAX, g_comm);
        if (rc != MPI_SUCCESS)
            return mpi_fail(err, rc, "MPI_Allreduce");
    }
#else
    (void)v;
    (void)err;
#endif
    return 0;
}

int nn_dist_same_u64(uint64_t v, int *all_same, nn_error *err)
{
    *all_same = 1;
#ifdef NN_MPI
    if (g_size > 1) {
        /* One reduction for both ends: the largest v and the largest ~v,
         * which is ~(the smallest v).  All the same when they meet. */
        uint64_t m[2] = {v, ~v};
        int rc = MPI_Allreduce(MPI_IN_PLACE, m, 2, MPI_UINT64_T, MPI_MAX, g_comm);
        if (rc != MPI_SUCCESS)
            return mpi_fail(err, rc, "MPI_Allreduce");
        *all_same = m[0] == ~m[1];
    }
#else
    (void)v;
    (void)err;
#endif
    return 0;
}

int nn_dist_gather_bytes(const void *mine, size_t bytes, void *all_at_root, int root,
                         nn_error *err)
{
    if (check_root(root, "gather", err))
        return -1;
    if (bytes > INT_MAX) {
        nn_error_set(err, NN_EXIT_RUNTIME, "gather of %zu bytes a rank (at most %d)", bytes,
                     INT_MAX);
        return -1;
    }
    if (bytes == 0)
        return 0;
    if (!mine || (g_rank == root && !all_at_root)) {
        nn_error_set(err, NN_EXIT_RUNTIME, "gather of %zu bytes at NULL", bytes);
        return -1;
    }
    if (g_size == 1) {
        memmove(all_at_root, mine, bytes);
        return 0;
    }
#ifdef NN_MPI
    int rc = MPI_Gather(mine, (int)bytes, MPI_BYTE, all_at_root, (int)bytes, MPI_BYTE, root,
                        g_comm);
    if (rc != MPI_SUCCESS)
        return mpi_fail(err, rc, "MPI_Gather");
#endif
    return 0;
}

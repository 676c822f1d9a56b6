/* test_dist.c - tests of the communication layer (src/dist), a program of
 * its own: Check's forking runner and MPI do not mix.  tests/mpi/run.sh runs
 * it alone and under mpirun -np 1, 2, 3 and 4, built three ways: without
 * NN_MPI (the plain build), with it, and with it and tiny rounds
 * (NN_DIST_PIECE, NN_DIST_BYTES_PIECE) so that the cutting of long vectors
 * and broadcasts into rounds is exercised too.
 *
 * Every rank can make every rank's input from a seed, so each rank computes
 * the expected tree sum by itself, straight from the definition in dist.h,
 * and compares the layer's result bit for bit.  The inputs mix huge values
 * of both signs, ones, signed zeros and small random values, so a different
 * order of additions gives different bits (checked: the left-to-right order
 * differs from the tree somewhere).  Each test prints one line on rank 0;
 * a test fails when it fails on any rank (the verdicts are combined with
 * MPI directly, not through the layer under test).
 *
 * With a rank count that is not a power of two the tree sums must fail;
 * the program then ends like nntrain would: the message on the error
 * stream, exit status err.code (run.sh checks both).
 */
#include "dist/dist.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef NN_MPI
#include <mpi.h>
#endif

static int g_rank, g_size, g_pass, g_fail;

/* A test's verdict on every rank combined; one line on rank 0. */
__attribute__((format(printf, 2, 3))) static int report(int ok, const char *fmt, ...)
{
    int bad = !ok;
#ifdef NN_MPI
    if (nn_dist_active())
        MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_INT, MPI_LOR, MPI_COMM_WORLD);
#endif
    if (bad)
        g_fail++;
    else
        g_pass++;
    if (g_rank == 0) {
        va_list ap;
        va_start(ap, fmt);
        printf("%s ", bad ? "FAIL" : "ok  ");
        vprintf(fmt, ap);
        printf(" (np=%d)\n", g_size);
        va_end(ap);
        fflush(stdout);
    }
    return !bad;
}

/* 1 when v is the same on every rank. */
static int same_everywhere(uint64_t v)
{
#ifdef NN_MPI
    if (nn_dist_active()) {
        uint64_t lo = v, hi = v;
        MPI_Allreduce(MPI_IN_PLACE, &lo, 1, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD);
        MPI_Allreduce(MPI_IN_PLACE, &hi, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
        return lo == hi;
    }
#endif
    return 1;
}

static uint64_t mix(uint64_t x) /* splitmix64's finaliser */
{
    x += 0x9e3779b97f4a7c15u;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

static uint64_t fnv(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3u;
    return h;
}

/* Rank r's element i of the vector `seed`: huge (big), one, a signed zero or
 * small and random, each sign. */
static double gen(uint64_t seed, int r, size_t i, double big)
{
    uint64_t h = mix(seed ^ mix(((uint64_t)r << 40) ^ i));
    double u = (double)(h >> 11) * 0x1p-53;
    switch (h % 8) {
    case 0: return big;
    case 1: return -big;
    case 2: return 1;
    case 3: return -1;
    case 4: return (h >> 8) & 1 ? 0.0 : -0.0;
    default: return (2 * u - 1) * ldexp(1, -(int)((h >> 3) % 24));
    }
}

#define BIG_F 1e8  /* float steps are 8 there: 1e8 + 1 == 1e8 */
#define BIG_D 1e17 /* double steps are 16 */

/* The tree of dist.h over v[lo..lo+cnt), cnt a power of two. */
static float tree_f(const float *v, int lo, int cnt)
{
    return cnt == 1 ? v[lo] : tree_f(v, lo, cnt / 2) + tree_f(v, lo + cnt / 2, cnt / 2);
}

static double tree_d(const double *v, int lo, int cnt)
{
    return cnt == 1 ? v[lo] : tree_d(v, lo, cnt / 2) + tree_d(v, lo + cnt / 2, cnt / 2);
}

#define GUARD 16 /* elements after the vector that must stay untouched */

/* buf[0..n+GUARD): this rank's input, then guard bytes. */
static void *input(uint64_t seed, size_t n, int dbl)
{
    size_t es = dbl ? sizeof(double) : sizeof(float);
    char *buf = malloc((n + GUARD) * es);
    if (!buf) {
        fprintf(stderr, "test_dist: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++) {
        if (dbl)
            ((double *)buf)[i] = gen(seed, g_rank, i, BIG_D);
        else
            ((float *)buf)[i] = (float)gen(seed, g_rank, i, BIG_F);
    }
    memset(buf + n * es, 0xa5, GUARD * es);
    return buf;
}

/* Compares a summed buf with the tree of every rank's input: the count of
 * elements that differ, and in *naive_differs how many elements the
 * left-to-right order would give differently.  Checks the guard. */
static size_t check_sum(const void *buf, uint64_t seed, size_t n, int dbl, size_t *naive_differs,
                        int *guard_ok)
{
    size_t es = dbl ? sizeof(double) : sizeof(float), bad = 0, naive = 0;
    float vf[64];
    double vd[64];
    for (size_t i = 0; i < n; i++) {
        for (int r = 0; r < g_size; r++) {
            vd[r] = gen(seed, r, i, dbl ? BIG_D : BIG_F);
            vf[r] = (float)vd[r];
        }
        if (dbl) {
            double want = tree_d(vd, 0, g_size), left = vd[0];
            for (int r = 1; r < g_size; r++)
                left = left + vd[r];
            bad += memcmp(&want, (const double *)buf + i, es) != 0;
            naive += memcmp(&want, &left, es) != 0;
        } else {
            float want = tree_f(vf, 0, g_size), left = vf[0];
            for (int r = 1; r < g_size; r++)
                left = left + vf[r];
            bad += memcmp(&want, (const float *)buf + i, es) != 0;
            naive += memcmp(&want, &left, es) != 0;
        }
    }
    *guard_ok = 1;
    for (size_t k = 0; k < GUARD * es; k++)
        if (((const unsigned char *)buf)[n * es + k] != 0xa5)
            *guard_ok = 0;
    *naive_differs = naive;
    return bad;
}

/* Verdict on one summed vector: right bits, same bits on every rank. */
static void verdict(const char *what, const void *buf, uint64_t seed, size_t n, int dbl,
                    int want_naive_differs)
{
    size_t naive, es = dbl ? sizeof(double) : sizeof(float);
    int guard_ok;
    size_t bad = check_sum(buf, seed, n, dbl, &naive, &guard_ok);
    if (bad)
        fprintf(stderr, "rank %d: %s n=%zu: %zu elements differ from the tree\n", g_rank, what, n,
                bad);
    int same = same_everywhere(fnv(buf, n * es));
    char how[64];
    if (bad)
        snprintf(how, sizeof how, "%zu elements differ from the tree", bad);
    else
        snprintf(how, sizeof how, "bit-identical to the tree");
    report(bad == 0 && guard_ok && same, "%s %s n=%zu: %s%s, %s", what, dbl ? "double" : "float",
           n, how, guard_ok ? "" : ", WRITTEN PAST THE END",
           same ? "same on every rank" : "NOT THE SAME ON EVERY RANK");
    if (want_naive_differs)
        report(naive > 0,
               "%s %s n=%zu: the left-to-right order differs from the tree at %zu elements",
               what, dbl ? "double" : "float", n, naive);
}

static void test_init(int launched, int world)
{
    nn_error err = {0};
    int ok = nn_dist_init(NULL, NULL, &err) == 0;
    ok &= nn_dist_rank() == g_rank && nn_dist_size() == g_size;
    report(ok, "nn_dist_init again changes nothing");
    report(nn_dist_active() == launched && g_size == (launched ? world : 1) &&
               g_rank >= 0 && g_rank < g_size,
           "%s: active %d, rank %d of %d", launched ? "under mpirun" : "alone",
           nn_dist_active(), g_rank, g_size);
#ifdef NN_MPI
    int inited = 0;
    MPI_Initialized(&inited);
    report(inited == launched, "MPI %s", inited ? "initialised" : "not initialised");
    if (launched) {
        int wr = -1;
        MPI_Comm_rank(MPI_COMM_WORLD, &wr);
        report(wr == g_rank, "rank is the MPI_COMM_WORLD rank");
    }
#endif
}

static void test_tree_sums(void)
{
    size_t lens[] = {0, 1, 3, 7, 17, 255, 1000003, (size_t)g_size - 1, (size_t)g_size + 1};
    size_t nl = sizeof lens / sizeof *lens;
    for (int dbl = 0; dbl < 2; dbl++)
        for (size_t k = 0; k < nl; k++) {
            size_t n = lens[k];
            uint64_t seed = 1000 + 10 * k + (uint64_t)dbl;
            void *buf = input(seed, n, dbl);
            nn_error err = {0};
            int rc = dbl ? nn_dist_tree_sum_d(buf, n, &err) : nn_dist_tree_sum(buf, n, &err);
            if (rc) {
                report(0, "tree_sum n=%zu: %s", n, err.msg);
            } else {
                /* With 2 ranks the tree is the left-to-right order. */
                verdict("tree_sum", buf, seed, n, dbl, g_size >= 4 && n == 1000003);
            }
            free(buf);
        }
}

/* Several sums in flight, a blocking one among them, waited last started
 * first. */
static void test_nonblocking(void)
{
    size_t lens[] = {1000003, 17, 0, 255, (size_t)g_size - 1};
    enum { NR = sizeof lens / sizeof *lens };
    float *bufs[NR];
    nn_dist_req *req[NR];
    nn_error err = {0};
    int ok = 1;
    for (int k = 0; k < NR; k++) {
        bufs[k] = input(2000 + (uint64_t)k, lens[k], 0);
        if (nn_dist_tree_sum_start(bufs[k], lens[k], &req[k], &err)) {
            ok = 0;
            req[k] = NULL;
        }
    }
    report(ok, "%d tree_sum_start in flight%s%s", NR, ok ? "" : ": ", ok ? "" : err.msg);
    report((req[2] == NULL) && (g_size > 1 || req[0] == NULL),
           "no request for n=0%s", g_size > 1 ? "" : " nor for one rank");
    double *d = input(2100, 7777, 1);
    int rc = nn_dist_tree_sum_d(d, 7777, &err);
    report(rc == 0, "blocking tree_sum_d while they are in flight%s%s", rc ? ": " : "",
           rc ? err.msg : "");
    if (rc == 0)
        verdict("tree_sum_d among requests", d, 2100, 7777, 1, 0);
    free(d);
    for (int k = NR - 1; k >= 0; k--) {
        rc = nn_dist_wait(req[k], &err);
        if (rc)
            report(0, "nn_dist_wait n=%zu: %s", lens[k], err.msg);
        else
            verdict("start+wait (reverse order)", bufs[k], 2000 + (uint64_t)k, lens[k], 0,
                    g_size >= 4 && lens[k] == 1000003);
        free(bufs[k]);
    }
    report(nn_dist_wait(NULL, &err) == 0, "nn_dist_wait(NULL) returns 0");
}

static void test_bcast(void)
{
    size_t sizes[] = {0, 1, 3, 4097, (1u << 20) + 1};
    int roots[] = {0, g_size - 1};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++)
        for (int j = 0; j < 2; j++) {
            size_t bytes = sizes[k];
            int root = roots[j];
            unsigned char *want = malloc(bytes + 1), *buf = malloc(bytes + GUARD);
            if (!want || !buf)
                exit(1);
            for (size_t i = 0; i < bytes; i++)
                want[i] = (unsigned char)mix(3000 + k * 97 + (uint64_t)root * 7 + i);
            if (g_rank == root)
                memcpy(buf, want, bytes);
            else
                memset(buf, 0x5a, bytes);
            memset(buf + bytes, 0xa5, GUARD);
            nn_error err = {0};
            int rc = nn_dist_bcast(buf, bytes, root, &err);
            int ok = rc == 0 && memcmp(buf, want, bytes) == 0;
            for (int g = 0; g < GUARD; g++)
                ok &= buf[bytes + (size_t)g] == 0xa5;
            report(ok, "bcast %zu bytes from rank %d%s%s", bytes, root, rc ? ": " : "",
                   rc ? err.msg : "");
            free(want);
            free(buf);
        }
    nn_error err = {0};
    char c = 0;
    int rc1 = nn_dist_bcast(&c, 1, g_size, &err), rc2 = nn_dist_bcast(&c, 1, -1, &err);
    report(rc1 == -1 && rc2 == -1 && err.code == NN_EXIT_RUNTIME,
           "bcast from a rank out of range fails: %s", err.msg);
}

static void test_any_max_same(void)
{
    nn_error err = {0};
    int all_ones = 1, right = 1;
    for (int k = 0; k < g_size; k++) {
        int rc = nn_dist_any(g_rank == k ? 7 : 0, &err);
        all_ones &= rc == 1;
    }
    report(all_ones, "any: one rank's flag (each rank in turn) gives 1");
    report(nn_dist_any(0, &err) == 0, "any: no flag gives 0");
    report(nn_dist_any(-5, &err) == 1, "any: every flag gives 1");

    int64_t v = (int64_t)g_rank * 1000 - 5;
    right = nn_dist_max_i64(&v, &err) == 0 && v == (int64_t)(g_size - 1) * 1000 - 5;
    report(right, "max_i64 of rank * 1000 - 5: %lld", (long long)v);
    v = g_rank == g_size - 1 ? -1 : INT64_MIN;
    right = nn_dist_max_i64(&v, &err) == 0 && v == -1;
    report(right, "max_i64 of INT64_MIN and -1: %lld", (long long)v);
    v = g_rank == 0 ? INT64_MAX : -(int64_t)g_rank;
    right = nn_dist_max_i64(&v, &err) == 0 && v == INT64_MAX;
    report(right, "max_i64 with INT64_MAX on rank 0: %lld", (long long)v);

    struct {
        uint64_t mine;
        int want;
        const char *what;
    } cases[] = {
        {42, 1, "every rank 42"},
        {g_rank == g_size - 1 ? 43u : 42u, g_size == 1, "the last rank 43, the others 42"},
        {g_rank == 0 ? 0 : UINT64_MAX, g_size == 1, "rank 0 0, the others UINT64_MAX"},
        {UINT64_MAX, 1, "every rank UINT64_MAX"},
        {0, 1, "every rank 0"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        int same = -1;
        int rc = nn_dist_same_u64(cases[k].mine, &same, &err);
        report(rc == 0 && same == cases[k].want, "same_u64, %s: %d", cases[k].what, same);
    }
}

static void test_gather(void)
{
    enum { B = 5 };
    int roots[] = {0, g_size - 1};
    for (int j = 0; j < 2; j++) {
        unsigned char mine[B], *all = malloc((size_t)g_size * B + GUARD);
        if (!all)
            exit(1);
        memset(all, 0xa5, (size_t)g_size * B + GUARD);
        for (int i = 0; i < B; i++)
            mine[i] = (unsigned char)(g_rank * 7 + i + 1);
        nn_error err = {0};
        int rc = nn_dist_gather_bytes(mine, B, all, roots[j], &err), ok = rc == 0;
        if (g_rank == roots[j]) {
            for (int r = 0; r < g_size; r++)
                for (int i = 0; i < B; i++)
                    ok &= all[r * B + i] == (unsigned char)(r * 7 + i + 1);
            for (int g = 0; g < GUARD; g++)
                ok &= all[(size_t)g_size * B + (size_t)g] == 0xa5;
        }
        report(ok, "gather_bytes of %d bytes a rank at rank %d%s%s", B, roots[j],
               rc ? ": " : "", rc ? err.msg : "");
        free(all);
    }
    nn_error err = {0};
    report(nn_dist_gather_bytes(NULL, 0, NULL, 0, &err) == 0, "gather_bytes of 0 bytes");
    report(nn_dist_gather_bytes("x", 1, NULL, g_size, &err) == -1,
           "gather_bytes at a rank out of range fails: %s", err.msg);
}

/* Not a power of two: every tree sum fails alike, whatever n; returns the
 * error's exit code. */
static int test_bad_size(void)
{
    float f[4] = {0};
    double d[4] = {0};
    nn_dist_req *req = (nn_dist_req *)&req;
    nn_error e1 = {0}, e2 = {0}, e3 = {0}, e4 = {0};
    int ok = nn_dist_tree_sum(f, 4, &e1) == -1 && nn_dist_tree_sum_d(d, 4, &e2) == -1 &&
             nn_dist_tree_sum_start(f, 4, &req, &e3) == -1 && req == NULL &&
             nn_dist_tree_sum(f, 0, &e4) == -1;
    ok &= e1.code == NN_EXIT_USAGE && !strcmp(e1.msg, e2.msg) && !strcmp(e1.msg, e3.msg) &&
          !strcmp(e1.msg, e4.msg);
    report(ok, "%d ranks: every tree sum fails (exit %d): %s", g_size, e1.code, e1.msg);
    if (g_rank == 0)
        fprintf(stderr, "test_dist: %s\n", e1.msg);
    return e1.code;
}

int main(int argc, char **argv)
{
    const char *ws = getenv("OMPI_COMM_WORLD_SIZE");
    int launched = ws || getenv("PMIX_RANK");
    int world = ws ? atoi(ws) : 1;
    nn_error err = {0};
    int pre = nn_dist_size() == 1 && nn_dist_rank() == 0 && !nn_dist_active();
    if (nn_dist_init(&argc, &argv, &err)) {
        fprintf(stderr, "test_dist: %s\n", err.msg);
        return 1;
    }
    g_rank = nn_dist_rank();
    g_size = nn_dist_size();
    if (g_size > 64) { /* check_sum's arrays */
        fprintf(stderr, "test_dist: at most 64 ranks\n");
        nn_dist_abort(1);
    }
    report(pre, "before nn_dist_init: rank 0 of 1, not active");
    test_init(launched, world);
    test_bcast();
    test_any_max_same();
    test_gather();
    int code = 0;
    if (g_size & (g_size - 1)) {
        code = test_bad_size();
    } else {
        test_tree_sums();
        test_nonblocking();
    }
    /* The summary comes first: with 3 ranks mpirun ends the others as soon
     * as one has exited with status 2. */
    if (g_rank == 0) {
        printf("test_dist: %d passed, %d failed (np=%d)\n", g_pass, g_fail, g_size);
        fflush(stdout);
    }
    nn_dist_finalize();
    int after = nn_dist_size() == 1 && nn_dist_rank() == 0 && !nn_dist_active();
    nn_dist_finalize(); /* twice is harmless */
    if (g_rank == 0) {
        printf("%s after nn_dist_finalize: rank 0 of 1, not active\n", after ? "ok  " : "FAIL");
        fflush(stdout);
    }
    if (g_fail || !after)
        return 1;
    return code;
}

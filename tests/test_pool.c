/* test_pool.c - the thread pool (src/pool): every chunk of a job runs
 * exactly once, whatever the thread count, also when several threads of
 * the process run jobs at once. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "pool/pool.h"
#include "tests.h"

/* The pool runs every chunk exactly once, whatever the thread count and
 * the number of chunks (the caller takes runs of them from the front,
 * workers from the back; they meet anywhere), over many jobs in a row.
 * Up to four times NN_POOL_MAX_CHUNKS chunks, so runs of many chunks are
 * taken too. */
#define MAX_TESTED (4 * NN_POOL_MAX_CHUNKS)

typedef struct {
    _Atomic int runs[MAX_TESTED];
} pool_count;

static void count_chunk(void *ctx, long c)
{
    pool_count *pc = ctx;
    atomic_fetch_add(&pc->runs[c], 1);
}

START_TEST(test_pool_runs_each_chunk_once)
{
    static const int threads[] = {1, 2, 3, 5};
    for (int t = 0; t < 4; t++) {
        nn_pool_set_threads(threads[t]);
        for (int job = 0; job < 2000; job++) {
            long chunks = 1 + job * 7 % MAX_TESTED;
            pool_count pc;
            for (int i = 0; i < MAX_TESTED; i++)
                atomic_init(&pc.runs[i], 0);
            nn_pool_run(count_chunk, &pc, chunks, threads[t]);
            for (long c = 0; c < MAX_TESTED; c++)
                if (atomic_load(&pc.runs[c]) != (c < chunks))
                    ck_abort_msg("%d threads, job %d of %ld chunks: chunk %ld ran %d times",
                                 threads[t], job, chunks, c, atomic_load(&pc.runs[c]));
        }
    }
    nn_pool_set_threads(1);
}
END_TEST

/* Four threads of the process (library users predicting at once) each
 * running jobs: one holds the pool, the others run theirs alone, and every
 * chunk of every job still runs exactly once. */
typedef struct {
    int seed;
    int bad;
} caller;

static void *run_jobs(void *arg)
{
    caller *me = arg;
    pool_count *pc = malloc(sizeof *pc);
    if (!pc) {
        me->bad = -1;
        return NULL;
    }
    for (int job = 0; job < 1500; job++) {
        long chunks = 1 + (job * 7 + me->seed * 13) % MAX_TESTED;
        for (int i = 0; i < MAX_TESTED; i++)
            atomic_init(&pc->runs[i], 0);
        nn_pool_run(count_chunk, pc, chunks, 3);
        for (long c = 0; c < MAX_TESTED; c++)
            if (atomic_load(&pc->runs[c]) != (c < chunks))
                me->bad++;
    }
    free(pc);
    return NULL;
}

START_TEST(test_pool_serves_concurrent_callers)
{
    nn_pool_set_threads(3);
    pthread_t t[4];
    caller callers[4] = {{0, 0}, {1, 0}, {2, 0}, {3, 0}};
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, run_jobs, &callers[i]), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 4; i++)
        ck_assert_msg(callers[i].bad == 0, "caller %d: %d chunks ran other than once", i,
                      callers[i].bad);
    nn_pool_set_threads(1);
}
END_TEST

Suite *pool_suite(void)
{
    Suite *s = suite_create("pool");
    TCase *tc = tcase_create("jobs");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_pool_runs_each_chunk_once);
    tcase_add_test(tc, test_pool_serves_concurrent_callers);
    suite_add_tcase(s, tc);
    return s;
}

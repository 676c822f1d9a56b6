/* test_pool.c - the thread pool (src/pool): every chunk of a job runs
 * exactly once, whatever the thread count. */
#include <stdatomic.h>

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

Suite *pool_suite(void)
{
    Suite *s = suite_create("pool");
    TCase *tc = tcase_create("jobs");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_pool_runs_each_chunk_once);
    suite_add_tcase(s, tc);
    return s;
}

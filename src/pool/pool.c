/* pool.c - the persistent pool of worker threads (pool.h).
 *
 * A job is a function and a number of chunks.  The caller publishes it by
 * bumping a job word, wakes sleeping workers, and then takes chunks itself
 * from the front of the chunks left while every worker that joins takes
 * them from the back (take_run); it returns once every worker that joined
 * has left.  A worker that is slow to wake (asleep, or not scheduled on a
 * busy machine) simply finds no chunk left: the job never waits for a
 * thread that has not started on it.
 *
 * Threads take runs of chunks, not single chunks: a quarter of what is
 * left per thread, down to one chunk at the end (guided scheduling).  Each
 * take is an atomic update of a word both threads write, whose cache line
 * has to travel between the cores (a few hundred ns under KVM); taking one
 * chunk at a time cost more than a fifth of the time of a product of a few
 * tens of microseconds (W2's second layer), taking runs costs a handful of
 * such trips per job while keeping single chunks for the last pieces,
 * where the threads balance their load.
 *
 * Workers waiting for a job spin for a while (a training step calls the
 * kernels every few tens of microseconds, and waking a sleeping thread
 * costs about as much as a small product) and then sleep on a condition
 * variable.  The spin lasts half a millisecond, longer than a whole step
 * of a small net: in W2's bf16 training the amx kernels keep its products
 * on one thread, the pool's only job is the batch gather once a step
 * (~330 us apart), and with a 50 us spin each gather woke a sleeping
 * worker: 2 threads ran at 0.9x of one thread, with 500 us 1.05-1.1x.  The spin is a plain loop of loads: PAUSE, the usual spin hint,
 * makes a hypervisor deschedule a virtual processor that executes many of
 * them (pause-loop exiting), and on a 2-processor KVM guest it delayed the
 * worker's start by microseconds and made it miss several percent of jobs.
 * Spinning is skipped when there are more threads than online processors,
 * where a spinning thread would only steal time from a working one.
 *
 * The job word holds the job's sequence number, its thread count and
 * whether it is open, so a worker that wakes late can never mix up two
 * jobs: it joins (counts itself in `active`) and then re-reads the word;
 * if the job has closed or changed meanwhile it leaves without touching it.
 * The caller closes the job once no chunk is left to take, so every worker
 * still counted in `active` is either finishing a chunk it took or about to
 * find none; when `active` is zero, nobody touches the job any more.
 * Sleeping and waking use the "announce, then re-check under the mutex"
 * handshake with sequentially consistent atomics, so no wake-up is lost.
 *
 * The pool runs one job at a time, for one caller: a caller takes it by
 * setting `owned`, and one that finds it taken (another thread of the
 * process, e.g. two library users predicting at once) runs every chunk of
 * its job on its own thread, which gives the same results (pool.h).
 */
#include "pool/pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 1024
#define SEQ_SHIFT 12                /* job word: seq << 12 | n << 1 | open */
#define SPIN_NS 500000L             /* spin up to 500 us before sleeping */

static struct {
    pthread_mutex_t mu;
    pthread_cond_t wake;            /* workers sleep here between jobs */
    pthread_cond_t done;            /* the caller sleeps here for the workers */
    atomic_int requested;           /* nn_pool_set_threads() */
    int started;                    /* workers 1..started are running (changed by the owner) */
    atomic_int spin;                /* spin before sleeping */
    atomic_int owned;               /* 1: a caller's job holds the pool */
    unsigned long seq;              /* the caller's job counter */
    nn_pool_fn fn;                   /* the job: written before `job` is bumped */
    void *ctx;
    /* chunks not yet taken: [front, back), as back << 32 | front; on a
     * cache line of its own, the one line every take writes */
    _Alignas(64) _Atomic uint64_t ends;
    _Alignas(64) atomic_ulong job;
    atomic_int active;              /* workers inside the job */
    atomic_int sleepers;            /* workers asleep or going to sleep on `wake` */
    atomic_int caller_asleep;
} pool = {.mu = PTHREAD_MUTEX_INITIALIZER,
          .wake = PTHREAD_COND_INITIALIZER,
          .done = PTHREAD_COND_INITIALIZER,
          .requested = 1};

static unsigned long first_job[MAX_THREADS]; /* the job word a worker starts after */

void nn_pool_set_threads(int n)
{
    pool.requested = n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : n;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    pool.spin = cores < 1 || pool.requested <= cores;
}

/* Set while this thread runs a chunk: a job started from inside a chunk
 * (a kernel called by a chunk of a wider job) runs on this thread alone. */
static _Thread_local int in_chunk;

int nn_pool_threads_for(double flops)
{
    return flops < NN_POOL_MIN_FLOPS || in_chunk ? 1 : pool.requested;
}

static long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

/* Spins until done(arg) holds, for at most SPIN_NS (not at all without
 * pool.spin); returns whether it holds. */
static int spin_until(int (*done)(void *), void *arg)
{
    long until = 0;
    for (unsigned i = 1;; i++) {
        if (done(arg))
            return 1;
        if (!pool.spin)
            return 0;
        if ((i & 255) == 0) {
            long t = now_ns();
            if (!until)
                until = t + SPIN_NS;
            else if (t > until)
                return 0;
        }
    }
}

static int job_changed(void *seen)
{
    return atomic_load(&pool.job) != *(unsigned long *)seen;
}

static int none_active(void *unused)
{
    (void)unused;
    return atomic_load(&pool.active) == 0;
}

/* The caller waits for `done` (spinning, then on the `done` condition
 * variable, which workers signal when they may have made it true). */
static void caller_wait(int (*done)(void *))
{
    if (spin_until(done, NULL))
        return;
    pthread_mutex_lock(&pool.mu);
    atomic_store(&pool.caller_asleep, 1);
    while (!done(NULL))
        pthread_cond_wait(&pool.done, &pool.mu);
    atomic_store(&pool.caller_asleep, 0);
    pthread_mutex_unlock(&pool.mu);
}

static void signal_caller(void)
{
    if (atomic_load(&pool.caller_asleep)) {
        pthread_mutex_lock(&pool.mu);
        pthread_cond_signal(&pool.done);
        pthread_mutex_unlock(&pool.mu);
    }
}

/* Takes the next run of chunks, [*lo, *hi), from the front (the caller)
 * or the back (the workers) of the ones left; 0 when none is left.  A run
 * is a quarter of what is left per thread of the job, at least one chunk.
 * With two threads the caller runs the low chunks and the worker the high
 * ones, and they meet wherever their speeds make them: a product's low part
 * (its first rows of W, say) mostly stays with one processor from call to
 * call, so its cache lines do not migrate between the cores every step.
 * Which thread runs a chunk never changes its result. */
static int take_run(int from_back, int n, long *lo, long *hi)
{
    uint64_t e = atomic_load(&pool.ends);
    for (;;) {
        uint64_t front = e & 0xFFFFFFFFu, back = e >> 32;
        if (front >= back)
            return 0;
        uint64_t k = (back - front) / (4 * (uint64_t)n);
        k = k < 1 ? 1 : k;
        uint64_t next = from_back ? (back - k) << 32 | front : back << 32 | (front + k);
        if (atomic_compare_exchange_weak(&pool.ends, &e, next)) {
            *lo = (long)(from_back ? back - k : front);
            *hi = (long)(from_back ? back : front + k);
            return 1;
        }
    }
}

/* Runs chunks until none is left: each run in increasing order. */
static void take_chunks(int from_back, int n)
{
    long lo, hi;
    in_chunk = 1;
    while (take_run(from_back, n, &lo, &hi))
        for (long c = lo; c < hi; c++)
            pool.fn(pool.ctx, c);
    in_chunk = 0;
}

static void *worker(void *arg)
{
    int me = (int)(intptr_t)arg;
    unsigned long seen = first_job[me];
    for (;;) {
        if (!spin_until(job_changed, &seen)) {
            pthread_mutex_lock(&pool.mu);
            atomic_fetch_add(&pool.sleepers, 1);
            while (atomic_load(&pool.job) == seen)
                pthread_cond_wait(&pool.wake, &pool.mu);
            atomic_fetch_sub(&pool.sleepers, 1);
            pthread_mutex_unlock(&pool.mu);
        }
        unsigned long job = atomic_load(&pool.job);
        seen = job;
        int n = (int)(job >> 1 & (MAX_THREADS * 2 - 1));
        if (!(job & 1) || me >= n)
            continue;
        atomic_fetch_add(&pool.active, 1);
        if (atomic_load(&pool.job) == job)
            take_chunks(1, n);
        if (atomic_fetch_sub(&pool.active, 1) == 1)
            signal_caller();
    }
    return NULL;
}

/* In a child of fork() only the forking thread exists: forget the workers. */
static void after_fork_child(void)
{
    pthread_mutex_init(&pool.mu, NULL);
    pthread_cond_init(&pool.wake, NULL);
    pthread_cond_init(&pool.done, NULL);
    pool.started = 0;
    atomic_store(&pool.active, 0);
    atomic_store(&pool.sleepers, 0);
    atomic_store(&pool.caller_asleep, 0);
    atomic_store(&pool.owned, 0);
}

static void register_fork_handler(void)
{
    pthread_atfork(NULL, NULL, after_fork_child);
}

/* Starts workers up to index n-1; returns how many threads can run. */
static int start_workers(int n)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, register_fork_handler);
    while (pool.started < n - 1) {
        int me = pool.started + 1;
        first_job[me] = atomic_load(&pool.job);
        pthread_attr_t attr;
        pthread_t tid;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int rc = pthread_create(&tid, &attr, worker, (void *)(intptr_t)me);
        pthread_attr_destroy(&attr);
        if (rc != 0)
            break;
        pool.started = me;
    }
    return pool.started + 1 < n ? pool.started + 1 : n;
}

void nn_pool_run(nn_pool_fn fn, void *ctx, long chunks, int n)
{
    if (n > chunks)
        n = (int)chunks;
    if (in_chunk)
        n = 1;
    /* another caller's job holds the pool: this one runs alone */
    if (n > 1 && atomic_exchange(&pool.owned, 1))
        n = 1;
    else if (n > 1 && (n = start_workers(n)) <= 1)
        atomic_store(&pool.owned, 0);
    if (n <= 1) {
        for (long c = 0; c < chunks; c++)
            fn(ctx, c);
        return;
    }
    pool.fn = fn;
    pool.ctx = ctx;
    atomic_store(&pool.ends, (uint64_t)chunks << 32);
    unsigned long job = ++pool.seq << SEQ_SHIFT | (unsigned long)n << 1 | 1;
    atomic_store(&pool.job, job);
    if (atomic_load(&pool.sleepers) > 0) {
        pthread_mutex_lock(&pool.mu);
        pthread_cond_broadcast(&pool.wake);
        pthread_mutex_unlock(&pool.mu);
    }
    take_chunks(0, n);
    /* No chunk is left to take: close the job (late workers leave at once)
     * and wait for the workers still running chunks they took. */
    atomic_store(&pool.job, job & ~1UL);
    caller_wait(none_active);        /* then nobody touches fn or ctx any more */
    atomic_store(&pool.owned, 0);
}

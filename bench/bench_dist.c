/* bench_dist.c - the time of one fixed-tree sum across MPI ranks
 * (src/dist) for vectors of several sizes, for the scaling model of
 * docs/scaling.md: run under `mpirun -np N`, rank 0 prints one line per
 * size, "floats seconds" (the median of the repetitions, each timed
 * between two barriers made of nn_dist_any), after a warm-up.
 * Usage: mpirun -np N build/mpi/bench_dist [REPS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "dist/dist.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    nn_error err = {0};
    if (nn_dist_init(&argc, &argv, &err) < 0) {
        fprintf(stderr, "bench_dist: %s\n", err.msg);
        return 1;
    }
    int reps = argc > 1 ? atoi(argv[1]) : 20;
    if (reps < 3)
        reps = 3;
    static const size_t sizes[] = {1, 1000, 10000, 100000, 1000000, 4000000};
    size_t most = sizes[sizeof sizes / sizeof sizes[0] - 1];
    float *buf = malloc(sizeof(float) * most);
    double *t = malloc(sizeof(double) * (size_t)reps);
    if (!buf || !t) {
        fprintf(stderr, "bench_dist: out of memory\n");
        nn_dist_abort(1);
    }
    for (size_t i = 0; i < most; i++)
        buf[i] = (float)(i % 7) * 0.25f;
    if (nn_dist_rank() == 0)
        printf("# ranks %d\n", nn_dist_size());
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t n = sizes[s];
        for (int r = -2; r < reps; r++) {
            if (nn_dist_any(0, &err) < 0)
                goto fail;
            double t0 = now();
            if (nn_dist_tree_sum(buf, n, &err) < 0)
                goto fail;
            double t1 = now();
            if (r >= 0)
                t[r] = t1 - t0;
            for (size_t i = 0; i < n; i++) /* keep the values from growing */
                buf[i] = (float)(i % 7) * 0.25f;
        }
        qsort(t, (size_t)reps, sizeof *t, cmp_double);
        if (nn_dist_rank() == 0)
            printf("%zu %.9f\n", n, t[reps / 2]);
    }
    free(buf);
    free(t);
    nn_dist_finalize();
    return 0;
fail:
    fprintf(stderr, "bench_dist: %s\n", err.msg);
    nn_dist_abort(1);
}

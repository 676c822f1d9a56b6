/* gendata.c - a synthetic classification set for `make bench-data`.
 *
 *   gendata ROWS FEATURES CLASSES SEED [--npy PREFIX] [--csv FILE]
 *
 * Each row's features are uniform in [-1, 1), drawn from a seeded
 * generator; its label is the arg-max of a seeded teacher network
 * (FEATURES -> 32 tanh -> CLASSES), so the set is learnable.  --npy writes
 * PREFIX-x.npy (<f4, ROWS x FEATURES) and PREFIX-y.npy (<i4); --csv a CSV
 * file with a header f0,...,label and four decimals per value.  The same
 * seed gives the same rows in both.  Written in blocks: memory does not grow
 * with ROWS. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HIDDEN 32
#define BLOCK 65536

static uint64_t rng_state;

static uint64_t next_u64(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

static double uniform(void) /* [-1, 1) */
{
    return (double)(next_u64() >> 11) * 0x1.0p-52 - 1.0;
}

/* An NPY version 1.0 header for descr and shape, padded to 64 bytes. */
static void npy_header(FILE *f, const char *descr, const char *shape)
{
    char dict[256];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                     descr, shape);
    size_t hlen = (size_t)n + 1;
    hlen += (64 - (10 + hlen) % 64) % 64;
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hlen & 255),
                             (unsigned char)(hlen >> 8)};
    fwrite(pre, 1, 10, f);
    fputs(dict, f);
    for (size_t i = (size_t)n; i + 1 < hlen; i++)
        fputc(' ', f);
    fputc('\n', f);
}

/* v in [-1, 1) with four decimals, as text; the characters written. */
static int put_fixed4(char *out, float v)
{
    int q = (int)lrintf(v * 10000.0f), k = 0;
    if (q < 0) {
        out[k++] = '-';
        q = -q;
    }
    out[k++] = (char)('0' + q / 10000);
    out[k++] = '.';
    q %= 10000;
    out[k++] = (char)('0' + q / 1000);
    out[k++] = (char)('0' + q / 100 % 10);
    out[k++] = (char)('0' + q / 10 % 10);
    out[k++] = (char)('0' + q % 10);
    return k;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: gendata ROWS FEATURES CLASSES SEED [--npy PREFIX] [--csv FILE]\n");
        return 2;
    }
    unsigned long long rows = strtoull(argv[1], NULL, 10);
    int F = atoi(argv[2]), C = atoi(argv[3]);
    rng_state = strtoull(argv[4], NULL, 10);
    const char *npy = NULL, *csv = NULL;
    for (int i = 5; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--npy"))
            npy = argv[i + 1];
        else if (!strcmp(argv[i], "--csv"))
            csv = argv[i + 1];
    }
    if (rows == 0 || F < 1 || F > 4096 || C < 2 || C > 1000) {
        fprintf(stderr, "gendata: bad sizes\n");
        return 2;
    }
    float *w1 = malloc(sizeof(float) * (size_t)F * HIDDEN), *w2 = malloc(sizeof(float) * HIDDEN * (size_t)C);
    float *x = malloc(sizeof(float) * (size_t)F * BLOCK);
    int32_t *y = malloc(sizeof(int32_t) * BLOCK);
    char *line = malloc((size_t)F * 8 + 16);
    if (!w1 || !w2 || !x || !y || !line)
        return 1;
    for (int i = 0; i < F * HIDDEN; i++)
        w1[i] = (float)(uniform() * 2.0 / sqrt((double)F));
    for (int i = 0; i < HIDDEN * C; i++)
        w2[i] = (float)(uniform() * 2.0 / sqrt((double)HIDDEN));
    FILE *fx = NULL, *fy = NULL, *fc = NULL;
    char path[4096], shape[128];
    if (npy) {
        snprintf(path, sizeof path, "%s-x.npy", npy);
        fx = fopen(path, "wb");
        snprintf(path, sizeof path, "%s-y.npy", npy);
        fy = fopen(path, "wb");
        if (!fx || !fy) {
            perror(path);
            return 1;
        }
        snprintf(shape, sizeof shape, "(%llu, %d)", rows, F);
        npy_header(fx, "<f4", shape);
        snprintf(shape, sizeof shape, "(%llu,)", rows);
        npy_header(fy, "<i4", shape);
    }
    if (csv) {
        fc = fopen(csv, "wb");
        if (!fc) {
            perror(csv);
            return 1;
        }
        for (int f = 0; f < F; f++)
            fprintf(fc, "f%d,", f);
        fputs("label\n", fc);
    }
    for (unsigned long long at = 0; at < rows; at += BLOCK) {
        size_t n = rows - at < BLOCK ? (size_t)(rows - at) : BLOCK;
        for (size_t r = 0; r < n; r++) {
            float *xr = x + r * (size_t)F, h[HIDDEN];
            for (int f = 0; f < F; f++) /* four decimals, so the CSV holds the same values */
                xr[f] = (float)lrint(uniform() * 10000.0) / 10000.0f;
            for (int j = 0; j < HIDDEN; j++) {
                double s = 0;
                for (int f = 0; f < F; f++)
                    s += (double)xr[f] * w1[f * HIDDEN + j];
                h[j] = (float)tanh(s);
            }
            int best = 0;
            double top = -INFINITY;
            for (int c = 0; c < C; c++) {
                double s = 0;
                for (int j = 0; j < HIDDEN; j++)
                    s += (double)h[j] * w2[j * C + c];
                if (s > top) {
                    top = s;
                    best = c;
                }
            }
            y[r] = best;
            if (fc) {
                int k = 0;
                for (int f = 0; f < F; f++) {
                    k += put_fixed4(line + k, xr[f]);
                    line[k++] = ',';
                }
                k += sprintf(line + k, "%d\n", best);
                fwrite(line, 1, (size_t)k, fc);
            }
        }
        if (fx && (fwrite(x, sizeof(float), n * (size_t)F, fx) != n * (size_t)F ||
                   fwrite(y, sizeof(int32_t), n, fy) != n)) {
            perror("gendata: write");
            return 1;
        }
    }
    int bad = 0;
    if (fx)
        bad |= fclose(fx) | fclose(fy);
    if (fc)
        bad |= fclose(fc);
    if (bad) {
        perror("gendata: close");
        return 1;
    }
    free(w1);
    free(w2);
    free(x);
    free(y);
    free(line);
    return 0;
}

/* classify.c - libnntrain in a dozen lines: load the checkpoint argv[1],
 * read rows of comma-separated features from stdin and print each row's
 * class, as the first column of `nntrain --predict` (which also quotes a
 * name holding a comma or a quote, as CSV does).
 *   cc classify.c $(pkg-config --cflags --libs nntrain) -o classify */
#include <nntrain.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    nntrain_model *m;
    nntrain_info info;
    nntrain_error err;
    if (argc != 2 || nntrain_open(argv[1], &m, &err) || nntrain_describe(m, &info, &err)) {
        fprintf(stderr, "classify: %s\n", argc != 2 ? "usage: classify CHECKPOINT" : err.message);
        return 1;
    }
    float *x = malloc(sizeof(float) * (size_t)info.n_inputs);
    char line[65536];
    while (fgets(line, sizeof line, stdin)) {
        char *p = line;
        for (int i = 0; i < info.n_inputs; i++, p += *p == ',')
            x[i] = (float)strtod(p, &p);
        int label;
        if (nntrain_predict(m, x, 1, (size_t)info.n_inputs, &label, NULL, 0, &err)) {
            fprintf(stderr, "classify: %s\n", err.message);
            return 1;
        }
        const char *name = nntrain_class_name(m, label);
        name ? printf("%s\n", name) : printf("%d\n", label);
    }
    free(x);
    nntrain_close(m);
    return 0;
}

/* eval_report.c - what --eval shows: the sample count, the loss, the
 * accuracy and macro-averaged F1, per-class precision, recall, support and
 * F1, and the confusion matrix (or the regression errors), as text or one JSON object
 * (a figure that is not a finite number: "-" in text, null in JSON). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/csvout.h"

static void print_number_or_null(FILE *f, double v, bool json)
{
    if (json)
        nn_json_number(f, "%.6g", v);
    else if (isfinite(v))
        fprintf(f, "%.4f", v);
    else
        fputs("-", f);
}

/* "name":v, JSON's full precision */
static void json_field(FILE *f, const char *name, double v)
{
    fprintf(f, ",\"%s\":", name);
    nn_json_number(f, "%.9g", v);
}

static void print_regression(FILE *f, const nntrain_metrics *r, bool json)
{
    size_t samples = (size_t)r->samples;
    if (json) {
        fprintf(f, "{\"samples\":%zu", samples);
        json_field(f, "loss", r->loss);
        json_field(f, "mse", r->mse);
        json_field(f, "mae", r->mae);
        fputs(",\"r2\":", f);
        print_number_or_null(f, r->r2, true);
        fputs("}\n", f);
        return;
    }
    fprintf(f, "samples   %zu\nloss      %.6f\nmse       %.6f\nmae       %.6f\nr2        ",
            samples, r->loss, r->mse, r->mae); /* not finite: printf's inf or nan */
    print_number_or_null(f, r->r2, false);
    fputc('\n', f);
}

/* A class as shown to the user: its original name, or its number. */
static void class_text(char *buf, size_t cap, char *const *names, int c)
{
    if (names)
        snprintf(buf, cap, "%s", names[c]);
    else
        snprintf(buf, cap, "%d", c);
}

/* Class c's F1 score from the confusion matrix cm (C x C), 2 TP / (2 TP +
 * FP + FN); NaN when the class neither occurs nor is predicted (as
 * eval/metrics.h's nn_acc_f1). */
static double f1_of(const uint64_t *cm, int C, int c)
{
    size_t n = (size_t)C, tp = cm[(size_t)c * n + (size_t)c], fp = 0, fn = 0;
    for (size_t k = 0; k < n; k++) {
        if (k == (size_t)c)
            continue;
        fp += cm[k * n + (size_t)c];
        fn += cm[(size_t)c * n + k];
    }
    double den = 2.0 * (double)tp + (double)fp + (double)fn;
    return den > 0 ? 2.0 * (double)tp / den : NAN;
}

/* The mean of the defined per-class F1 scores (nn_acc_macro_f1). */
static double macro_f1_of(const uint64_t *cm, int C)
{
    double sum = 0;
    int defined = 0;
    for (int c = 0; c < C; c++) {
        double f = f1_of(cm, C, c);
        if (!isnan(f)) {
            sum += f;
            defined++;
        }
    }
    return defined ? sum / defined : NAN;
}

static void print_classification(FILE *f, const nntrain_metrics *r, int C, const uint64_t *cm,
                                 char *const *names, bool json)
{
    size_t samples = (size_t)r->samples;
    int width = 6; /* widest class name, for the text tables */
    char name[64];
    for (int c = 0; names && c < C; c++) {
        int w = (int)strlen(names[c]);
        width = w > width ? (w > 20 ? 20 : w) : width;
    }
    double macro_f1 = macro_f1_of(cm, C);
    if (json) {
        fprintf(f, "{\"samples\":%zu", samples);
        json_field(f, "loss", r->loss);
        fputs(",\"accuracy\":", f);
        print_number_or_null(f, r->accuracy, true);
        fputs(",\"macro_f1\":", f);
        print_number_or_null(f, macro_f1, true);
        fputs(",\"classes\":[", f);
    } else {
        fprintf(f, "samples   %zu\nloss      %.6f\naccuracy  %.4f\nmacro f1  ", samples, r->loss,
                r->accuracy);
        print_number_or_null(f, macro_f1, false);
        fprintf(f, "\n\n%-*s  precision  recall  support  f1\n", width, "class");
    }
    for (int c = 0; c < C; c++) {
        size_t tp = (size_t)cm[(size_t)c * C + c], predicted = 0, actual = 0;
        for (int k = 0; k < C; k++) {
            predicted += cm[(size_t)k * C + c];
            actual += cm[(size_t)c * C + k];
        }
        double precision = predicted ? (double)tp / (double)predicted : NAN;
        double recall = actual ? (double)tp / (double)actual : NAN;
        double f1 = f1_of(cm, C, c);
        if (json) {
            fputs(c ? ",{\"class\":" : "{\"class\":", f);
            if (names)
                nn_json_string(f, names[c]);
            else
                fprintf(f, "%d", c);
            fputs(",\"precision\":", f);
            print_number_or_null(f, precision, true);
            fputs(",\"recall\":", f);
            print_number_or_null(f, recall, true);
            fputs(",\"f1\":", f);
            print_number_or_null(f, f1, true);
            fprintf(f, ",\"support\":%zu}", actual);
        } else {
            class_text(name, sizeof name, names, c);
            fprintf(f, "%-*.*s  ", width, width, name);
            print_number_or_null(f, precision, false);
            fputs(isfinite(precision) ? "     " : "          ", f);
            print_number_or_null(f, recall, false);
            fprintf(f, isfinite(recall) ? "  %7zu  " : "       %7zu  ", actual);
            print_number_or_null(f, f1, false);
            fputc('\n', f);
        }
    }
    if (json) {
        fputs("],\"confusion\":[", f);
        for (int row = 0; row < C; row++) {
            fputs(row ? ",[" : "[", f);
            for (int c = 0; c < C; c++)
                fprintf(f, "%s%zu", c ? "," : "", (size_t)cm[(size_t)row * C + c]);
            fputc(']', f);
        }
        fputs("]}\n", f);
        return;
    }
    fprintf(f, "\nconfusion matrix (rows: true class, columns: predicted class)\n%-*s", width, "");
    for (int c = 0; c < C; c++) {
        class_text(name, sizeof name, names, c);
        fprintf(f, " %*.*s", width, width, name);
    }
    fputc('\n', f);
    for (int row = 0; row < C; row++) {
        class_text(name, sizeof name, names, row);
        fprintf(f, "%-*.*s", width, width, name);
        for (int c = 0; c < C; c++)
            fprintf(f, " %*zu", width, (size_t)cm[(size_t)row * C + c]);
        fputc('\n', f);
    }
}

void nn_cli_print_eval(FILE *f, const nntrain_evaluation *r, bool json)
{
    if (r->task == NNTRAIN_TASK_REGRESSION)
        print_regression(f, &r->metrics, json);
    else
        print_classification(f, &r->metrics, r->n_classes, r->confusion, r->class_names, json);
}

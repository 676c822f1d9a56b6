/* plot.c - the SVG documents of --plot (plot.h). */
#include "eval/plot.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/bytes.h"

/* ---- text and numbers, without the locale ------------------------------------------ */

static void put(nn_bytes *w, const char *s) { nn_put_raw(w, s, strlen(s)); }

/* printf into the document: only for %s, %c and integer conversions, which
 * do not depend on the locale (no floating point goes through here). */
__attribute__((format(printf, 2, 3))) static void putf(nn_bytes *w, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > 0)
        nn_put_raw(w, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

/* v with `decimals` digits after the point (0..9), by integer arithmetic;
 * trailing zeros dropped when `strip`.  Values beyond 1e15 come out in an
 * exponent form ("3e17"); non-finite ones as "0". */
static void fixed(char *out, size_t cap, double v, int decimals, bool strip)
{
    static const long long pow10[] = {1,       10,       100,       1000,      10000,
                                      100000,  1000000,  10000000,  100000000, 1000000000};
    if (!isfinite(v)) {
        snprintf(out, cap, "0");
        return;
    }
    double scaled = round(fabs(v) * (double)pow10[decimals]);
    if (scaled >= 9e15) {
        int e = (int)floor(log10(fabs(v)));
        long long mant = llround(v / pow(10.0, e - 3)); /* 4 significant digits */
        snprintf(out, cap, "%lld.%03llde%d", mant / 1000, llabs(mant % 1000), e);
        return;
    }
    unsigned long long q = (unsigned long long)scaled, unit = (unsigned long long)pow10[decimals];
    const char *sign = v < 0 && q != 0 ? "-" : "";
    if (decimals == 0) {
        snprintf(out, cap, "%s%llu", sign, q);
        return;
    }
    char frac[24];
    snprintf(frac, sizeof frac, "%0*llu", decimals, q % unit);
    if (strip) {
        size_t len = strlen(frac);
        while (len > 0 && frac[len - 1] == '0')
            frac[--len] = '\0';
    }
    if (frac[0])
        snprintf(out, cap, "%s%llu.%s", sign, q / unit, frac);
    else
        snprintf(out, cap, "%s%llu", sign, q / unit);
}

/* A coordinate: two decimals at most. */
static void num(nn_bytes *w, double v)
{
    char buf[48];
    fixed(buf, sizeof buf, v, 2, true);
    put(w, buf);
}

/* A metric for a title or legend: 4 decimals, or an exponent form for the
 * very small and very large. */
static void metric_text(char *out, size_t cap, double v)
{
    if (!isfinite(v)) {
        snprintf(out, cap, "-");
        return;
    }
    double a = fabs(v);
    if (a != 0 && (a < 1e-3 || a >= 1e9)) {
        int e = (int)floor(log10(a));
        char m[48];
        fixed(m, sizeof m, v / pow(10.0, e), 3, true);
        snprintf(out, cap, "%se%d", m, e);
    } else {
        fixed(out, cap, v, 4, false);
    }
}

/* Text from the data, escaped for XML; at most `max` bytes of it (then
 * "..."), cut between characters.  Bytes that are not valid UTF-8 or not
 * allowed in XML 1.0 become "?". */
static void esc(nn_bytes *w, const char *s, size_t max)
{
    size_t used = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p;
        size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3
                                   : (c & 0xf8) == 0xf0 ? 4 : 0;
        bool ok = len > 0;
        for (size_t k = 1; ok && k < len; k++)
            ok = (p[k] & 0xc0) == 0x80;
        if (ok && len == 2)
            ok = c >= 0xc2;
        if (ok && len == 3) { /* no overlong forms, no surrogates */
            unsigned cp = (c & 0x0fu) << 12 | (p[1] & 0x3fu) << 6 | (p[2] & 0x3fu);
            ok = cp >= 0x800 && (cp < 0xd800 || cp > 0xdfff) && cp != 0xfffe && cp != 0xffff;
        }
        if (ok && len == 4) {
            unsigned cp = (c & 0x07u) << 18 | (p[1] & 0x3fu) << 12 | (p[2] & 0x3fu) << 6 |
                          (p[3] & 0x3fu);
            ok = cp >= 0x10000 && cp <= 0x10ffff;
        }
        if (!ok)
            len = 1;
        if (used + len > max) {
            put(w, "...");
            return;
        }
        used += len;
        if (!ok || (c < 0x20 && c != '\t'))
            put(w, "?");
        else if (c == '&')
            put(w, "&amp;");
        else if (c == '<')
            put(w, "&lt;");
        else if (c == '>')
            put(w, "&gt;");
        else if (c == '"')
            put(w, "&quot;");
        else if (c == '\'')
            put(w, "&apos;");
        else
            nn_put_raw(w, p, len);
        p += len;
    }
}

/* ---- axes ------------------------------------------------------------------------- */

/* Ticks at multiples of step = m * 10^p (m 1, 2 or 5) covering [lo, hi]. */
typedef struct {
    double lo, hi, step;
    long long m;
    int p;
} ticks;

static void nice_ticks(double lo, double hi, int want, bool integers, ticks *t)
{
    if (!isfinite(lo) || !isfinite(hi)) {
        lo = 0;
        hi = 1;
    }
    if (!(hi > lo)) {
        double d = fabs(lo) > 0 ? fabs(lo) * 0.1 : 1;
        lo -= d;
        hi += d;
    }
    double raw = (hi - lo) / want;
    int p = (int)floor(log10(raw));
    double base = pow(10.0, p), f = raw / base;
    long long m = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
    if (m == 10) {
        m = 1;
        p++;
        base *= 10;
    }
    if (integers && p < 0) {
        m = 1;
        p = 0;
        base = 1;
    }
    t->m = m;
    t->p = p;
    t->step = (double)m * base;
    t->lo = floor(lo / t->step + 1e-9) * t->step;
    t->hi = ceil(hi / t->step - 1e-9) * t->step;
    if (!(t->hi > t->lo))
        t->hi = t->lo + t->step;
}

/* The label of tick k (value k * step), exact: k*m digits and a decimal
 * point or zeros from p. */
static void tick_label(char *out, size_t cap, const ticks *t, long long k)
{
    long long a = k * t->m;
    if (t->p >= 0 && t->p <= 12) {
        long long v = a;
        for (int i = 0; i < t->p; i++)
            v *= 10;
        snprintf(out, cap, "%lld", v);
    } else if (t->p < 0 && t->p >= -9) {
        long long unit = 1;
        for (int i = 0; i < -t->p; i++)
            unit *= 10;
        snprintf(out, cap, "%s%lld.%0*lld", a < 0 ? "-" : "", llabs(a) / unit, -t->p,
                 llabs(a) % unit);
    } else {
        snprintf(out, cap, "%llde%d", a, t->p);
    }
}

/* A plot area: its place in the document and the ranges it shows. */
typedef struct {
    double x0, y0, w, h;
    ticks tx, ty;
} frame;

static double fx(const frame *f, double x) { return f->x0 + (x - f->tx.lo) / (f->tx.hi - f->tx.lo) * f->w; }
static double fy(const frame *f, double y)
{
    return f->y0 + f->h - (y - f->ty.lo) / (f->ty.hi - f->ty.lo) * f->h;
}

static void line(nn_bytes *w, double x1, double y1, double x2, double y2, const char *attrs)
{
    put(w, "<line x1=\"");
    num(w, x1);
    put(w, "\" y1=\"");
    num(w, y1);
    put(w, "\" x2=\"");
    num(w, x2);
    put(w, "\" y2=\"");
    num(w, y2);
    putf(w, "\" %s/>\n", attrs);
}

static void text_at(nn_bytes *w, double x, double y, const char *attrs, const char *s, size_t max)
{
    put(w, "<text x=\"");
    num(w, x);
    put(w, "\" y=\"");
    num(w, y);
    putf(w, "\" %s>", attrs);
    esc(w, s, max);
    put(w, "</text>\n");
}

/* The frame, the grid, the ticks and their labels, and the axis labels. */
static void axes(nn_bytes *w, const frame *f, const char *xlabel, const char *ylabel)
{
    put(w, "<rect x=\"");
    num(w, f->x0);
    put(w, "\" y=\"");
    num(w, f->y0);
    put(w, "\" width=\"");
    num(w, f->w);
    put(w, "\" height=\"");
    num(w, f->h);
    put(w, "\" fill=\"#ffffff\" stroke=\"#333333\"/>\n<g class=\"xticks\">\n");
    char label[64];
    long long k0 = llround(f->tx.lo / f->tx.step), k1 = llround(f->tx.hi / f->tx.step);
    for (long long k = k0; k <= k1; k++) {
        double x = fx(f, (double)k * f->tx.step);
        if (k > k0 && k < k1)
            line(w, x, f->y0, x, f->y0 + f->h, "stroke=\"#e5e5e5\"");
        line(w, x, f->y0 + f->h, x, f->y0 + f->h + 5, "stroke=\"#333333\"");
        tick_label(label, sizeof label, &f->tx, k);
        text_at(w, x, f->y0 + f->h + 18, "text-anchor=\"middle\"", label, 64);
    }
    put(w, "</g>\n<g class=\"yticks\">\n");
    k0 = llround(f->ty.lo / f->ty.step);
    k1 = llround(f->ty.hi / f->ty.step);
    for (long long k = k0; k <= k1; k++) {
        double y = fy(f, (double)k * f->ty.step);
        if (k > k0 && k < k1)
            line(w, f->x0, y, f->x0 + f->w, y, "stroke=\"#e5e5e5\"");
        line(w, f->x0 - 5, y, f->x0, y, "stroke=\"#333333\"");
        tick_label(label, sizeof label, &f->ty, k);
        text_at(w, f->x0 - 8, y + 4, "text-anchor=\"end\"", label, 64);
    }
    put(w, "</g>\n");
    text_at(w, f->x0 + f->w / 2, f->y0 + f->h + 40, "text-anchor=\"middle\" class=\"xlabel\"",
            xlabel, 200);
    double yx = f->x0 - 58, yy = f->y0 + f->h / 2;
    put(w, "<text x=\"");
    num(w, yx);
    put(w, "\" y=\"");
    num(w, yy);
    put(w, "\" text-anchor=\"middle\" class=\"ylabel\" transform=\"rotate(-90 ");
    num(w, yx);
    put(w, " ");
    num(w, yy);
    put(w, ")\">");
    esc(w, ylabel, 200);
    put(w, "</text>\n");
}

static void begin(nn_bytes *w, double width, double height, const char *title)
{
    put(w, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
           "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"");
    num(w, width);
    put(w, "\" height=\"");
    num(w, height);
    put(w, "\" viewBox=\"0 0 ");
    num(w, width);
    put(w, " ");
    num(w, height);
    put(w, "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\">\n"
           "<title>");
    esc(w, title, 400);
    put(w, "</title>\n<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n");
    text_at(w, width / 2, 28, "text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\" "
                              "class=\"title\"", title, 400);
}

/* The document, or -1 with *err on out of memory. */
static int finish(nn_bytes *w, char **svg, size_t *n, nn_error *err)
{
    put(w, "</svg>\n");
    nn_put_raw(w, "", 1); /* the NUL */
    if (w->oom) {
        free(w->p);
        nn_error_set(err, NN_EXIT_RUNTIME, "out of memory drawing the plot");
        return -1;
    }
    *svg = (char *)w->p;
    *n = w->len - 1;
    return 0;
}

/* ---- learning curves --------------------------------------------------------------- */

#define C_TRAIN "#1f77b4"
#define C_VAL "#d62728"
#define C_BEST "#2ca02c"

/* Range of the finite values of metric k (if any) into [*lo, *hi]. */
static void widen(const nn_history *h, int k, double *lo, double *hi)
{
    for (size_t i = 0; k >= 0 && i < h->n; i++) {
        double v = h->values[i * (size_t)h->n_metrics + (size_t)k];
        if (isfinite(v)) {
            *lo = v < *lo ? v : *lo;
            *hi = v > *hi ? v : *hi;
        }
    }
}

static size_t finite_count(const nn_history *h, int k)
{
    size_t n = 0;
    for (size_t i = 0; k >= 0 && i < h->n; i++)
        n += isfinite(h->values[i * (size_t)h->n_metrics + (size_t)k]) != 0;
    return n;
}

/* Metric k as a polyline (its non-finite values left out). */
static void series(nn_bytes *w, const frame *f, const nn_history *h, int k, const char *colour)
{
    if (finite_count(h, k) == 0)
        return;
    putf(w, "<polyline id=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"",
         h->names[k], colour);
    bool first = true;
    double lx = 0, ly = 0;
    for (size_t i = 0; i < h->n; i++) {
        double v = h->values[i * (size_t)h->n_metrics + (size_t)k];
        if (!isfinite(v))
            continue;
        if (!first)
            put(w, " ");
        lx = fx(f, (double)h->epochs[i]);
        ly = fy(f, v);
        num(w, lx);
        put(w, ",");
        num(w, ly);
        first = false;
    }
    put(w, "\"/>\n");
    if (finite_count(h, k) == 1) { /* a lone point is no line: a dot shows it */
        put(w, "<circle cx=\"");
        num(w, lx);
        put(w, "\" cy=\"");
        num(w, ly);
        putf(w, "\" r=\"3\" fill=\"%s\"/>\n", colour);
    }
}

/* One legend entry at (x, y): a swatch and its text; returns the x after it. */
static double legend_entry(nn_bytes *w, double x, double y, const char *colour, bool dashed,
                           const char *label)
{
    char attrs[128];
    snprintf(attrs, sizeof attrs, "stroke=\"%s\" stroke-width=\"2\"%s", colour,
             dashed ? " stroke-dasharray=\"5,3\"" : "");
    line(w, x, y - 4, x + 22, y - 4, attrs);
    text_at(w, x + 28, y, "", label, 200);
    return x + 28 + 7.0 * (double)strlen(label) + 18;
}

typedef struct {
    const char *title, *ylabel, *id;
    int train, val; /* metric indices, -1 when absent */
} panel;

static void draw_panel(nn_bytes *w, const nn_ckpt *c, const nn_history *h, const panel *p,
                       double x0, bool mark_best_point)
{
    frame f = {.x0 = x0, .y0 = 70, .w = 360, .h = 300};
    double first = (double)h->epochs[0], last = (double)h->epochs[h->n - 1];
    nice_ticks(first, last, 6, true, &f.tx);
    double lo = INFINITY, hi = -INFINITY;
    widen(h, p->train, &lo, &hi);
    widen(h, p->val, &lo, &hi);
    bool best = c->best_epoch >= 1 && p->val >= 0 && finite_count(h, p->val) > 0 &&
                (double)c->best_epoch >= f.tx.lo && (double)c->best_epoch <= f.tx.hi;
    if (best && mark_best_point && isfinite(c->best_val_loss)) {
        lo = c->best_val_loss < lo ? c->best_val_loss : lo;
        hi = c->best_val_loss > hi ? c->best_val_loss : hi;
    }
    nice_ticks(lo, hi, 5, false, &f.ty);
    putf(w, "<g id=\"%s\">\n", p->id);
    text_at(w, f.x0 + f.w / 2, f.y0 - 10, "text-anchor=\"middle\" font-size=\"14\"", p->title,
            100);
    axes(w, &f, "epoch", p->ylabel);
    series(w, &f, h, p->train, C_TRAIN);
    series(w, &f, h, p->val, C_VAL);
    double bx = best ? fx(&f, (double)c->best_epoch) : 0;
    if (best)
        line(w, bx, f.y0, bx, f.y0 + f.h,
             "class=\"best-line\" stroke=\"" C_BEST "\" stroke-width=\"1.5\" "
             "stroke-dasharray=\"5,3\"");
    if (best && mark_best_point && isfinite(c->best_val_loss)) {
        put(w, "<circle id=\"best-epoch\" cx=\"");
        num(w, bx);
        put(w, "\" cy=\"");
        num(w, fy(&f, c->best_val_loss));
        put(w, "\" r=\"5\" fill=\"none\" stroke=\"" C_BEST "\" stroke-width=\"2\"/>\n");
    }
    put(w, "<g class=\"legend\">\n");
    double lx = f.x0, ly = f.y0 + f.h + 64;
    if (finite_count(h, p->train))
        lx = legend_entry(w, lx, ly, C_TRAIN, false, "training");
    if (finite_count(h, p->val))
        lx = legend_entry(w, lx, ly, C_VAL, false, "validation");
    if (best) {
        char label[64];
        snprintf(label, sizeof label, "best epoch %lld", (long long)c->best_epoch);
        legend_entry(w, lx, ly, C_BEST, true, label);
    }
    put(w, "</g>\n</g>\n");
}

int nn_plot_history(const nn_ckpt *c, const char *name, char **svg, size_t *n, nn_error *err)
{
    const nn_history *h = &c->hist;
    *svg = NULL;
    *n = 0;
    if (h->n == 0 || h->n_metrics == 0) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: no history of metrics to plot (%s)", name,
                     c->format < 4 ? "a format-3 checkpoint, from nntrain 0.1.0, keeps none"
                                   : "the checkpoint was written without one, or before its "
                                     "first epoch ended");
        return -1;
    }
    bool regression = nn_history_find(h, "train_r2") >= 0 || nn_history_find(h, "train_mae") >= 0;
    panel loss = {"Loss", "loss", "loss-panel", nn_history_find(h, "train_loss"),
                  nn_history_find(h, "val_loss")};
    panel second = {"Accuracy", "accuracy", "accuracy-panel", nn_history_find(h, "train_accuracy"),
                    nn_history_find(h, "val_accuracy")};
    if (regression) {
        int tr = nn_history_find(h, "train_r2"), va = nn_history_find(h, "val_r2");
        if (finite_count(h, tr) + finite_count(h, va) > 0)
            second = (panel){"R\xc2\xb2 (coefficient of determination)", "R\xc2\xb2",
                             "r2-panel", tr, va};
        else
            second = (panel){"Mean absolute error", "MAE", "mae-panel",
                             nn_history_find(h, "train_mae"), nn_history_find(h, "val_mae")};
    }
    nn_bytes w = {0};
    char title[512];
    snprintf(title, sizeof title, "Learning curves: %s", name);
    begin(&w, 1000, 460, title);
    char sub[160];
    if (h->stride > 1)
        snprintf(sub, sizeof sub, "%lld epochs, every %lld-th shown and the last",
                 (long long)h->epochs[h->n - 1], (long long)h->stride);
    else
        snprintf(sub, sizeof sub, "%lld epochs", (long long)h->epochs[h->n - 1]);
    text_at(&w, 500, 46, "text-anchor=\"middle\" fill=\"#555555\"", sub, 160);
    draw_panel(&w, c, h, &loss, 90, true);
    draw_panel(&w, c, h, &second, 590, false);
    return finish(&w, svg, n, err);
}

/* ---- the confusion matrix ------------------------------------------------------------ */

static void class_name(char *out, size_t cap, char *const *names, int k)
{
    if (names)
        snprintf(out, cap, "%s", names[k]);
    else
        snprintf(out, cap, "%d", k);
}

/* White to dark blue. */
static void shade(char out[8], double t)
{
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    int r = (int)lround(255 + (8 - 255) * t), g = (int)lround(255 + (48 - 255) * t),
        b = (int)lround(255 + (107 - 255) * t);
    snprintf(out, 8, "#%02x%02x%02x", r, g, b);
}

static int heatmap(const nn_eval_report *r, const char *data, char **svg, size_t *n,
                   nn_error *err)
{
    int K = r->acc.classes;
    const size_t *cm = r->acc.confusion;
    if (!cm) {
        nn_error_set(err, NN_EXIT_RUNTIME, "no confusion matrix to draw");
        return -1;
    }
    if (K > NN_PLOT_MAX_CLASSES) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%d classes are too many for a confusion-matrix plot (at most %d)", K,
                     NN_PLOT_MAX_CLASSES);
        return -1;
    }
    char *const *names = r->n_classes == K ? r->class_names : NULL;
    size_t longest = 1, max = 0;
    char name[256];
    for (int k = 0; k < K; k++) {
        class_name(name, sizeof name, names, k);
        size_t len = strlen(name) > 24 ? 24 : strlen(name);
        longest = len > longest ? len : longest;
    }
    for (size_t i = 0; i < (size_t)K * (size_t)K; i++)
        max = cm[i] > max ? cm[i] : max;
    double cell = 480.0 / K;
    cell = cell > 56 ? 56 : cell < 4.8 ? 4.8 : cell;
    double font = cell * 0.3 > 12 ? 12 : cell * 0.3 < 5 ? 5 : cell * 0.3;
    double lab = (double)longest * font * 0.62 + 12, grid = cell * K;
    double left = 50 + lab, top = 80, width = left + grid + 150,
           height = top + grid + lab * 0.75 + 70;
    if (width < 520)
        width = 520;
    width = ceil(width); /* whole pixels, for renderers that size by them */
    height = ceil(height);
    nn_bytes w = {0};
    char title[512];
    snprintf(title, sizeof title, "Confusion matrix: %s", data);
    begin(&w, width, height, title);
    char sub[200];
    snprintf(sub, sizeof sub, "%zu samples, accuracy ", r->r.samples);
    metric_text(sub + strlen(sub), sizeof sub - strlen(sub), r->r.accuracy);
    snprintf(sub + strlen(sub), sizeof sub - strlen(sub), ", macro F1 ");
    metric_text(sub + strlen(sub), sizeof sub - strlen(sub), nn_acc_macro_f1(&r->acc));
    text_at(&w, width / 2, 48, "text-anchor=\"middle\" fill=\"#555555\"", sub, 200);
    put(&w, "<g id=\"heatmap\">\n");
    char colour[8], count[32], fs[48], textattrs[160];
    fixed(fs, sizeof fs, font, 1, true);
    for (int i = 0; i < K; i++)
        for (int j = 0; j < K; j++) {
            size_t v = cm[(size_t)i * (size_t)K + (size_t)j];
            double t = max ? (double)v / (double)max : 0;
            shade(colour, t);
            double x = left + cell * j, y = top + cell * i;
            putf(&w, "<g class=\"cell\" id=\"cell-%d-%d\"><title>true ", i, j);
            class_name(name, sizeof name, names, i);
            esc(&w, name, 200);
            put(&w, ", predicted ");
            class_name(name, sizeof name, names, j);
            esc(&w, name, 200);
            putf(&w, ": %zu</title><rect x=\"", v);
            num(&w, x);
            put(&w, "\" y=\"");
            num(&w, y);
            put(&w, "\" width=\"");
            num(&w, cell);
            put(&w, "\" height=\"");
            num(&w, cell);
            putf(&w, "\" fill=\"%s\" stroke=\"#cccccc\" stroke-width=\"0.5\"/>", colour);
            if (K <= 30) {
                snprintf(count, sizeof count, "%zu", v);
                snprintf(textattrs, sizeof textattrs,
                         "text-anchor=\"middle\" font-size=\"%s\" fill=\"%s\" class=\"count\"", fs,
                         t > 0.5 ? "#ffffff" : "#000000");
                text_at(&w, x + cell / 2, y + cell / 2 + font * 0.35, textattrs, count, 32);
            }
            put(&w, "</g>\n");
        }
    put(&w, "</g>\n<g class=\"row-labels\">\n");
    snprintf(textattrs, sizeof textattrs, "text-anchor=\"end\" font-size=\"%s\" class=\"class\"",
             fs);
    for (int i = 0; i < K; i++) {
        class_name(name, sizeof name, names, i);
        text_at(&w, left - 6, top + cell * i + cell / 2 + font * 0.35, textattrs, name, 24);
    }
    put(&w, "</g>\n<g class=\"column-labels\">\n");
    for (int j = 0; j < K; j++) {
        class_name(name, sizeof name, names, j);
        double x = left + cell * j + cell / 2 + font * 0.35, y = top + grid + 8;
        put(&w, "<text x=\"");
        num(&w, x);
        put(&w, "\" y=\"");
        num(&w, y);
        putf(&w, "\" text-anchor=\"end\" font-size=\"%s\" class=\"class\" transform=\"rotate(-45 ",
             fs);
        num(&w, x);
        put(&w, " ");
        num(&w, y);
        put(&w, ")\">");
        esc(&w, name, 24);
        put(&w, "</text>\n");
    }
    put(&w, "</g>\n");
    text_at(&w, left + grid / 2, top + grid + lab * 0.75 + 36,
            "text-anchor=\"middle\" class=\"xlabel\"", "predicted class", 100);
    double yx = 20, yy = top + grid / 2;
    put(&w, "<text x=\"");
    num(&w, yx);
    put(&w, "\" y=\"");
    num(&w, yy);
    put(&w, "\" text-anchor=\"middle\" class=\"ylabel\" transform=\"rotate(-90 ");
    num(&w, yx);
    put(&w, " ");
    num(&w, yy);
    put(&w, ")\">true class</text>\n");

    /* the colour scale: counts 0 to the largest cell */
    double bx = left + grid + 30, bh = grid < 160 ? 160 : grid;
    put(&w, "<defs><linearGradient id=\"scale\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">"
            "<stop offset=\"0\" stop-color=\"#ffffff\"/>"
            "<stop offset=\"1\" stop-color=\"#08306b\"/></linearGradient></defs>\n"
            "<g id=\"colour-scale\" class=\"legend\">\n<rect x=\"");
    num(&w, bx);
    put(&w, "\" y=\"");
    num(&w, top);
    put(&w, "\" width=\"18\" height=\"");
    num(&w, bh);
    put(&w, "\" fill=\"url(#scale)\" stroke=\"#333333\"/>\n");
    ticks t;
    nice_ticks(0, max ? (double)max : 1, 5, true, &t);
    char label[64];
    for (long long k = 0; (double)k * t.step <= (double)(max ? max : 1) + 1e-9; k++) {
        double y = top + bh - (double)k * t.step / (double)(max ? max : 1) * bh;
        line(&w, bx + 18, y, bx + 23, y, "stroke=\"#333333\"");
        tick_label(label, sizeof label, &t, k);
        text_at(&w, bx + 26, y + 4, "", label, 64);
    }
    text_at(&w, bx + 9, top - 8, "text-anchor=\"middle\"", "count", 16);
    put(&w, "</g>\n");
    return finish(&w, svg, n, err);
}

/* ---- predicted against true ------------------------------------------------------------ */

static const char *const palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                                      "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};

static int scatter(const nn_eval_report *r, const char *data, char **svg, size_t *n,
                   nn_error *err)
{
    const nn_acc *a = &r->acc;
    size_t K = (size_t)a->K, P = a->n_points;
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < P * 2 * K; i++) {
        double v = a->points[i];
        if (isfinite(v)) {
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
    }
    frame f = {.x0 = 90, .y0 = 80, .w = 460, .h = 460};
    nice_ticks(lo, hi, 6, false, &f.tx);
    f.ty = f.tx;
    nn_bytes w = {0};
    char title[512];
    snprintf(title, sizeof title, "Predicted against true: %s", data);
    begin(&w, 760, 620, title);
    char sub[200];
    snprintf(sub, sizeof sub, "%zu samples", r->r.samples);
    if (a->point_stride > 1)
        snprintf(sub + strlen(sub), sizeof sub - strlen(sub), " (every %zu-th shown)",
                 a->point_stride);
    snprintf(sub + strlen(sub), sizeof sub - strlen(sub), ", R\xc2\xb2 ");
    metric_text(sub + strlen(sub), sizeof sub - strlen(sub), r->r.r2);
    snprintf(sub + strlen(sub), sizeof sub - strlen(sub), ", MAE ");
    metric_text(sub + strlen(sub), sizeof sub - strlen(sub), r->r.mae);
    text_at(&w, 380, 48, "text-anchor=\"middle\" fill=\"#555555\"", sub, 200);
    axes(&w, &f, "true value", "predicted value");
    line(&w, fx(&f, f.tx.lo), fy(&f, f.ty.lo), fx(&f, f.tx.hi), fy(&f, f.ty.hi),
         "id=\"identity\" stroke=\"#555555\" stroke-width=\"1.5\" stroke-dasharray=\"6,4\"");
    for (size_t k = 0; k < K; k++) {
        const char *colour = palette[k % (sizeof palette / sizeof palette[0])];
        putf(&w, "<g class=\"output\" id=\"output-%zu\" fill=\"%s\" fill-opacity=\"0.6\">\n",
             k + 1, colour);
        for (size_t i = 0; i < P; i++) {
            double t = a->points[i * 2 * K + k], y = a->points[i * 2 * K + K + k];
            if (!isfinite(t) || !isfinite(y))
                continue;
            put(&w, "<circle class=\"point\" cx=\"");
            num(&w, fx(&f, t));
            put(&w, "\" cy=\"");
            num(&w, fy(&f, y));
            put(&w, "\" r=\"2.5\"/>\n");
        }
        put(&w, "</g>\n");
    }
    put(&w, "<g class=\"legend\">\n");
    double ly = f.y0 + 12;
    for (size_t k = 0; k < K && k < 16; k++, ly += 18) {
        char label[32];
        snprintf(label, sizeof label, K == 1 ? "samples" : "output %zu", k + 1);
        put(&w, "<circle cx=\"");
        num(&w, f.x0 + f.w + 20);
        put(&w, "\" cy=\"");
        num(&w, ly - 4);
        putf(&w, "\" r=\"4\" fill=\"%s\"/>\n", palette[k % (sizeof palette / sizeof palette[0])]);
        text_at(&w, f.x0 + f.w + 30, ly, "", label, 32);
    }
    line(&w, f.x0 + f.w + 12, ly - 4, f.x0 + f.w + 30, ly - 4,
         "stroke=\"#555555\" stroke-width=\"1.5\" stroke-dasharray=\"6,4\"");
    text_at(&w, f.x0 + f.w + 36, ly, "", "y = x", 16);
    put(&w, "</g>\n");
    return finish(&w, svg, n, err);
}

int nn_plot_eval(const nn_eval_report *r, const char *title, char **svg, size_t *n,
                 nn_error *err)
{
    *svg = NULL;
    *n = 0;
    if (r->regression) {
        if (!r->acc.points) {
            nn_error_set(err, NN_EXIT_RUNTIME, "no predictions kept to draw");
            return -1;
        }
        return scatter(r, title, svg, n, err);
    }
    return heatmap(r, title, svg, n, err);
}

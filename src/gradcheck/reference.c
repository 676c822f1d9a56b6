/* reference.c - the double-precision reference network and the central
 * finite-difference check (the measure and the step are explained in
 * gradcheck.h, the derivation in docs/backprop.md). */
#include "gradcheck/reference.h"

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "math/activation.h"
#include "nn/layer.h"
#include "nn/loss.h"

const char *nn_gradcheck_group_name(const nn_arch *a, int l, int group)
{
    if (group < 0 || l < 0 || l >= a->n_layers)
        return "input";
    return nn_layer_ops_of(a->layers[l].kind)->group_name[group];
}

int nn_gradcheck_net_check(const nn_gradcheck_net *net, nn_error *err)
{
    char why[256];
    const nn_arch *a = net->arch;
    if (!a || nn_arch_check(a, why, sizeof why) != 0) {
        nn_error_set(err, NN_EXIT_USAGE, "gradcheck: impossible network: %s",
                     a ? why : "no architecture");
        return -1;
    }
    const char *reason = "unknown loss";
    if (!nn_loss_pairing_ok(net->loss, nn_arch_output_act(a), nn_arch_outputs(a), &reason)) {
        nn_error_set(err, NN_EXIT_USAGE, "gradcheck: %s", reason);
        return -1;
    }
    if (net->loss == NN_LOSS_HUBER && !(isfinite(net->huber_delta) && net->huber_delta > 0.0)) {
        nn_error_set(err, NN_EXIT_USAGE, "gradcheck: huber_delta must be > 0");
        return -1;
    }
    return 0;
}

size_t nn_gradcheck_param_count(const nn_gradcheck_net *net)
{
    if (nn_gradcheck_net_check(net, NULL) != 0)
        return 0;
    return nn_arch_param_count(net->arch);
}

double nn_gradcheck_rel_error(double analytic, double numeric, double scale_floor)
{
    if (!isfinite(analytic) || !isfinite(numeric))
        return INFINITY;
    double scale = fmax(fmax(fabs(analytic), fabs(numeric)), scale_floor);
    if (scale == 0.0)
        return 0.0; /* both exactly 0 with a zero floor */
    return fabs(analytic - numeric) / scale;
}

/* ---- the reference network ---------------------------------------------------- */

/* Buffers of one forward/backward pass of B samples, in one allocation:
 *   Z[l], A[l]  (B, out_l)      pre-activation and output of layer l
 *   W[l]        (n_work_d)      what layer l's twin keeps for its backward
 *   g[0], g[1]  (B, widest)     dC/dZ of a layer and dC/dX of its input
 */
typedef struct {
    const nn_gradcheck_net *net;
    int B;
    size_t off[NN_MAX_ARCH_LAYERS]; /* where layer l's parameters start */
    double *Z[NN_MAX_ARCH_LAYERS], *A[NN_MAX_ARCH_LAYERS], *work[NN_MAX_ARCH_LAYERS];
    double *g[2];
    double *block;
} workspace;

static int ws_create(workspace *ws, const nn_gradcheck_net *net, int B, nn_error *err)
{
    memset(ws, 0, sizeof *ws);
    if (nn_gradcheck_net_check(net, err) != 0)
        return -1;
    if (B < 1) {
        nn_error_set(err, NN_EXIT_USAGE, "gradcheck: batch of %d samples", B);
        return -1;
    }
    const nn_arch *a = net->arch;
    size_t widest = (size_t)a->n_inputs, n = 0, off = 0;
    for (int l = 0; l < a->n_layers; l++) {
        const nn_layer *y = &a->layers[l];
        const nn_layer_ops *ops = nn_layer_ops_of(y->kind);
        ws->off[l] = off;
        off += ops->n_params(y);
        n += 2 * (size_t)B * (size_t)y->out + ops->n_work_d(y, B);
        if ((size_t)y->out > widest)
            widest = (size_t)y->out;
    }
    n += 2 * widest * (size_t)B; /* no overflow: sizes are bounded by types.h */
    ws->block = malloc(n * sizeof(double));
    if (!ws->block) {
        nn_error_set(err, NN_EXIT_RUNTIME, "gradcheck: out of memory");
        return -1;
    }
    ws->net = net;
    ws->B = B;
    double *p = ws->block;
    for (int l = 0; l < a->n_layers; l++) {
        const nn_layer *y = &a->layers[l];
        size_t m = (size_t)B * (size_t)y->out;
        ws->Z[l] = p;
        ws->A[l] = p + m;
        ws->work[l] = p + 2 * m;
        p += 2 * m + nn_layer_ops_of(y->kind)->n_work_d(y, B);
    }
    ws->g[0] = p;
    ws->g[1] = p + (size_t)B * widest;
    return 0;
}

static void ws_free(workspace *ws) { free(ws->block); }

/* C of the batch: Z_l = kind_l(X_l), A_l = f_l(Z_l), then the loss. */
static double forward(workspace *ws, const double *params, const double *X, const double *T)
{
    const nn_arch *a = ws->net->arch;
    int B = ws->B;
    const double *x = X;
    for (int l = 0; l < a->n_layers; l++) {
        const nn_layer *y = &a->layers[l];
        double *Z = ws->Z[l], *A = ws->A[l];
        nn_layer_ops_of(y->kind)->forward_d(y, params + ws->off[l], x, Z, ws->work[l], B);
        size_t m = (size_t)B * y->out;
        if (y->act == NN_ACT_SOFTMAX)
            nn_softmax_rows_d(A, Z, B, y->out);
        else
            for (size_t p = 0; p < m; p++)
                A[p] = nn_act_apply_d(y->act, y->alpha, Z[p]);
        x = A;
    }
    int last = a->n_layers - 1;
    return nn_loss_forward_d(ws->net->loss, a->layers[last].act, ws->A[last], ws->Z[last], T, B,
                             a->layers[last].out, ws->net->huber_delta);
}

/* After forward(): the gradient of C, set into grad_params and (unless
 * NULL) grad_X.  Per layer: the activation's derivative, then the kind's
 * backward. */
static void backward(workspace *ws, const double *params, const double *X, const double *T,
                     double *grad_params, double *grad_X)
{
    const nn_gradcheck_net *net = ws->net;
    const nn_arch *a = net->arch;
    int B = ws->B, last = a->n_layers - 1;

    /* dC/dA of the last layer, or already dC/dZ for a fused pairing. */
    double *dz = ws->g[0];
    nn_loss_backward_d(net->loss, a->layers[last].act, dz, ws->A[last], ws->Z[last], T, B,
                       a->layers[last].out, net->huber_delta);
    bool fused = nn_loss_fused(net->loss, a->layers[last].act);

    for (int l = last; l >= 0; l--) {
        const nn_layer *y = &a->layers[l];
        const double *x = l == 0 ? X : ws->A[l - 1];
        const double *A = ws->A[l];
        size_t m = (size_t)B * y->out;

        /* activation: dZ = dA .* f'(A), or the softmax's VJP */
        if (!(l == last && fused)) {
            if (y->act == NN_ACT_SOFTMAX)
                nn_softmax_backward_d(dz, dz, A, B, y->out);
            else
                for (size_t p = 0; p < m; p++)
                    dz[p] *= nn_act_grad_d(y->act, y->alpha, A[p]);
        }
        /* the kind: its parameters' gradient and dX, the dA of the layer below */
        double *dx = l == 0 ? grad_X : (dz == ws->g[0] ? ws->g[1] : ws->g[0]);
        nn_layer_ops_of(y->kind)->backward_d(y, params + ws->off[l], x, ws->work[l], dz, dx,
                                             grad_params + ws->off[l], B);
        if (!dx)
            break;
        dz = dx;
    }
}

int nn_gradcheck_cost(const nn_gradcheck_net *net, const double *params, const double *X,
                      const double *T, int B, double *cost, nn_error *err)
{
    workspace ws;
    if (ws_create(&ws, net, B, err) != 0)
        return -1;
    *cost = forward(&ws, params, X, T);
    ws_free(&ws);
    return 0;
}

int nn_gradcheck_forward_backward(const nn_gradcheck_net *net, const double *params,
                                  const double *X, const double *T, int B, double *grad_params,
                                  double *grad_X, double *cost, nn_error *err)
{
    workspace ws;
    if (ws_create(&ws, net, B, err) != 0)
        return -1;
    double c = forward(&ws, params, X, T);
    backward(&ws, params, X, T, grad_params, grad_X);
    if (cost)
        *cost = c;
    ws_free(&ws);
    return 0;
}

/* ---- the check ----------------------------------------------------------------- */

/* The central difference of C in v[q] at step h, and the bound of its
 * round-off, R = NN_GRADCHECK_NOISE_ULPS eps max(|C+|, |C-|, 1) / (v+ - v-). */
static double central(workspace *ws, double *p, double *x, const double *T, double *v, size_t q,
                      double h, double *roundoff)
{
    double orig = v[q], vp = orig + h, vm = orig - h;
    v[q] = vp;
    double cp = forward(ws, p, x, T);
    v[q] = vm;
    double cm = forward(ws, p, x, T);
    v[q] = orig;
    double step = vp - vm;
    *roundoff =
        NN_GRADCHECK_NOISE_ULPS * DBL_EPSILON * fmax(fmax(fabs(cp), fabs(cm)), 1.0) / step;
    return (cp - cm) / step;
}

/* The numeric derivative of C in v[q] and its expected error (reference.h,
 * "the step"): at the base step h0 when its round-off is below a quarter of
 * the tolerance; else also the extrapolation from the larger steps h1 and
 * 2 h1, when C is smooth there; the one with the smaller expected error is
 * taken. */
static double numeric_of(workspace *ws, double *p, double *x, const double *T, double *v, size_t q,
                         double h0, double *noise, double *h_used)
{
    double r0, n0 = central(ws, p, x, T, v, q, h0, &r0);
    *noise = r0;
    *h_used = h0;
    double target = 0.25 * NN_GRADCHECK_TOL * fabs(n0);
    if (!isfinite(n0) || r0 <= target)
        return n0;
    double hmax = NN_GRADCHECK_STEP_MAX * fmax(1.0, fabs(v[q]));
    double h1 = target > 0 ? h0 * (r0 / target) : hmax;
    if (!(h1 <= hmax))
        h1 = hmax;
    if (h1 < 2 * h0)
        return n0;
    double r1, r2;
    double n1 = central(ws, p, x, T, v, q, h1, &r1);
    double n2 = central(ws, p, x, T, v, q, 2 * h1, &r2);
    /* smooth within 2 h1: n(h) - n(h0) = c h^2 + O(h^4), so
     * n(2 h1) - n(h1) = 3 (n(h1) - n(h0)) up to a quarter of itself and the
     * round-off; a kink (relu at 0, mae at y = t) breaks that */
    double d21 = n2 - n1, mismatch = fabs(d21 - 3.0 * (n1 - n0));
    if (!(mismatch <= 0.25 * fabs(d21) + r2 + 4.0 * r1 + 3.0 * r0))
        return n0;
    /* Richardson: the extrapolation removes the c h^2 term; its error is
     * held to its round-off, (4 R(h1) + R(2 h1)) / 3, plus that term */
    double noise1 = (4.0 * r1 + r2) / 3.0 + fabs(d21) / 3.0;
    if (!(noise1 < r0))
        return n0;
    *noise = noise1;
    *h_used = h1;
    return (4.0 * n1 - n2) / 3.0;
}

/* The numeric value of C's derivative in v[q] (a parameter or an input, v
 * being the copy forward() reads), then the measure against `analytic`. */
static void check_one(workspace *ws, double *p, double *x, const double *T, double *v, size_t q,
                      double h, double analytic, double *max_rel, int layer, int group,
                      size_t index, nn_gradcheck_result *out)
{
    double noise, h_used;
    double numeric = numeric_of(ws, p, x, T, v, q, h, &noise, &h_used);
    double rel = nn_gradcheck_rel_error(analytic, numeric, noise / NN_GRADCHECK_TOL);

    out->n_checked++;
    if (rel > NN_GRADCHECK_TOL)
        out->n_over_tol++;
    if (rel > *max_rel)
        *max_rel = rel;
    if (h_used > out->max_step)
        out->max_step = h_used;
    if (out->n_checked == 1 || rel > out->worst) {
        out->worst = rel;
        out->worst_layer = layer;
        out->worst_group = group;
        out->worst_index = index;
        out->worst_analytic = analytic;
        out->worst_numeric = numeric;
        out->worst_noise = noise;
        out->worst_step = h_used;
    }
}

int nn_gradcheck_compare(const nn_gradcheck_net *net, const double *params, const double *X,
                         const double *T, int B, double h, const double *grad_params,
                         const double *grad_X, nn_gradcheck_result *out, nn_error *err)
{
    memset(out, 0, sizeof *out);
    if (!(h > 0.0 && isfinite(h)))
        h = NN_GRADCHECK_STEP;
    workspace ws;
    if (ws_create(&ws, net, B, err) != 0)
        return -1;
    size_t n_params = nn_gradcheck_param_count(net);
    size_t n_x = (size_t)B * (size_t)net->arch->n_inputs;
    double *p = malloc(n_params * sizeof(double));
    double *x = malloc(n_x * sizeof(double));
    if (!p || !x) {
        free(p);
        free(x);
        ws_free(&ws);
        nn_error_set(err, NN_EXIT_RUNTIME, "gradcheck: out of memory");
        return -1;
    }
    memcpy(p, params, n_params * sizeof(double));
    memcpy(x, X, n_x * sizeof(double));
    out->cost = forward(&ws, p, x, T);

    const nn_arch *a = net->arch;
    for (int l = 0; l < a->n_layers; l++) {
        const nn_layer *y = &a->layers[l];
        size_t off = ws.off[l];
        for (int g = 0; g < 2; g++) {
            size_t n = nn_layer_ops_of(y->kind)->group_size(y, g);
            for (size_t q = 0; q < n; q++)
                check_one(&ws, p, x, T, p, off + q, h, grad_params[off + q], &out->max_rel[l][g],
                          l, g, q, out);
            off += n;
        }
    }
    if (grad_X)
        for (size_t q = 0; q < n_x; q++)
            check_one(&ws, p, x, T, x, q, h, grad_X[q], &out->max_rel_x, 0, NN_GRADCHECK_INPUT,
                      q, out);
    free(p);
    free(x);
    ws_free(&ws);
    return 0;
}

int nn_gradcheck(const nn_gradcheck_net *net, const double *params, const double *X,
                 const double *T, int B, double h, nn_gradcheck_result *out, nn_error *err)
{
    memset(out, 0, sizeof *out);
    size_t n_params = nn_gradcheck_param_count(net);
    if (nn_gradcheck_net_check(net, err) != 0)
        return -1;
    if (B < 1) {
        nn_error_set(err, NN_EXIT_USAGE, "gradcheck: batch of %d samples", B);
        return -1;
    }
    size_t n_x = (size_t)B * (size_t)net->arch->n_inputs;
    double *gp = malloc(n_params * sizeof(double));
    double *gx = malloc(n_x * sizeof(double));
    int rc = -1;
    if (!gp || !gx)
        nn_error_set(err, NN_EXIT_RUNTIME, "gradcheck: out of memory");
    else if (nn_gradcheck_forward_backward(net, params, X, T, B, gp, gx, NULL, err) == 0)
        rc = nn_gradcheck_compare(net, params, X, T, B, h, gp, gx, out, err);
    free(gp);
    free(gx);
    return rc;
}

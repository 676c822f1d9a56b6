/* gradcheck.c - the double-precision reference network and the central
 * finite-difference check (the measure and the step are explained in
 * gradcheck.h, the derivation in docs/backprop.md). */
#include "gradcheck.h"

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "math/activation.h"
#include "nn/loss.h"

static int layer_in(const nn_gradcheck_net *net, int l)
{
    return l == 0 ? net->n_inputs : net->units[l - 1];
}

const char *nn_gradcheck_kind_name(nn_gradcheck_kind kind)
{
    switch (kind) {
    case NN_GRADCHECK_WEIGHT:
        return "weight";
    case NN_GRADCHECK_BIAS:
        return "bias";
    case NN_GRADCHECK_INPUT:
        return "input";
    }
    return "?";
}

int nn_gradcheck_net_check(const nn_gradcheck_net *net, nn_error *err)
{
    if (net->n_inputs < 1 || net->n_inputs > NN_MAX_FEATURES || net->n_layers < 1 ||
        net->n_layers > NN_MAX_LAYERS) {
        nn_error_set(err, NN_EXIT_USAGE, "gradcheck: impossible network: %d inputs, %d layers",
                     net->n_inputs, net->n_layers);
        return -1;
    }
    int last = net->n_layers - 1;
    for (int l = 0; l <= last; l++) {
        nn_act a = net->act[l];
        if (net->units[l] < 1 || net->units[l] > NN_MAX_UNITS) {
            nn_error_set(err, NN_EXIT_USAGE, "gradcheck: layer %d has %d units", l,
                         net->units[l]);
            return -1;
        }
        if ((int)a < (int)NN_ACT_IDENTITY || (int)a > (int)NN_ACT_SOFTMAX) {
            nn_error_set(err, NN_EXIT_USAGE, "gradcheck: layer %d has an unknown activation",
                         l);
            return -1;
        }
        if (a == NN_ACT_SOFTMAX && l != last) {
            nn_error_set(err, NN_EXIT_USAGE,
                         "gradcheck: layer %d: softmax is for the output layer only", l);
            return -1;
        }
        if ((a == NN_ACT_LEAKY_RELU || a == NN_ACT_ELU) &&
            !(isfinite(net->alpha[l]) && net->alpha[l] >= 0.0)) {
            nn_error_set(err, NN_EXIT_USAGE, "gradcheck: layer %d: alpha must be >= 0", l);
            return -1;
        }
    }
    const char *why = "unknown loss";
    if (!nn_loss_pairing_ok(net->loss, net->act[last], net->units[last], &why)) {
        nn_error_set(err, NN_EXIT_USAGE, "gradcheck: %s", why);
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
    size_t total = 0;
    for (int l = 0; l < net->n_layers; l++) {
        size_t in = (size_t)layer_in(net, l), out = (size_t)net->units[l];
        if (in + 1 > SIZE_MAX / out || total > SIZE_MAX - out * (in + 1))
            return 0;
        total += out * (in + 1);
    }
    return total;
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
 *   Z[l], A[l]  (B, units[l])   pre-activation and output of layer l
 *   g[0], g[1]  (B, widest)     dC/dZ of a layer and dC/dX of its input
 */
typedef struct {
    const nn_gradcheck_net *net;
    int B;
    double *Z[NN_MAX_LAYERS], *A[NN_MAX_LAYERS];
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
    size_t widest = (size_t)net->n_inputs, n = 0;
    for (int l = 0; l < net->n_layers; l++) {
        n += 2 * (size_t)net->units[l];
        if ((size_t)net->units[l] > widest)
            widest = (size_t)net->units[l];
    }
    n = (n + 2 * widest) * (size_t)B; /* no overflow: sizes are bounded by types.h */
    ws->block = malloc(n * sizeof(double));
    if (!ws->block) {
        nn_error_set(err, NN_EXIT_RUNTIME, "gradcheck: out of memory");
        return -1;
    }
    ws->net = net;
    ws->B = B;
    double *p = ws->block;
    for (int l = 0; l < net->n_layers; l++) {
        size_t m = (size_t)B * (size_t)net->units[l];
        ws->Z[l] = p;
        ws->A[l] = p + m;
        p += 2 * m;
    }
    ws->g[0] = p;
    ws->g[1] = p + (size_t)B * widest;
    return 0;
}

static void ws_free(workspace *ws) { free(ws->block); }

/* C of the batch: Z_l = X_l W_l^T + b_l, A_l = f_l(Z_l), then the loss. */
static double forward(workspace *ws, const double *params, const double *X, const double *T)
{
    const nn_gradcheck_net *net = ws->net;
    int B = ws->B;
    const double *x = X;
    const double *W = params;
    for (int l = 0; l < net->n_layers; l++) {
        int in = layer_in(net, l), out = net->units[l];
        const double *b = W + (size_t)out * in;
        double *Z = ws->Z[l], *A = ws->A[l];
        for (int i = 0; i < B; i++) {
            const double *xi = x + (size_t)i * in;
            for (int j = 0; j < out; j++) {
                const double *wj = W + (size_t)j * in;
                double z = b[j];
                for (int k = 0; k < in; k++)
                    z += wj[k] * xi[k];
                Z[(size_t)i * out + j] = z;
            }
        }
        size_t m = (size_t)B * out;
        if (net->act[l] == NN_ACT_SOFTMAX)
            nn_softmax_rows_d(A, Z, B, out);
        else
            for (size_t p = 0; p < m; p++)
                A[p] = nn_act_apply_d(net->act[l], net->alpha[l], Z[p]);
        x = A;
        W = b + out;
    }
    int last = net->n_layers - 1;
    return nn_loss_forward_d(net->loss, net->act[last], ws->A[last], ws->Z[last], T, B,
                             net->units[last], net->huber_delta);
}

/* After forward(): the gradient of C, set into grad_params and (unless
 * NULL) grad_X.  The chain rule per layer as in nn/dense.c. */
static void backward(workspace *ws, const double *params, const double *X, const double *T,
                     double *grad_params, double *grad_X)
{
    const nn_gradcheck_net *net = ws->net;
    int B = ws->B, last = net->n_layers - 1;
    size_t w_off[NN_MAX_LAYERS], off = 0;
    for (int l = 0; l <= last; l++) {
        w_off[l] = off;
        off += (size_t)net->units[l] * (size_t)(layer_in(net, l) + 1);
    }

    /* dC/dA of the last layer, or already dC/dZ for a fused pairing. */
    double *dz = ws->g[0];
    nn_loss_backward_d(net->loss, net->act[last], dz, ws->A[last], ws->Z[last], T, B,
                       net->units[last], net->huber_delta);
    bool fused = nn_loss_fused(net->loss, net->act[last]);

    for (int l = last; l >= 0; l--) {
        int in = layer_in(net, l), out = net->units[l];
        const double *x = l == 0 ? X : ws->A[l - 1];
        const double *W = params + w_off[l];
        double *dW = grad_params + w_off[l], *db = dW + (size_t)out * in;
        const double *A = ws->A[l];
        size_t m = (size_t)B * out;

        /* activation: dZ = dA .* f'(A), or the softmax's VJP */
        if (!(l == last && fused)) {
            if (net->act[l] == NN_ACT_SOFTMAX)
                nn_softmax_backward_d(dz, dz, A, B, out);
            else
                for (size_t p = 0; p < m; p++)
                    dz[p] *= nn_act_grad_d(net->act[l], net->alpha[l], A[p]);
        }
        /* bias add and product: db = 1^T dZ, dW = dZ^T X (sums over the batch) */
        for (int j = 0; j < out; j++) {
            double sb = 0.0;
            for (int i = 0; i < B; i++)
                sb += dz[(size_t)i * out + j];
            db[j] = sb;
            for (int k = 0; k < in; k++) {
                double sw = 0.0;
                for (int i = 0; i < B; i++)
                    sw += dz[(size_t)i * out + j] * x[(size_t)i * in + k];
                dW[(size_t)j * in + k] = sw;
            }
        }
        /* product: dX = dZ W, the dA of the layer below */
        double *dx = l == 0 ? grad_X : (dz == ws->g[0] ? ws->g[1] : ws->g[0]);
        if (!dx)
            break;
        for (int i = 0; i < B; i++)
            for (int k = 0; k < in; k++) {
                double s = 0.0;
                for (int j = 0; j < out; j++)
                    s += dz[(size_t)i * out + j] * W[(size_t)j * in + k];
                dx[(size_t)i * in + k] = s;
            }
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

/* Central difference of C in the variable v[q] (a parameter or an input,
 * v being the copy forward() reads), then the measure against `analytic`. */
static void check_one(workspace *ws, double *p, double *x, const double *T, double *v, size_t q,
                      double h, double analytic, double *max_rel, int layer,
                      nn_gradcheck_kind kind, size_t index, nn_gradcheck_result *out)
{
    double orig = v[q], vp = orig + h, vm = orig - h;
    v[q] = vp;
    double cp = forward(ws, p, x, T);
    v[q] = vm;
    double cm = forward(ws, p, x, T);
    v[q] = orig;
    double step = vp - vm;
    double numeric = (cp - cm) / step;
    double noise =
        NN_GRADCHECK_NOISE_ULPS * DBL_EPSILON * fmax(fmax(fabs(cp), fabs(cm)), 1.0) / step;
    double scale_floor = noise / NN_GRADCHECK_TOL;
    double rel = nn_gradcheck_rel_error(analytic, numeric, scale_floor);

    out->n_checked++;
    if (rel > NN_GRADCHECK_TOL)
        out->n_over_tol++;
    if (rel > *max_rel)
        *max_rel = rel;
    if (out->n_checked == 1 || rel > out->worst) {
        out->worst = rel;
        out->worst_layer = layer;
        out->worst_kind = kind;
        out->worst_index = index;
        out->worst_analytic = analytic;
        out->worst_numeric = numeric;
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
    size_t n_x = (size_t)B * (size_t)net->n_inputs;
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

    size_t off = 0;
    for (int l = 0; l < net->n_layers; l++) {
        size_t n_w = (size_t)net->units[l] * (size_t)layer_in(net, l);
        for (size_t q = 0; q < n_w; q++)
            check_one(&ws, p, x, T, p, off + q, h, grad_params[off + q], &out->max_rel_w[l], l,
                      NN_GRADCHECK_WEIGHT, q, out);
        off += n_w;
        for (size_t q = 0; q < (size_t)net->units[l]; q++)
            check_one(&ws, p, x, T, p, off + q, h, grad_params[off + q], &out->max_rel_b[l], l,
                      NN_GRADCHECK_BIAS, q, out);
        off += (size_t)net->units[l];
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
    size_t n_x = (size_t)B * (size_t)net->n_inputs;
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

/* loss.c - the costs (mse, mae, huber, cross_entropy, binary_cross_entropy),
 * forward and backward, in float and in double.  Definitions in loss.h.
 *
 * Why 1/B stays in every gradient: C is the mean over the batch of the
 * per-sample costs, so each sample's output moves C with weight 1/B.
 *
 * Backward of each cost, element by element, e = y - t:
 *   mse    d/dy [e^2 / 2]               = e            (the 2 of the square
 *                                                       cancels the 1/2)
 *   mae    d/dy |e|                     = sign(e)      (0 at e = 0: |e| has a
 *                                                       kink there and 0 is
 *                                                       its subgradient
 *                                                       nearest both sides)
 *   huber  d/dy h(e)                    = e where |e| <= delta, else
 *                                         delta sign(e) (h is once
 *                                         continuously differentiable: both
 *                                         sides give +-delta at |e| = delta)
 *
 * The fused pairings.  cross_entropy with softmax, one row (drop i):
 *     c = sum_k t_k (lse(z) - z_k),   d lse / d z_j = e^{z_j} / sum e^{z_k} = y_j
 *     dc/dz_j = (sum_k t_k) y_j - t_j = y_j - t_j     when sum_k t_k = 1.
 * The same through the softmax's Jacobian dy_k/dz_j = y_k (delta_kj - y_j)
 * with dc/dy_k = -t_k / y_k:
 *     dc/dz_j = sum_k (-t_k / y_k) y_k (delta_kj - y_j) = -t_j + y_j sum_k t_k.
 * binary_cross_entropy with sigmoid, one element:
 *     c = max(z, 0) - z t + log(1 + e^-|z|) = log(1 + e^z) - z t
 *     dc/dz = e^z / (1 + e^z) - t = y - t.
 * The same through dc/dy = (y - t) / (y (1 - y)) and dy/dz = y (1 - y).
 * So G = dC/dZ = (Y - T)/B, and the divisions by y (which underflow for
 * saturated outputs) never happen.
 */
#include "nn/loss.h"

#include <math.h>
#include <stddef.h>

double nn_mse_forward(const float *yhat, const float *T, int B, int K)
{
    double sum = 0.0;
    size_t n = (size_t)B * (size_t)K;
    for (size_t p = 0; p < n; p++) {
        double d = (double)yhat[p] - (double)T[p];
        sum += d * d;
    }
    return sum / (2.0 * B);
}

/* (yhat - T) / N for the B rows given, N the whole batch's rows */
static void mse_backward_n(float *dyhat, const float *yhat, const float *T, int B, int N, int K)
{
    float inv_b = 1.0f / (float)N;
    size_t n = (size_t)B * (size_t)K;
    for (size_t p = 0; p < n; p++)
        dyhat[p] = (yhat[p] - T[p]) * inv_b;
}

void nn_mse_backward(float *dyhat, const float *yhat, const float *T, int B, int K)
{
    float inv_b = 1.0f / (float)B;
    size_t n = (size_t)B * (size_t)K;
    for (size_t p = 0; p < n; p++)
        dyhat[p] = (yhat[p] - T[p]) * inv_b;
}

int nn_predict_class(const float *yhat, int K)
{
    if (K == 1)
        return yhat[0] >= 0.5f;
    int best = 0;
    for (int k = 1; k < K; k++)
        if (yhat[k] > yhat[best])
            best = k;
    return best;
}

bool nn_loss_fused(nn_loss loss, nn_act out_act)
{
    return (loss == NN_LOSS_CROSS_ENTROPY && out_act == NN_ACT_SOFTMAX) ||
           (loss == NN_LOSS_BINARY_CROSS_ENTROPY && out_act == NN_ACT_SIGMOID);
}

bool nn_loss_pairing_ok(nn_loss loss, nn_act out_act, int K, const char **why)
{
    const char *w = NULL;
    switch (loss) {
    case NN_LOSS_CROSS_ENTROPY:
        if (out_act != NN_ACT_SOFTMAX)
            w = "cross_entropy needs a softmax output layer";
        else if (K < 2)
            w = "cross_entropy with softmax needs at least 2 output units (use "
                "binary_cross_entropy with one sigmoid unit)";
        break;
    case NN_LOSS_BINARY_CROSS_ENTROPY:
        if (out_act != NN_ACT_SIGMOID)
            w = "binary_cross_entropy needs a sigmoid output layer";
        break;
    case NN_LOSS_MSE:
    case NN_LOSS_MAE:
    case NN_LOSS_HUBER:
        if (out_act == NN_ACT_SOFTMAX)
            w = "a softmax output layer needs the cross_entropy loss";
        break;
    default:
        w = "unknown loss";
        break;
    }
    if (w && why)
        *why = w;
    return w == NULL;
}

/* ---- per-element costs, in double --------------------------------------- */

static double huber_cost(double e, double delta)
{
    double a = fabs(e);
    return a <= delta ? 0.5 * e * e : delta * (a - 0.5 * delta);
}

/* -t log y - (1 - t) log(1 - y) from the logit z: with log y = -log(1 + e^-z)
 * and log(1 - y) = -z - log(1 + e^-z) this is log(1 + e^z) - z t, and
 * log(1 + e^z) = max(z, 0) + log(1 + e^-|z|) never overflows. */
static double bce_logit_cost(double z, double t)
{
    return (z > 0.0 ? z : 0.0) - z * t + log1p(exp(-fabs(z)));
}

/* -t log y, and -t log y - (1 - t) log(1 - y), on an output y (the unfused
 * pairings); a term whose weight is 0 is 0 even where its log is -inf. */
static double xent_cost(double y, double t)
{
    return t == 0.0 ? 0.0 : -t * log(y);
}

static double bce_cost(double y, double t)
{
    return xent_cost(y, t) + xent_cost(1.0 - y, 1.0 - t);
}

/* log sum_k e^{z_k} = m + log sum_k e^{z_k - m}, m = max_k z_k. */
static double lse_f(const float *z, int K)
{
    double m = z[0];
    for (int k = 1; k < K; k++)
        if (z[k] > m)
            m = z[k];
    double s = 0.0;
    for (int k = 0; k < K; k++)
        s += exp((double)z[k] - m);
    return m + log(s);
}

static double lse_d(const double *z, int K)
{
    double m = z[0];
    for (int k = 1; k < K; k++)
        if (z[k] > m)
            m = z[k];
    double s = 0.0;
    for (int k = 0; k < K; k++)
        s += exp(z[k] - m);
    return m + log(s);
}

/* ---- forward ------------------------------------------------------------- */

double nn_loss_forward(nn_loss loss, nn_act out_act, const float *Y, const float *Z,
                       const float *T, int B, int K, double huber_delta)
{
    if (loss == NN_LOSS_MSE)
        return nn_mse_forward(Y, T, B, K);
    return nn_loss_total(loss, out_act, Y, Z, T, B, K, huber_delta) / B;
}

double nn_loss_total(nn_loss loss, nn_act out_act, const float *Y, const float *Z,
                     const float *T, int B, int K, double huber_delta)
{
    size_t n = (size_t)B * (size_t)K;
    double sum = 0.0;
    switch (loss) {
    case NN_LOSS_MSE:
        for (size_t p = 0; p < n; p++) {
            double d = (double)Y[p] - (double)T[p];
            sum += d * d;
        }
        return sum / 2.0;
    case NN_LOSS_MAE:
        for (size_t p = 0; p < n; p++)
            sum += fabs((double)Y[p] - (double)T[p]);
        break;
    case NN_LOSS_HUBER:
        for (size_t p = 0; p < n; p++)
            sum += huber_cost((double)Y[p] - (double)T[p], huber_delta);
        break;
    case NN_LOSS_CROSS_ENTROPY:
        if (out_act == NN_ACT_SOFTMAX) {
            for (int i = 0; i < B; i++) {
                const float *z = Z + (size_t)i * K, *t = T + (size_t)i * K;
                double lse = lse_f(z, K);
                for (int k = 0; k < K; k++)
                    if (t[k] != 0.0f)
                        sum += (double)t[k] * (lse - (double)z[k]);
            }
        } else {
            for (size_t p = 0; p < n; p++)
                sum += xent_cost(Y[p], T[p]);
        }
        break;
    case NN_LOSS_BINARY_CROSS_ENTROPY:
        if (out_act == NN_ACT_SIGMOID) {
            for (size_t p = 0; p < n; p++)
                sum += bce_logit_cost(Z[p], T[p]);
        } else {
            for (size_t p = 0; p < n; p++)
                sum += bce_cost(Y[p], T[p]);
        }
        break;
    default:
        return NAN;
    }
    return sum;
}

double nn_loss_forward_d(nn_loss loss, nn_act out_act, const double *Y, const double *Z,
                         const double *T, int B, int K, double huber_delta)
{
    size_t n = (size_t)B * (size_t)K;
    double sum = 0.0;
    switch (loss) {
    case NN_LOSS_MSE:
        for (size_t p = 0; p < n; p++) {
            double d = Y[p] - T[p];
            sum += d * d;
        }
        return sum / (2.0 * B);
    case NN_LOSS_MAE:
        for (size_t p = 0; p < n; p++)
            sum += fabs(Y[p] - T[p]);
        break;
    case NN_LOSS_HUBER:
        for (size_t p = 0; p < n; p++)
            sum += huber_cost(Y[p] - T[p], huber_delta);
        break;
    case NN_LOSS_CROSS_ENTROPY:
        if (out_act == NN_ACT_SOFTMAX) {
            for (int i = 0; i < B; i++) {
                const double *z = Z + (size_t)i * K, *t = T + (size_t)i * K;
                double lse = lse_d(z, K);
                for (int k = 0; k < K; k++)
                    if (t[k] != 0.0)
                        sum += t[k] * (lse - z[k]);
            }
        } else {
            for (size_t p = 0; p < n; p++)
                sum += xent_cost(Y[p], T[p]);
        }
        break;
    case NN_LOSS_BINARY_CROSS_ENTROPY:
        if (out_act == NN_ACT_SIGMOID) {
            for (size_t p = 0; p < n; p++)
                sum += bce_logit_cost(Z[p], T[p]);
        } else {
            for (size_t p = 0; p < n; p++)
                sum += bce_cost(Y[p], T[p]);
        }
        break;
    default:
        return NAN;
    }
    return sum / B;
}

/* ---- backward (derivations at the top) ------------------------------------ */

void nn_loss_backward(nn_loss loss, nn_act out_act, float *G, const float *Y, const float *Z,
                      const float *T, int B, int K, double huber_delta)
{
    nn_loss_backward_rows(loss, out_act, G, Y, Z, T, B, B, K, huber_delta);
}

void nn_loss_backward_rows(nn_loss loss, nn_act out_act, float *G, const float *Y,
                           const float *Z, const float *T, int B, int N, int K,
                           double huber_delta)
{
    (void)Z; /* the gradients are written in Y; see loss.h */
    size_t n = (size_t)B * (size_t)K;
    float inv_b = 1.0f / (float)N;
    if (loss == NN_LOSS_MSE || nn_loss_fused(loss, out_act)) {
        mse_backward_n(G, Y, T, B, N, K); /* (Y - T) / N */
        return;
    }
    float delta = (float)huber_delta;
    for (size_t p = 0; p < n; p++) {
        float y = Y[p], t = T[p], e = y - t, g;
        switch (loss) {
        case NN_LOSS_MAE:
            g = e > 0.0f ? 1.0f : e < 0.0f ? -1.0f : 0.0f;
            break;
        case NN_LOSS_HUBER:
            g = fabsf(e) <= delta ? e : e > 0.0f ? delta : -delta;
            break;
        case NN_LOSS_CROSS_ENTROPY:
            g = t == 0.0f ? 0.0f : -t / y;
            break;
        case NN_LOSS_BINARY_CROSS_ENTROPY:
            g = e / (y * (1.0f - y));
            break;
        default:
            g = NAN;
            break;
        }
        G[p] = g * inv_b;
    }
}

void nn_loss_backward_d(nn_loss loss, nn_act out_act, double *G, const double *Y,
                        const double *Z, const double *T, int B, int K, double huber_delta)
{
    (void)Z;
    size_t n = (size_t)B * (size_t)K;
    double inv_b = 1.0 / (double)B;
    bool plain = loss == NN_LOSS_MSE || nn_loss_fused(loss, out_act);
    for (size_t p = 0; p < n; p++) {
        double y = Y[p], t = T[p], e = y - t, g;
        if (plain) {
            g = e;
        } else {
            switch (loss) {
            case NN_LOSS_MAE:
                g = e > 0.0 ? 1.0 : e < 0.0 ? -1.0 : 0.0;
                break;
            case NN_LOSS_HUBER:
                g = fabs(e) <= huber_delta ? e : e > 0.0 ? huber_delta : -huber_delta;
                break;
            case NN_LOSS_CROSS_ENTROPY:
                g = t == 0.0 ? 0.0 : -t / y;
                break;
            case NN_LOSS_BINARY_CROSS_ENTROPY:
                g = e / (y * (1.0 - y));
                break;
            default:
                g = NAN;
                break;
            }
        }
        G[p] = g * inv_b;
    }
}

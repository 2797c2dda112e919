#include "kernels/ops.h"

#include <math.h>

void layernorm(float *out, const float *x, const float *w, const float *b, int M, int N,
               float eps) {
    for (int m = 0; m < M; m++) {
        const float *r = x + (long)m * N;
        float *o = out + (long)m * N;
        double mean = 0, var = 0;
        for (int i = 0; i < N; i++) mean += r[i];
        mean /= N;
        for (int i = 0; i < N; i++) var += (r[i] - mean) * (r[i] - mean);
        var /= N;
        float rstd = (float)(1.0 / sqrt(var + eps));
        float mu = (float)mean;
        for (int i = 0; i < N; i++) o[i] = (r[i] - mu) * rstd * w[i] + b[i];
    }
}

void rmsnorm(float *out, const float *x, const float *w, int M, int N, float eps) {
    for (int m = 0; m < M; m++) {
        const float *r = x + (long)m * N;
        float *o = out + (long)m * N;
        double ss = 0;
        for (int i = 0; i < N; i++) ss += (double)r[i] * r[i];
        float scale = (float)(1.0 / sqrt(ss / N + eps));
        for (int i = 0; i < N; i++) o[i] = w[i] * (r[i] * scale);
    }
}

void gelu_erf(float *x, long n) {
    for (long i = 0; i < n; i++) x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f));
}

void quick_gelu(float *x, long n) {
    for (long i = 0; i < n; i++) x[i] = x[i] / (1.0f + expf(-1.702f * x[i]));
}

void silu(float *x, long n) {
    for (long i = 0; i < n; i++) x[i] = x[i] / (1.0f + expf(-x[i]));
}

void swiglu(float *gate, const float *up, long n) {
    for (long i = 0; i < n; i++) gate[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
}

void add_inplace(float *y, const float *x, long n) {
    for (long i = 0; i < n; i++) y[i] += x[i];
}

void softmax(float *x, int n) {
    float mx = x[0];
    for (int i = 1; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    double sum = 0;
    for (int i = 0; i < n; i++) {
        x[i] = expf(x[i] - mx);
        sum += x[i];
    }
    float inv = (float)(1.0 / sum);
    for (int i = 0; i < n; i++) x[i] *= inv;
}

void rope_row(float *x, int n_heads, int head_dim, int pos, float theta) {
    int half = head_dim / 2;
    for (int i = 0; i < half; i++) {
        /* float32 as transformers computes inv_freq and the angle */
        float inv_freq = 1.0f / powf(theta, (float)(2 * i) / (float)head_dim);
        float ang = (float)pos * inv_freq;
        float c = cosf(ang), s = sinf(ang);
        for (int h = 0; h < n_heads; h++) {
            float *p = x + (long)h * head_dim;
            float a = p[i], b = p[i + half];
            p[i] = a * c - b * s;
            p[i + half] = b * c + a * s;
        }
    }
}

int argmax(const float *x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

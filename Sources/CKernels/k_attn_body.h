/* The SIMD window attention (samq_attention.h), written once for every
 * vector width. k_attn.c includes this file once per ISA after defining:
 *   AT_NAME  function name            AT_TGT   target attribute (may be empty)
 *   AT_V     vector type              AT_N     lanes per vector
 *   AT_LD(p) AT_ST(p, v) AT_DUP(f) AT_ZERO AT_ADD(a, b) AT_SUB(a, b) AT_MUL(a, b)
 *   AT_FMA(a, b, c) = a*b + c (fused)  AT_MAX(a, b)  AT_EXP(v)
 *   AT_HMAX(v) AT_HSUM(v)  (horizontal max / sum to a float)
 *   AT_W     optional: vectors per pass in the score and P.V loops (default
 *            1; 2 where the register file holds AT_R x 2 accumulators)
 *   AT_KT16(kp, t0, scale, dst, np)  optional: 16 keys' channels [t0, t0+16)
 *            times scale, transposed into dst[t * np + i] (t < 16, i < 16)
 *
 * Per call: K^T·scale into scratch (keys padded to a multiple of 16 with zeros),
 * then AT_R query rows at a time: scores with the keys along the vector
 * (each K^T vector feeds AT_R independent FMA chains), bias + softmax in
 * place, and P.V with the head's channels along the vector. */

#define AT_R 8
#ifndef AT_W
#define AT_W 1
#endif

AT_TGT void AT_NAME(const samq_window_attention_args *a) {
    const size_t cols = a->cols, n = a->rows * cols, d = a->head_dim, np = samq_round_up(n, 16);
    const size_t nv = n / AT_N * AT_N, dv = d / AT_N * AT_N;
    float *kt = a->scratch, *sc = a->scratch + d * np;
    for (size_t t = 0; t < d; t++) memset(kt + t * np + n, 0, (np - n) * sizeof(float));
    size_t jt = 0; /* keys [0, jt) transposed 16 x 16 in registers */
#ifdef AT_KT16
    if (d % 16 == 0)
        for (; jt + 16 <= n; jt += 16) {
            const float *kp[16];
            for (size_t i = 0; i < 16; i++)
                kp[i] = a->k + ((jt + i) / cols) * a->row_stride + ((jt + i) % cols) * a->ld;
            for (size_t t0 = 0; t0 < d; t0 += 16) AT_KT16(kp, t0, a->scale, kt + t0 * np + jt, np);
        }
#endif
    for (size_t j = jt; j < n; j++) {
        const float *kr = a->k + (j / cols) * a->row_stride + (j % cols) * a->ld;
        /* Plain stores: auto-vectorized, this loop became scatters, the
         * slowest instruction on Zen 4 (measured: 12% of the kernel). */
#if defined(__clang__)
#pragma clang loop vectorize(disable)
#endif
        for (size_t t = 0; t < d; t++) kt[t * np + j] = kr[t] * a->scale;
    }
    size_t qi[AT_R];
    size_t m = 0, r0 = 0, c0 = 0;
    while (r0 < a->out_rows) {
        /* The next group of up to AT_R output tokens, in raster order. */
        m = 0;
        while (m < AT_R && r0 < a->out_rows) {
            qi[m++] = r0 * cols + c0;
            if (++c0 == a->out_cols) c0 = 0, r0++;
        }
        const float *qp[AT_R];
        const float *pp[AT_R];
        for (size_t r = 0; r < AT_R; r++) {
            size_t i = qi[r < m ? r : m - 1];
            qp[r] = a->q + (i / cols) * a->row_stride + (i % cols) * a->ld;
            pp[r] = sc + (r < m ? r : m - 1) * np;
        }
        /* Scores, AT_W key vectors per pass so each broadcast query
         * value feeds AT_W FMAs (one per pass left the kernel load-bound). */
        size_t jb = 0;
        for (; jb + AT_W * AT_N <= np; jb += AT_W * AT_N) {
            AT_V acc[AT_R][AT_W];
            for (int r = 0; r < AT_R; r++)
                for (int w = 0; w < AT_W; w++) acc[r][w] = AT_ZERO;
            for (size_t t = 0; t < d; t++) {
                AT_V kv[AT_W];
                for (int w = 0; w < AT_W; w++) kv[w] = AT_LD(kt + t * np + jb + w * AT_N);
                for (int r = 0; r < AT_R; r++) {
                    const AT_V qv = AT_DUP(qp[r][t]);
                    for (int w = 0; w < AT_W; w++) acc[r][w] = AT_FMA(qv, kv[w], acc[r][w]);
                }
            }
            for (size_t r = 0; r < m; r++)
                for (int w = 0; w < AT_W; w++) AT_ST(sc + r * np + jb + w * AT_N, acc[r][w]);
        }
        for (; jb < np; jb += AT_N) {
            AT_V acc[AT_R];
            for (int r = 0; r < AT_R; r++) acc[r] = AT_ZERO;
            for (size_t t = 0; t < d; t++) {
                const AT_V kv = AT_LD(kt + t * np + jb);
                for (int r = 0; r < AT_R; r++) acc[r] = AT_FMA(AT_DUP(qp[r][t]), kv, acc[r]);
            }
            for (size_t r = 0; r < m; r++) AT_ST(sc + r * np + jb, acc[r]);
        }
        /* Bias and softmax; 1/sum is applied to the output. */
        float inv[AT_R];
        for (size_t r = 0; r < m; r++) {
            float *s = sc + r * np;
            const float *b = a->bias ? a->bias + qi[r] * n : NULL;
            float mx = -FLT_MAX;
            if (nv > 0) {
                AT_V vmax = AT_DUP(-FLT_MAX);
                for (size_t j = 0; j < nv; j += AT_N) {
                    AT_V x = AT_LD(s + j);
                    if (b) {
                        x = AT_ADD(x, AT_LD(b + j));
                        AT_ST(s + j, x);
                    }
                    vmax = AT_MAX(vmax, x);
                }
                mx = AT_HMAX(vmax);
            }
            for (size_t j = nv; j < n; j++) {
                float x = s[j];
                if (b) x = x + b[j];
                s[j] = x;
                mx = x > mx ? x : mx;
            }
            float sum = 0.0f;
            if (nv > 0) {
                const AT_V vm = AT_DUP(mx);
                AT_V vsum = AT_ZERO;
                for (size_t j = 0; j < nv; j += AT_N) {
                    AT_V e = AT_EXP(AT_SUB(AT_LD(s + j), vm));
                    AT_ST(s + j, e);
                    vsum = AT_ADD(vsum, e);
                }
                sum = AT_HSUM(vsum);
            }
            for (size_t j = nv; j < n; j++) {
                float e = samq_exp_ref(s[j] - mx);
                s[j] = e;
                sum = sum + e;
            }
            inv[r] = 1.0f / sum;
        }
        /* P.V, AT_N channels at a time. */
        float *op[AT_R];
        for (size_t r = 0; r < m; r++) {
            size_t i = qi[r];
            op[r] = a->out + (i / cols) * a->out_row_stride + (i % cols) * a->out_ld;
        }
        size_t ch = 0;
        for (; ch + AT_W * AT_N <= dv; ch += AT_W * AT_N) {
            AT_V acc[AT_R][AT_W];
            for (int r = 0; r < AT_R; r++)
                for (int w = 0; w < AT_W; w++) acc[r][w] = AT_ZERO;
            size_t j = 0;
            for (size_t kr = 0; kr < a->rows; kr++) {
                const float *vr = a->v + kr * a->row_stride + ch;
                for (size_t kc = 0; kc < cols; kc++, j++) {
                    AT_V vv[AT_W];
                    for (int w = 0; w < AT_W; w++) vv[w] = AT_LD(vr + kc * a->ld + w * AT_N);
                    for (int r = 0; r < AT_R; r++) {
                        const AT_V pv = AT_DUP(pp[r][j]);
                        for (int w = 0; w < AT_W; w++) acc[r][w] = AT_FMA(pv, vv[w], acc[r][w]);
                    }
                }
            }
            for (size_t r = 0; r < m; r++)
                for (int w = 0; w < AT_W; w++) AT_ST(op[r] + ch + w * AT_N, AT_MUL(acc[r][w], AT_DUP(inv[r])));
        }
        for (; ch < dv; ch += AT_N) {
            AT_V acc[AT_R];
            for (int r = 0; r < AT_R; r++) acc[r] = AT_ZERO;
            size_t j = 0;
            for (size_t kr = 0; kr < a->rows; kr++) {
                const float *vr = a->v + kr * a->row_stride + ch;
                for (size_t kc = 0; kc < cols; kc++, j++) {
                    const AT_V vv = AT_LD(vr + kc * a->ld);
                    for (int r = 0; r < AT_R; r++) acc[r] = AT_FMA(AT_DUP(pp[r][j]), vv, acc[r]);
                }
            }
            for (size_t r = 0; r < m; r++) AT_ST(op[r] + ch, AT_MUL(acc[r], AT_DUP(inv[r])));
        }
        for (size_t ch = dv; ch < d; ch++)
            for (size_t r = 0; r < m; r++) {
                float acc = 0.0f;
                for (size_t j = 0; j < n; j++)
                    acc = acc + pp[r][j] * a->v[(j / cols) * a->row_stride + (j % cols) * a->ld + ch];
                op[r][ch] = acc * inv[r];
            }
    }
}

#undef AT_R
#undef AT_W

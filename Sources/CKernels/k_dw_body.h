/* The SIMD depthwise 3x3 kernel, written once for every vector width.
 * k_dw.c includes this file once per ISA after defining:
 *   DW_NAME   function name            DW_TGT   target attribute (may be empty)
 *   DW_V      vector type              DW_N     lanes per vector
 *   DW_U      output pixels in flight (independent add chains that hide the
 *             add latency; 9 weight vectors + DW_U accumulators must fit the
 *             register file)
 *   DW_LD(p) DW_ST(p, v) DW_DUP(f) DW_ADD(a, b) DW_MUL(a, b) DW_GELU(v)
 *
 * Loop order: output row, then a group of DW_U pixels, then the channel
 * vectors (weights reloaded from L1), so rows stream sequentially; at stride
 * 1 each input column is loaded once per group and feeds up to three pixels.
 * Measured alternatives (thread CPU time, Zen 4): a channel-vector-outer
 * order with the weights pinned in registers is 10-25% faster on the
 * DRAM-bound 256x256x256 shape but 10-20% slower on L2/L3-sized ones;
 * blocking the channels by 64 was slower on both. Per accumulator the op sequence is exactly
 * samq_dw_pixel_scalar's (bias, then taps in ky, kx order, out-of-image taps
 * skipped), so the results are bit-identical to the scalar kernel. */

#define DW_TAP(acc, p, wv) (acc) = DW_ADD((acc), DW_MUL(DW_LD(p), (wv)))
#define DW_LOAD_WEIGHTS(c)                                                                 \
    const float *wp_ = a->w + (c);                                                         \
    const DW_V w0 = DW_LD(wp_), w1 = DW_LD(wp_ + C), w2 = DW_LD(wp_ + 2 * C);              \
    const DW_V w3 = DW_LD(wp_ + 3 * C), w4 = DW_LD(wp_ + 4 * C), w5 = DW_LD(wp_ + 5 * C);  \
    const DW_V w6 = DW_LD(wp_ + 6 * C), w7 = DW_LD(wp_ + 7 * C), w8 = DW_LD(wp_ + 8 * C);  \
    const DW_V b = a->bias ? DW_LD(a->bias + (c)) : DW_DUP(0.0f)

/* One output pixel (any column, border or not): all channels. */
DW_TGT INLINE void DW_CAT(DW_NAME, _pixel)(const samq_dwconv3x3_args *a, size_t oy, size_t ox, const float *r0,
                                           const float *r1, const float *r2, int top, int bottom, float *yr) {
    const size_t C = a->C, W = a->W, cv = C / DW_N * DW_N, cx = ox * a->stride;
    const int l = cx >= 1, r = cx + 1 < W;
    for (size_t c = 0; c < cv; c += DW_N) {
        DW_LOAD_WEIGHTS(c);
        const size_t o = cx * C + c;
        DW_V acc = b;
        if (top) {
            if (l) DW_TAP(acc, r0 + o - C, w0);
            DW_TAP(acc, r0 + o, w1);
            if (r) DW_TAP(acc, r0 + o + C, w2);
        }
        if (l) DW_TAP(acc, r1 + o - C, w3);
        DW_TAP(acc, r1 + o, w4);
        if (r) DW_TAP(acc, r1 + o + C, w5);
        if (bottom) {
            if (l) DW_TAP(acc, r2 + o - C, w6);
            DW_TAP(acc, r2 + o, w7);
            if (r) DW_TAP(acc, r2 + o + C, w8);
        }
        if (a->flags & SAMQ_DW_GELU) acc = DW_GELU(acc);
        DW_ST(yr + ox * C + c, acc);
    }
    if (cv < C) samq_dw_pixel_scalar(a, oy, ox, cv, C);
}

DW_TGT void DW_NAME(const samq_dwconv3x3_args *a) {
    const size_t H = a->H, W = a->W, C = a->C, s = a->stride;
    const size_t Wo = samq_dw_out_size(W, s);
    const size_t cv = C / DW_N * DW_N; /* channels done in vectors; the rest in scalar code */
    const int gelu = (a->flags & SAMQ_DW_GELU) != 0;
    /* Pixels [in_lo, in_hi) have all three columns inside the image:
     * ox*s >= 1 and ox*s + 1 <= W - 1. */
    const size_t in_lo = SAMQ_MIN((size_t)1, Wo);
    size_t in_hi = W >= 2 ? SAMQ_MIN((W - 2) / s + 1, Wo) : 0;
    if (in_hi < in_lo) in_hi = in_lo;
    const size_t rowlen = W * C;

    for (size_t oy = a->y_begin; oy < a->y_end; oy++) {
        const size_t cy = oy * s;
        const float *r1 = a->x + cy * rowlen;
        const int top = cy >= 1, bottom = cy + 1 < H;
        const float *r0 = top ? r1 - rowlen : r1;
        const float *r2 = bottom ? r1 + rowlen : r1;
        float *yr = a->y + oy * Wo * C;
        size_t ox = 0;
        for (; ox < in_lo; ox++) DW_CAT(DW_NAME, _pixel)(a, oy, ox, r0, r1, r2, top, bottom, yr);
        /* Interior: DW_U pixels at once (independent add chains), every column
         * tap inside; the channels innermost, so the rows stream sequentially
         * and the tap weights come from L1. */
        for (; ox + DW_U <= in_hi; ox += DW_U) {
            for (size_t c = 0; c < cv; c += DW_N) {
                DW_LOAD_WEIGHTS(c);
                DW_V acc[DW_U];
                for (int u = 0; u < DW_U; u++) acc[u] = b;
                if (s == 1) {
                    /* Neighbouring pixels share input columns: load column j
                     * once and feed it to pixel j (kx=0), j-1 (kx=1) and j-2
                     * (kx=2). Pixel u still receives kx = 0, 1, 2 in order. */
#define DW_ROW1(row, wa, wb, wc)                                                     \
    for (int j = 0; j < DW_U + 2; j++) {                                             \
        const DW_V v_ = DW_LD((row) + (ox + j - 1) * C + c);                         \
        if (j < DW_U) acc[j] = DW_ADD(acc[j], DW_MUL(v_, (wa)));                     \
        if (j >= 1 && j <= DW_U) acc[j - 1] = DW_ADD(acc[j - 1], DW_MUL(v_, (wb)));  \
        if (j >= 2) acc[j - 2] = DW_ADD(acc[j - 2], DW_MUL(v_, (wc)));               \
    }
                    if (top) DW_ROW1(r0, w0, w1, w2);
                    DW_ROW1(r1, w3, w4, w5);
                    if (bottom) DW_ROW1(r2, w6, w7, w8);
#undef DW_ROW1
                    for (int u = 0; u < DW_U; u++) {
                        DW_V v = acc[u];
                        if (gelu) v = DW_GELU(v);
                        DW_ST(yr + (ox + u) * C + c, v);
                    }
                    continue;
                }
                if (top)
                    for (int u = 0; u < DW_U; u++) {
                        const float *p = r0 + (ox + u) * s * C + c;
                        DW_TAP(acc[u], p - C, w0);
                        DW_TAP(acc[u], p, w1);
                        DW_TAP(acc[u], p + C, w2);
                    }
                for (int u = 0; u < DW_U; u++) {
                    const float *p = r1 + (ox + u) * s * C + c;
                    DW_TAP(acc[u], p - C, w3);
                    DW_TAP(acc[u], p, w4);
                    DW_TAP(acc[u], p + C, w5);
                }
                if (bottom)
                    for (int u = 0; u < DW_U; u++) {
                        const float *p = r2 + (ox + u) * s * C + c;
                        DW_TAP(acc[u], p - C, w6);
                        DW_TAP(acc[u], p, w7);
                        DW_TAP(acc[u], p + C, w8);
                    }
                for (int u = 0; u < DW_U; u++) {
                    DW_V v = acc[u];
                    if (gelu) v = DW_GELU(v);
                    DW_ST(yr + (ox + u) * C + c, v);
                }
            }
            if (cv < C)
                for (int u = 0; u < DW_U; u++) samq_dw_pixel_scalar(a, oy, ox + u, cv, C);
        }
        for (; ox < Wo; ox++) DW_CAT(DW_NAME, _pixel)(a, oy, ox, r0, r1, r2, top, bottom, yr);
    }
}

#undef DW_TAP
#undef DW_LOAD_WEIGHTS

/* The int8 weight of a Q4_K layer, computed again from its 4-bit blocks for
 * each prompt product, so that the int8 copy need not stay in memory
 * (jupyter_codegen/engine/local/requant.py builds and checks this file).
 *
 * Every value is the one Int8Linear holds: gguf-py's dequantization in
 * float32, (d * sc) * q - dmin * m (separate products and sums: built with
 * -ffp-contract=off), rounded to bfloat16 as the converted checkpoint holds
 * it, divided by the row's int8 scale, rounded half to even and clamped to
 * [-127, 127]. A group of 32 values has only 16 distinct ones (q = 0..15):
 * each group's 16 are computed, then looked up by q.
 *
 * The quants come from torch's CPU int4 pack of the layer (what its int4
 * kernel reads for a reply's steps): blocks of NB rows, (N / NB, K, NB / 2)
 * bytes, row i of a block in the low nibbles and row i + NB / 2 in the high
 * ones. NB is 64 where torch runs AVX-512 and 32 with AVX2; requant.py finds
 * it by packing a known matrix. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef float f16v __attribute__((vector_size(64)));
typedef int32_t i16v __attribute__((vector_size(64)));
typedef uint32_t u16v __attribute__((vector_size(64)));
typedef int8_t b16v __attribute__((vector_size(16)));
typedef uint8_t u8v __attribute__((vector_size(16)));

static float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1Fu, man = h & 0x3FFu, u;
    if (exp == 0) {
        if (man == 0) {
            u = sign;
        } else { /* subnormal */
            exp = 127 - 15 + 1;
            while (!(man & 0x400u)) {
                man <<= 1;
                exp--;
            }
            u = sign | (exp << 23) | ((man & 0x3FFu) << 13);
        }
    } else if (exp == 31) {
        u = sign | 0x7F800000u | (man << 13);
    } else {
        u = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* The int8 values of q = 0..15 in a group of scale s and minimum mn, in a row
 * of int8 scale rs. */
static inline b16v group_table(float s, float mn, float rs) {
    const f16v q = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    f16v v = q * s;
    v = v - mn;
    u16v u = (u16v)v;
    u = (u + 0x7FFFu + ((u >> 16) & 1u)) & 0xFFFF0000u; /* bfloat16, to nearest even */
    const f16v y = (f16v)u / rs;
    const f16v r = (y + 0x1.8p23f) - 0x1.8p23f; /* to an integer, ties to even */
    i16v n = __builtin_convertvector(r, i16v);
    const i16v top = n > 127, bottom = n < -127; /* lanes of -1 where true */
    n = (n & ~top) | (127 & top);
    n = (n & ~bottom) | (-127 & bottom);
    return __builtin_convertvector(n, b16v);
}

static inline b16v lookup(b16v table, u8v q) {
#if defined(__clang__)
    b16v r;
    for (int j = 0; j < 16; j++) r[j] = table[q[j] & 15];
    return r;
#else
    return __builtin_shuffle(table, (b16v)q);
#endif
}

/* A 16 x 16 byte matrix transposed: four rounds of interleaving row j with
 * row j + 8, each a perfect shuffle of the element's index bits. */
static void transpose16(u8v r[16]) {
#if defined(__clang__)
    u8v n[16];
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 16; j++) n[i][j] = r[j][i];
    memcpy(r, n, sizeof n);
#else
    const u8v lo = {0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23};
    const u8v hi = {8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31};
    for (int round = 0; round < 4; round++) {
        u8v n[16];
        for (int j = 0; j < 8; j++) {
            n[2 * j] = __builtin_shuffle(r[j], r[j + 8], lo);
            n[2 * j + 1] = __builtin_shuffle(r[j], r[j + 8], hi);
        }
        memcpy(r, n, sizeof n);
    }
#endif
}

/* Each group's scale and minimum for the NB rows of block nb: S[g * NB + i]. */
static void block_scales(const uint8_t* heads, long K, long NB, long nb, float* S, float* Mn) {
    const long SB = K / 256;
    for (long i = 0; i < NB; i++) {
        const uint8_t* row = heads + (nb * NB + i) * SB * 16;
        for (long sb = 0; sb < SB; sb++) {
            const uint8_t* h = row + sb * 16;
            const float d = half_to_float((uint16_t)(h[0] | (h[1] << 8)));
            const float dmin = half_to_float((uint16_t)(h[2] | (h[3] << 8)));
            const uint8_t* sc = h + 4;
            for (int j = 0; j < 8; j++) {
                int s, m;
                if (j < 4) {
                    s = sc[j] & 63;
                    m = sc[j + 4] & 63;
                } else {
                    s = (sc[j + 4] & 0xF) | ((sc[j - 4] >> 6) << 4);
                    m = (sc[j + 4] >> 4) | ((sc[j] >> 6) << 4);
                }
                S[(sb * 8 + j) * NB + i] = d * (float)s;
                Mn[(sb * 8 + j) * NB + i] = dmin * (float)m;
            }
        }
    }
}

static void block_rows(const uint8_t* packed, const uint8_t* heads, const float* scale,
                       int8_t* out, long K, long NB, long nb, float* S, float* Mn) {
    const long H = NB / 2, G = K / 32, C = H / 16; /* C: 16-byte columns of a pack row */
    const u8v low = {15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15};
    const float* rs = scale + nb * NB;
    block_scales(heads, K, NB, nb, S, Mn);
    for (long g = 0; g < G; g++) {
        /* The group's pack bytes, (32 k, H rows) in 16 x 16 tiles [k half][column], to (rows, k) */
        u8v t[2][2][16];
        const uint8_t* p = packed + (nb * K + g * 32) * H;
        for (int kk = 0; kk < 32; kk++)
            for (long c = 0; c < C; c++) memcpy(&t[kk / 16][c][kk % 16], p + kk * H + c * 16, 16);
        for (int half = 0; half < 2; half++)
            for (long c = 0; c < C; c++) transpose16(t[half][c]);
        for (long i = 0; i < H; i++) {
            const u8v a = t[0][i / 16][i % 16], b = t[1][i / 16][i % 16]; /* k 0-15, 16-31 */
            const b16v lo_table = group_table(S[g * NB + i], Mn[g * NB + i], rs[i]);
            const b16v hi_table = group_table(S[g * NB + i + H], Mn[g * NB + i + H], rs[i + H]);
            const b16v r0 = lookup(lo_table, a & low), r1 = lookup(lo_table, b & low);
            const b16v r2 = lookup(hi_table, a >> 4), r3 = lookup(hi_table, b >> 4);
            int8_t* o = out + (nb * NB + i) * K + g * 32;
            memcpy(o, &r0, 16);
            memcpy(o + 16, &r1, 16);
            o += H * K;
            memcpy(o, &r2, 16);
            memcpy(o + 16, &r3, 16);
        }
    }
}

/* out: the (N, K) int8 weight. heads: (N, K / 256, 16) bytes, the first 16
 * of each Q4_K block (d, dmin, the packed 6-bit scales and minimums);
 * scale: (N,) the int8 row scales. Returns 0, or 1 for a shape it does not
 * take or memory it could not get. */
int q4k_int8(const uint8_t* packed, const uint8_t* heads, const float* scale, int8_t* out,
             long N, long K, long NB, int threads) {
    if ((NB != 32 && NB != 64) || N % NB || K % 256) return 1;
    const long blocks = N / NB, G = K / 32;
    int failed = 0;
#pragma omp parallel num_threads(threads > 0 ? threads : 1)
    {
        float* S = malloc(sizeof(float) * G * NB);
        float* Mn = malloc(sizeof(float) * G * NB);
        if (!S || !Mn) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(static)
        for (long nb = 0; nb < blocks; nb++) {
            if (S && Mn) block_rows(packed, heads, scale, out, K, NB, nb, S, Mn);
        }
        free(S);
        free(Mn);
    }
    (void)threads;
    return failed;
}

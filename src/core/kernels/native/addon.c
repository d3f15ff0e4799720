// Node-API glue for the native GEMM: picks the widest ISA build the CPU supports and runs a GEMM on
// the calling thread plus a fixed pool of helper threads (work split by whole tiles, fixed per call).
// Threads, locks and the clock come from libuv, which the node binary exports: linking no pthread or
// clock symbol of our own keeps the binary loadable on old glibc (it needs GLIBC_2.14 at most).
#define NAPI_VERSION 8
#include <math.h>
#include <node_api.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "claim.h"
#include "elementwise.h"
#include "infer.h"
#include "probe.h"
#include "sgemm.h"
#include "softmax.h"

typedef void (*range_fn)(int, int, int, int, int, float, const float *, const float *, float, float *, int, int,
                         int, int, float *, int, const sgemm_epilogue *, const sgemm_bytes *);

typedef struct {
  const char *name;
  range_fn range;
  size_t (*pack_floats)(void);
  int (*mr)(void);
  int (*nr)(void);
  int gather; // how gatherByteRows converts on this build (elementwise.h)
} isa_t;

static const isa_t ISAS[] = {
    {"avx512", sgemm_range_avx512, sgemm_pack_floats_avx512, sgemm_mr_avx512, sgemm_nr_avx512, EW_GATHER_AVX512},
    {"avx2", sgemm_range_avx2, sgemm_pack_floats_avx2, sgemm_mr_avx2, sgemm_nr_avx2, EW_GATHER_AVX2},
    {"generic", sgemm_range_generic, sgemm_pack_floats_generic, sgemm_mr_generic, sgemm_nr_generic, EW_GATHER_DIVIDE},
};
#define N_ISAS 3

// The inference kernels (infer.c) of each build, in ISAS order.
typedef struct {
  size_t (*packed_floats)(int, int);
  void (*pack)(const float *, int, int, float *);
  void (*dense)(const float *, int, int, int, int, const float *, const float *, int, int, const float *, float *);
} infer_isa_t;

static const infer_isa_t INFER_ISAS[] = {
    {infer_packed_floats_avx512, infer_pack_avx512, infer_dense_avx512},
    {infer_packed_floats_avx2, infer_pack_avx2, infer_dense_avx2},
    {infer_packed_floats_generic, infer_pack_generic, infer_dense_generic},
};

// Whether this CPU runs ISAS[i] (the avx512 build also uses AVX-512VL encodings).
static int isa_supported(int i) {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (i == 0) return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma");
  if (i == 1) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return 1;
#else
  return i == N_ISAS - 1;
#endif
}

static isa_t pick_isa(void) {
  for (int i = 0; i < N_ISAS; i++)
    if (isa_supported(i)) return ISAS[i];
  return ISAS[N_ISAS - 1];
}

static isa_t g_isa;
static uv_once_t g_isa_once = UV_ONCE_INIT;
static void init_isa(void) { g_isa = pick_isa(); }

typedef struct {
  int transA, transB, M, N, K;
  float alpha, beta;
  const float *A, *B;
  float *C;
  int chunks;
  int splitCols; // 1: chunks are column ranges, 0: row ranges
  int transC;    // computing Cᵀ = op(B)ᵀ·op(A)ᵀ into C (see sgemm.c)
  sgemm_epilogue ep;
  sgemm_bytes by; // A or B given as bytes (sgemm.h), or neither
  int kind;      // TASK_GEMM, or an element-wise pass split by rows/elements (bit-identical either way)
  const float *src;
  const uint8_t *bytes;
  const int32_t *order;
  size_t width, count;
  float *dst;
  uint8_t *dstBytes; // TASK_COPY_BYTES
  float *w, *buf;
  const float *g;
  size_t n;
  double lr, momentum;
  int nesterov;
  const struct infer_job *infer;
  const struct net_job *net;
} task_t;

enum { TASK_GEMM = 0, TASK_GATHER = 1, TASK_SGD = 2, TASK_GATHER_BYTES = 3, TASK_INFER = 4, TASK_NETWORK = 5, TASK_COPY_BYTES = 6 };

// A dense layer's inference over rows [0, B), split by rows across threads (the same bits either way).
typedef struct infer_job {
  const infer_isa_t *isa;
  const float *X, *P, *bias;
  int B, I, O, relu;
  float *Z;
} infer_job_t;

// A whole network's inference (inferNetwork): chunk c is rows [c·rowsPerChunk, …) taken through every
// layer in turn, the hidden activations in the thread's own scratch (a few KiB per row, so they stay
// in L1/L2), then the softmax. No thread waits for another between layers, and every row's outputs
// are those of the layer-by-layer path (rows never mix; see infer.c).
#define NETWORK_MAX_LAYERS 64
typedef struct net_job {
  const infer_isa_t *isa;
  // firstFinite: every weight of the first layer is finite, so its all-zero input steps may be
  // skipped (infer.c; image inputs are mostly zeros, the hidden layers' far less so).
  // threads: how many threads take chunks (a thread's next chunk is most often threads further on).
  int layers, B, rowsPerChunk, maxHidden, softmax, firstFinite, threads;
  const float *X;
  float *out;
  const float *P[NETWORK_MAX_LAYERS], *bias[NETWORK_MAX_LAYERS];
  int I[NETWORK_MAX_LAYERS], O[NETWORK_MAX_LAYERS], relu[NETWORK_MAX_LAYERS];
} net_job_t;

static void run_network(const net_job_t *j, int c, float *work) {
  int lo = c * j->rowsPerChunk, hi = lo + j->rowsPerChunk < j->B ? lo + j->rowsPerChunk : j->B;
  if (lo >= hi) return;
  int rows = hi - lo, last = j->layers - 1;
  float *hidden[2] = {work, work + (size_t)j->rowsPerChunk * j->maxHidden};
  float *out = j->out + (size_t)lo * j->O[last];
  const float *in = j->X + (size_t)lo * j->I[0];
  size_t next = (size_t)lo + (size_t)j->threads * (size_t)j->rowsPerChunk;
  const float *upcoming = next < (size_t)j->B ? j->X + next * j->I[0] : NULL;
  for (int l = 0; l <= last; l++) {
    float *dst = l == last ? out : hidden[l & 1];
    j->isa->dense(in, 0, rows, j->I[l], j->O[l], j->P[l], j->bias[l], j->relu[l], l == 0 && j->firstFinite, upcoming, dst);
    in = dst;
  }
  if (j->softmax) softmax_rows(out, out, (size_t)rows, (size_t)j->O[last], 1);
}

// Threads claim chunks of a GEMM from one atomic word, (generation << 40) | (chunks << 20) | next,
// so a helper that wakes late finds nothing left and the caller has done the work itself: a busy
// machine slows a GEMM down but never stalls it. Which thread computes a chunk does not change a
// single bit of the result (see sgemm.c), so dynamic claiming keeps results deterministic.
#define CHUNK_BITS 20
#define CHUNK_MASK ((1ull << CHUNK_BITS) - 1)

typedef struct pool {
  int threads;
  isa_t isa;
  float **work; // one packing buffer per thread
  uv_thread_t *tids;
  uv_mutex_t mu;
  uv_cond_t start_cv, done_cv;
  _Atomic uint64_t claim;
  atomic_uint posted; // generation of the latest task, for helpers waiting for one
  atomic_int done;    // chunks finished in the current task
  atomic_int stop;
  unsigned gen;
  task_t task;
  // Whether the latest GEMM ran on more than one thread (js_sgd_step).
  int lastGemmSplit;
} pool_t;

typedef struct {
  pool_t *pool;
  int index;
} worker_arg_t;

// The [lo, hi) share of `total` for part p of n, cut at multiples of `unit` (the tile grid).
static void share(int total, int unit, int p, int n, int *lo, int *hi) {
  int units = (total + unit - 1) / unit;
  int a = (int)((long)units * p / n), b = (int)((long)units * (p + 1) / n);
  *lo = a * unit < total ? a * unit : total;
  *hi = b * unit < total ? b * unit : total;
}

static void run_chunk(const isa_t *isa, const task_t *t, int c, float *work) {
  if (t->kind == TASK_GATHER) {
    int lo, hi;
    share((int)t->count, 1, c, t->chunks, &lo, &hi);
    claim_for_overwrite(t->dst + (size_t)lo * t->width, (size_t)(hi - lo) * t->width * sizeof(float));
    ew_gather_rows(t->src, t->width, t->order + lo, (size_t)(hi - lo), t->dst + (size_t)lo * t->width);
    return;
  }
  if (t->kind == TASK_GATHER_BYTES) {
    int lo, hi;
    share((int)t->count, 1, c, t->chunks, &lo, &hi);
    claim_for_overwrite(t->dst + (size_t)lo * t->width, (size_t)(hi - lo) * t->width * sizeof(float));
    ew_gather_byte_rows(t->bytes, t->width, t->order + lo, (size_t)(hi - lo), t->dst + (size_t)lo * t->width, isa->gather);
    return;
  }
  if (t->kind == TASK_COPY_BYTES) {
    int lo, hi;
    share((int)t->count, 1, c, t->chunks, &lo, &hi);
    claim_for_overwrite(t->dstBytes + (size_t)lo * t->width, (size_t)(hi - lo) * t->width);
    ew_copy_byte_rows(t->bytes, t->width, t->order + lo, (size_t)(hi - lo), t->dstBytes + (size_t)lo * t->width);
    return;
  }
  if (t->kind == TASK_INFER) {
    const infer_job_t *j = t->infer;
    int lo, hi;
    share(j->B, 8, c, t->chunks, &lo, &hi);
    if (lo < hi) j->isa->dense(j->X, lo, hi, j->I, j->O, j->P, j->bias, j->relu, 0, NULL, j->Z);
    return;
  }
  if (t->kind == TASK_NETWORK) {
    run_network(t->net, c, work);
    return;
  }
  if (t->kind == TASK_SGD) {
    int lo, hi;
    share((int)t->n, 16, c, t->chunks, &lo, &hi);
    ew_sgd_step(t->w + lo, t->g + lo, t->buf ? t->buf + lo : NULL, (size_t)(hi - lo), t->lr, t->momentum, t->nesterov);
    return;
  }
  int i0 = 0, i1 = t->M, j0 = 0, j1 = t->N;
  if (t->splitCols)
    share(t->N, isa->nr(), c, t->chunks, &j0, &j1);
  else
    share(t->M, isa->mr(), c, t->chunks, &i0, &i1);
  if (i0 < i1 && j0 < j1)
    isa->range(t->transA, t->transB, t->M, t->N, t->K, t->alpha, t->A, t->B, t->beta, t->C, i0, i1, j0, j1, work, t->transC,
               &t->ep, &t->by);
}

// Claims and runs chunks of task generation `gen` until none are left.
static void work_on(pool_t *pl, unsigned gen, float *work) {
  uint64_t cur = atomic_load_explicit(&pl->claim, memory_order_acquire);
  for (;;) {
    unsigned g = (unsigned)(cur >> (2 * CHUNK_BITS));
    unsigned total = (unsigned)((cur >> CHUNK_BITS) & CHUNK_MASK), c = (unsigned)(cur & CHUNK_MASK);
    if (g != (gen & 0xffffffu) || c >= total) return;
    if (!atomic_compare_exchange_weak_explicit(&pl->claim, &cur, cur + 1, memory_order_acq_rel, memory_order_acquire))
      continue;
    // Chunk c is ours and unfinished, so the task cannot be replaced while we read it.
    task_t t = pl->task;
    run_chunk(&pl->isa, &t, (int)c, work);
    if (atomic_fetch_add_explicit(&pl->done, 1, memory_order_acq_rel) + 1 == (int)total) {
      uv_mutex_lock(&pl->mu);
      uv_cond_signal(&pl->done_cv);
      uv_mutex_unlock(&pl->mu);
    }
    cur = atomic_load_explicit(&pl->claim, memory_order_acquire);
  }
}

static inline void cpu_relax(void) {
#if defined(__x86_64__)
  __builtin_ia32_pause();
#endif
}

static inline uint64_t now_ns(void) { return uv_hrtime(); }

// Spin this long before sleeping: a training step issues GEMMs a few microseconds apart.
#define SPIN_NS 200000ull

static void worker_main(void *arg) {
  worker_arg_t *wa = arg;
  pool_t *pl = wa->pool;
  int index = wa->index;
  free(wa);
  unsigned seen = 0;
  for (;;) {
    uint64_t until = now_ns() + SPIN_NS;
    for (int i = 0; atomic_load_explicit(&pl->posted, memory_order_acquire) == seen; i++) {
      cpu_relax();
      if ((i & 63) == 63 && now_ns() > until) {
        uv_mutex_lock(&pl->mu);
        while (atomic_load(&pl->posted) == seen && !atomic_load(&pl->stop)) uv_cond_wait(&pl->start_cv, &pl->mu);
        uv_mutex_unlock(&pl->mu);
        break;
      }
    }
    if (atomic_load(&pl->stop)) return;
    seen = atomic_load_explicit(&pl->posted, memory_order_acquire);
    work_on(pl, seen, pl->work[index]);
  }
}

static pool_t *pool_create(int threads, isa_t isa) {
  pool_t *pl = calloc(1, sizeof *pl);
  if (!pl) return NULL;
  pl->threads = threads;
  pl->isa = isa;
  pl->work = calloc((size_t)threads, sizeof(float *));
  pl->tids = calloc((size_t)threads, sizeof(uv_thread_t));
  uv_mutex_init(&pl->mu);
  uv_cond_init(&pl->start_cv);
  uv_cond_init(&pl->done_cv);
  atomic_init(&pl->claim, 0);
  atomic_init(&pl->posted, 0);
  atomic_init(&pl->done, 0);
  atomic_init(&pl->stop, 0);
  for (int i = 0; i < threads; i++) pl->work[i] = malloc(isa.pack_floats() * sizeof(float));
  for (int i = 1; i < threads; i++) {
    worker_arg_t *wa = malloc(sizeof *wa);
    wa->pool = pl;
    wa->index = i;
    uv_thread_create(&pl->tids[i], worker_main, wa);
  }
  return pl;
}

static void pool_destroy(pool_t *pl) {
  uv_mutex_lock(&pl->mu);
  atomic_store(&pl->stop, 1);
  atomic_fetch_add(&pl->posted, 1);
  uv_cond_broadcast(&pl->start_cv);
  uv_mutex_unlock(&pl->mu);
  for (int i = 1; i < pl->threads; i++) uv_thread_join(&pl->tids[i]);
  for (int i = 0; i < pl->threads; i++) free(pl->work[i]);
  free(pl->work);
  free(pl->tids);
  uv_cond_destroy(&pl->start_cv);
  uv_cond_destroy(&pl->done_cv);
  uv_mutex_destroy(&pl->mu);
  free(pl);
}

// Below this many multiply-adds (batch-32 layers of the benchmark MLP) waking a helper and
// splitting the packing cost more than they save, measured on 2 cores.
#define MIN_PARALLEL_MACS (4 * 1024 * 1024)
// Element-wise passes shorter than this many floats stay on the calling thread.
#define MIN_PARALLEL_FLOATS (64 * 1024)

// Chunks per thread: enough to rebalance when a helper starts late, few enough to keep re-packing cheap.
#define CHUNKS_PER_THREAD 2
// A GEMM's chunks each pack the whole of the operand they share (the batch-1024 forward's 400 KB of
// weights), so GEMMs take one a thread: a late helper still finds its chunk taken and the caller
// done, but no thread packs twice (the batch-1024 step on two threads 4 % faster here).
#define GEMM_CHUNKS_PER_THREAD 1

// How to cut a GEMM into chunks so that no chunk re-packs what another also packs: row-major A is
// read in place (sgemm.c), so a column split packs only each chunk's own columns of op(B); with a
// transposed A and row-major B it is B that is read in place, so split rows. Returns the chunk count.
// (Byte operands: see below.)
static int plan_chunks(task_t *t, int mr, int nr, int wanted) {
  int colTiles = (t->N + nr - 1) / nr, rowTiles = (t->M + mr - 1) / mr;
  // A byte operand is converted block by block by each chunk that reads it (sgemm.h): split so that
  // each chunk converts only its own rows of a byte A, or its own columns of a byte B.
  if (t->by.A)
    t->splitCols = rowTiles < 2;
  else if (t->by.B)
    t->splitCols = colTiles >= 2;
  else if (!t->transA)
    t->splitCols = colTiles >= 2 || rowTiles < 2;
  else if (!t->transB)
    t->splitCols = rowTiles < 2;
  else
    t->splitCols = colTiles >= rowTiles;
  int maxChunks = t->splitCols ? colTiles : rowTiles;
  return wanted < maxChunks ? wanted : maxChunks;
}

static void pool_run(pool_t *pl, task_t t);

static void pool_gemm(pool_t *pl, task_t t) {
  long macs = (long)t.M * t.N * t.K;
  // Another thread may hold the output's lines (claim.h).
  t.ep.claim = pl->threads > 1;
  int mr = pl->isa.mr(), nr = pl->isa.nr();
  int parallel = pl->threads > 1 && macs >= MIN_PARALLEL_MACS;
  t.chunks = parallel ? plan_chunks(&t, mr, nr, pl->threads * GEMM_CHUNKS_PER_THREAD) : 1;
  pl->lastGemmSplit = t.chunks >= 2;
  if (t.chunks < 2) {
    // X·Wᵀ with few rows on one thread: packing the transposed W (N×K) costs more than the product
    // saves; compute Cᵀ = W·Xᵀ instead, which reads W in place and packs only the small X. Not for
    // a byte X: read in place by rows, its zero steps are skipped (sgemm.c), which packed they are
    // not (batch-32 product 44 → 40 µs, bytes of Fashion-MNIST, in C).
    if (!t.transA && t.transB && 2 * t.M < t.N && !t.by.A) {
      const float *a = t.A;
      const uint8_t *a8 = t.by.A;
      int m = t.M;
      t.A = t.B;
      t.B = a;
      t.by.A = t.by.B;
      t.by.B = a8;
      t.M = t.N;
      t.N = m;
      t.transC = 1;
    }
    t.chunks = 1;
    t.splitCols = 0;
    run_chunk(&pl->isa, &t, 0, pl->work[0]);
    return;
  }
  pool_run(pl, t);
}

// Posts t (t.chunks ≥ 2) to the helpers, works on it too, and returns when every chunk is done.
static void pool_run(pool_t *pl, task_t t) {
  pl->task = t;
  pl->gen++;
  atomic_store_explicit(&pl->done, 0, memory_order_relaxed);
  atomic_store_explicit(&pl->claim, ((uint64_t)(pl->gen & 0xffffffu) << (2 * CHUNK_BITS)) | ((uint64_t)t.chunks << CHUNK_BITS),
                        memory_order_release);
  atomic_store_explicit(&pl->posted, pl->gen, memory_order_release);
  uv_mutex_lock(&pl->mu);
  uv_cond_broadcast(&pl->start_cv);
  uv_mutex_unlock(&pl->mu);
  work_on(pl, pl->gen, pl->work[0]);
  uint64_t until = now_ns() + SPIN_NS;
  for (int i = 0; atomic_load_explicit(&pl->done, memory_order_acquire) != t.chunks; i++) {
    cpu_relax();
    if ((i & 63) == 63 && now_ns() > until) {
      uv_mutex_lock(&pl->mu);
      while (atomic_load(&pl->done) != t.chunks) uv_cond_wait(&pl->done_cv, &pl->mu);
      uv_mutex_unlock(&pl->mu);
      break;
    }
  }
}

// Runs a row gather (t: one of the gather kinds, without chunks) split across the pool's threads,
// chunksPerThread chunks each, when it is large enough to pay for waking them; 0: nothing was done,
// the caller gathers on its own thread.
static int gather_split(pool_t *pl, task_t t, int chunksPerThread) {
  if (pl->threads < 2 || t.count < 2 || t.width * t.count < MIN_PARALLEL_FLOATS) return 0;
  t.chunks = pl->threads * chunksPerThread;
  pool_run(pl, t);
  return 1;
}

// ---- Node-API ----

#define CHECK(call)                                                                                          \
  do {                                                                                                       \
    if ((call) != napi_ok) {                                                                                 \
      napi_throw_error(env, NULL, "traind native kernels: " #call " failed");                              \
      return NULL;                                                                                           \
    }                                                                                                        \
  } while (0)

#define ARGS(n)                                                                                              \
  size_t argc = n;                                                                                           \
  napi_value a[n];                                                                                           \
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));                                                  \
  if (argc != n) {                                                                                           \
    napi_throw_type_error(env, NULL, "wrong number of arguments");                                          \
    return NULL;                                                                                             \
  }

static void finalize_pool(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  pool_destroy(data);
}

// createPool(threads, isa?): isa names a build ("avx512" | "avx2" | "generic") this CPU supports;
// by default the widest one.
static napi_value js_create_pool(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], out;
  int32_t threads;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CHECK(napi_get_value_int32(env, argv[0], &threads));
  if (threads < 1 || threads > 64) {
    napi_throw_range_error(env, NULL, "threads must be in [1, 64]");
    return NULL;
  }
  isa_t isa = g_isa;
  napi_valuetype vt = napi_undefined;
  if (argc > 1) CHECK(napi_typeof(env, argv[1], &vt));
  if (vt == napi_string) {
    char name[16];
    size_t len;
    CHECK(napi_get_value_string_utf8(env, argv[1], name, sizeof name, &len));
    int found = -1;
    for (int i = 0; i < N_ISAS; i++)
      if (strcmp(name, ISAS[i].name) == 0) found = i;
    if (found < 0 || !isa_supported(found)) {
      napi_throw_range_error(env, NULL, "this CPU does not support the requested instruction set");
      return NULL;
    }
    isa = ISAS[found];
  }
  pool_t *pl = pool_create(threads, isa);
  if (!pl) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  CHECK(napi_create_external(env, pl, finalize_pool, NULL, &out));
  return out;
}

static int get_f32(napi_env env, napi_value v, float **ptr, size_t *len) {
  napi_typedarray_type type;
  void *data;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(env, v, &type, len, &data, &ab, &off) != napi_ok || type != napi_float32_array)
    return 0;
  *ptr = data;
  return 1;
}

// A GEMM operand: a Float32Array, or a Uint8Array whose bytes stand for byte / 255 (sgemm.h).
static int get_operand(napi_env env, napi_value v, const float **f, const uint8_t **bytes, size_t *len) {
  napi_typedarray_type type;
  void *data;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(env, v, &type, len, &data, &ab, &off) != napi_ok) return 0;
  *f = NULL;
  *bytes = NULL;
  if (type == napi_float32_array)
    *f = data;
  else if (type == napi_uint8_array)
    *bytes = data;
  else
    return 0;
  return 1;
}

// The arguments every GEMM entry shares, checked before any memory is touched: pool, transA, transB,
// M, N, K (a[0..5]); A, B and C at a[ia], a[ib], a[ic]. Returns 0 with a JS exception pending.
static int gemm_args(napi_env env, napi_value *a, int ia, int ib, int ic, pool_t **pl, task_t *t) {
  bool ta, tb;
  int32_t M, N, K;
  const float *A, *B;
  const uint8_t *A8, *B8;
  float *C;
  size_t la, lb, lc;
  if (napi_get_value_external(env, a[0], (void **)pl) != napi_ok || napi_get_value_bool(env, a[1], &ta) != napi_ok ||
      napi_get_value_bool(env, a[2], &tb) != napi_ok || napi_get_value_int32(env, a[3], &M) != napi_ok ||
      napi_get_value_int32(env, a[4], &N) != napi_ok || napi_get_value_int32(env, a[5], &K) != napi_ok) {
    napi_throw_type_error(env, NULL, "gemm: pool, transA, transB, M, N, K expected");
    return 0;
  }
  if (!get_operand(env, a[ia], &A, &A8, &la) || !get_operand(env, a[ib], &B, &B8, &lb) || !get_f32(env, a[ic], &C, &lc)) {
    napi_throw_type_error(env, NULL, "A and B must be Float32Arrays or Uint8Arrays, C a Float32Array");
    return 0;
  }
  if (M < 0 || N < 0 || K < 0 || la < (size_t)M * K || lb < (size_t)K * N || lc < (size_t)M * N) {
    napi_throw_range_error(env, NULL, "gemm: a buffer is shorter than its dimensions need");
    return 0;
  }
  *t = (task_t){ta, tb, M, N, K, 1.0f, 0.0f, A, B, C, 1, 0, 0};
  t->by = (sgemm_bytes){A8, B8};
  return 1;
}

// gemm(pool, transA, transB, M, N, K, alpha, A, B, beta, C)
static napi_value js_gemm(napi_env env, napi_callback_info info) {
  ARGS(11);
  pool_t *pl;
  task_t t;
  double alpha, beta;
  if (!gemm_args(env, a, 7, 8, 10, &pl, &t)) return NULL;
  CHECK(napi_get_value_double(env, a[6], &alpha));
  CHECK(napi_get_value_double(env, a[9], &beta));
  if (t.M == 0 || t.N == 0) return NULL;
  if (t.K == 0 || alpha == 0.0) {
    size_t n = (size_t)t.M * t.N;
    for (size_t i = 0; i < n; i++) t.C[i] = beta == 0.0 ? 0.0f : (float)beta * t.C[i];
    return NULL;
  }
  t.alpha = (float)alpha;
  t.beta = (float)beta;
  pool_gemm(pl, t);
  return NULL;
}

// An optional Float32Array argument of at least `need` elements; null/undefined gives NULL.
static int optional_f32(napi_env env, napi_value v, size_t need, float **out) {
  napi_valuetype vt;
  size_t len;
  *out = NULL;
  if (napi_typeof(env, v, &vt) != napi_ok) return 0;
  if (vt == napi_null || vt == napi_undefined) return 1;
  if (!get_f32(env, v, out, &len)) {
    napi_throw_type_error(env, NULL, "bias, reluOut and reluMask must be Float32Arrays or null");
    return 0;
  }
  if (len < need) {
    napi_throw_range_error(env, NULL, "gemmFused: bias, reluOut or reluMask is shorter than its dimensions need");
    return 0;
  }
  return 1;
}

static int isa_index(const pool_t *pl);
static void dense_infer_run(pool_t *pl, const infer_job_t *j, size_t minParallelMacs);

// A forward product X·Wᵀ (+ bias) with fewer outputs than the GEMM's register tile is wide (an output
// layer of 10 classes fills 10 of 32 columns) runs on the inference kernel instead, whose tiles are a
// vector wide and twelve rows tall: twice as fast on 1024 × 128 → 10 here, and the same bits (infer.c
// sums each output exactly as sgemm.c does). W is packed for it on every call: N·K floats, cheap next
// to the product. Returns 0 (nothing done) when the packed copy cannot be had.
static int narrow_forward(pool_t *pl, const task_t *t, const float *bias) {
  const infer_isa_t *isa = &INFER_ISAS[isa_index(pl)];
  void *packed = NULL;
  if (posix_memalign(&packed, 64, isa->packed_floats(t->N, t->K) * sizeof(float)) != 0) return 0;
  isa->pack(t->B, t->N, t->K, packed);
  infer_job_t j = {isa, t->A, packed, bias, t->M, t->K, t->N, 0, t->C};
  // The GEMM's threshold for waking a helper, not inference's: the same split as the product it replaces.
  dense_infer_run(pl, &j, MIN_PARALLEL_MACS);
  free(packed);
  return 1;
}

// gemmFused(pool, transA, transB, M, N, K, A, B, C, bias, reluOut, reluMask): C = op(A)·op(B), started
// from the bias (per column) when given, then reluOut = max(C, 0) and/or C = reluMask > 0 ? C : 0.
static napi_value js_gemm_fused(napi_env env, napi_callback_info info) {
  ARGS(12);
  pool_t *pl;
  task_t t;
  float *bias, *reluOut, *reluMask;
  if (!gemm_args(env, a, 6, 7, 8, &pl, &t)) return NULL;
  size_t mn = (size_t)t.M * t.N;
  if (!optional_f32(env, a[9], (size_t)t.N, &bias) || !optional_f32(env, a[10], mn, &reluOut) ||
      !optional_f32(env, a[11], mn, &reluMask))
    return NULL;
  if (t.K == 0) {
    napi_throw_range_error(env, NULL, "gemmFused: K must be at least 1");
    return NULL;
  }
  if (t.M == 0 || t.N == 0) return NULL;
  // (The inference kernel reads float inputs only.)
  if (!t.transA && t.transB && t.N < pl->isa.nr() && !reluOut && !reluMask && !t.by.A && !t.by.B && narrow_forward(pl, &t, bias))
    return NULL;
  t.ep = (sgemm_epilogue){bias, reluOut, reluMask, 0};
  pool_gemm(pl, t);
  return NULL;
}

static napi_value js_isa(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value s;
  CHECK(napi_create_string_utf8(env, g_isa.name, NAPI_AUTO_LENGTH, &s));
  return s;
}

// The builds this CPU can run, widest first.
static napi_value js_supported_isas(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value arr, s;
  uint32_t n = 0;
  CHECK(napi_create_array(env, &arr));
  for (int i = 0; i < N_ISAS; i++) {
    if (!isa_supported(i)) continue;
    CHECK(napi_create_string_utf8(env, ISAS[i].name, NAPI_AUTO_LENGTH, &s));
    CHECK(napi_set_element(env, arr, n++, s));
  }
  return arr;
}

// ---- element-wise passes: f32(arrays…), then numbers; every length is checked before touching memory ----

static int arg_f32(napi_env env, napi_value v, float **ptr, size_t need, const char *what) {
  size_t len;
  if (!get_f32(env, v, ptr, &len)) {
    napi_throw_type_error(env, NULL, what);
    return 0;
  }
  if (len < need) {
    napi_throw_range_error(env, NULL, "a buffer is shorter than the element count");
    return 0;
  }
  return 1;
}

static int arg_count(napi_env env, napi_value v, size_t *out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || !(d >= 0) || d > 9007199254740991.0 || d != (double)(int64_t)d) {
    napi_throw_range_error(env, NULL, "counts must be non-negative integers");
    return 0;
  }
  *out = (size_t)d;
  return 1;
}

static int arg_num(napi_env env, napi_value v, double *out) {
  if (napi_get_value_double(env, v, out) != napi_ok) {
    napi_throw_type_error(env, NULL, "expected a number");
    return 0;
  }
  return 1;
}

// (Z, A, n) and (Z, A, n, alpha)
static napi_value js_relu_forward(napi_env env, napi_callback_info info) {
  ARGS(3);
  size_t n;
  float *Z, *A;
  if (!arg_count(env, a[2], &n) || !arg_f32(env, a[0], &Z, n, "Z") || !arg_f32(env, a[1], &A, n, "A")) return NULL;
  ew_relu_forward(Z, A, n);
  return NULL;
}

static napi_value js_leaky_relu_forward(napi_env env, napi_callback_info info) {
  ARGS(4);
  size_t n;
  double alpha;
  float *Z, *A;
  if (!arg_count(env, a[2], &n) || !arg_num(env, a[3], &alpha) || !arg_f32(env, a[0], &Z, n, "Z") ||
      !arg_f32(env, a[1], &A, n, "A"))
    return NULL;
  ew_leaky_relu_forward(Z, A, n, alpha);
  return NULL;
}

// (X, dA, dZ, n[, alpha]) where X is Z for relu/leaky_relu and A for sigmoid/tanh.
static napi_value backward3(napi_env env, napi_callback_info info, int kind) {
  size_t argc = 5;
  napi_value a[5];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  size_t n;
  double alpha = 0;
  float *X, *dA, *dZ;
  if (argc < 4 || !arg_count(env, a[3], &n) || (kind == 1 && (argc < 5 || !arg_num(env, a[4], &alpha))) ||
      !arg_f32(env, a[0], &X, n, "Z/A") || !arg_f32(env, a[1], &dA, n, "dA") || !arg_f32(env, a[2], &dZ, n, "dZ"))
    return NULL;
  switch (kind) {
  case 0: ew_relu_backward(X, dA, dZ, n); break;
  case 1: ew_leaky_relu_backward(X, dA, dZ, n, alpha); break;
  case 2: ew_sigmoid_backward(X, dA, dZ, n); break;
  default: ew_tanh_backward(X, dA, dZ, n); break;
  }
  return NULL;
}
static napi_value js_relu_backward(napi_env env, napi_callback_info info) { return backward3(env, info, 0); }
static napi_value js_leaky_relu_backward(napi_env env, napi_callback_info info) { return backward3(env, info, 1); }
static napi_value js_sigmoid_backward(napi_env env, napi_callback_info info) { return backward3(env, info, 2); }
static napi_value js_tanh_backward(napi_env env, napi_callback_info info) { return backward3(env, info, 3); }

// (dZ, db, B, O)
static napi_value js_bias_gradient(napi_env env, napi_callback_info info) {
  ARGS(4);
  size_t B, O;
  float *dZ, *db;
  if (!arg_count(env, a[2], &B) || !arg_count(env, a[3], &O) || !arg_f32(env, a[0], &dZ, B * O, "dZ") ||
      !arg_f32(env, a[1], &db, O, "db"))
    return NULL;
  ew_bias_gradient(dZ, db, B, O);
  return NULL;
}

// (pool, w, g, buf | null, n, lr, momentum, nesterov)
static napi_value js_sgd_step(napi_env env, napi_callback_info info) {
  ARGS(8);
  pool_t *pl;
  size_t n;
  double lr, momentum;
  bool nesterov;
  float *w, *g, *buf = NULL;
  napi_valuetype bt;
  CHECK(napi_get_value_external(env, a[0], (void **)&pl));
  napi_value *v = a + 1;
  CHECK(napi_typeof(env, v[2], &bt));
  if (!arg_count(env, v[3], &n) || !arg_num(env, v[4], &lr) || !arg_num(env, v[5], &momentum) ||
      !arg_f32(env, v[0], &w, n, "w") || !arg_f32(env, v[1], &g, n, "g") ||
      (bt != napi_null && !arg_f32(env, v[2], &buf, n, "buf")))
    return NULL;
  CHECK(napi_get_value_bool(env, v[6], &nesterov));
  // Split only when the product before it was: a gradient a product wrote on one thread is in that
  // core's cache, and so are the weights the next products read. Split anyway (batch 32, whose
  // products stay on one thread), half of them crossed to the other core and back every step: the
  // batch-32 MLP on two threads 1.16x faster without (AMD EPYC Zen 5; 0.84x with the builds swapped).
  // Every element's update is the same either way.
  if (pl->threads > 1 && n >= MIN_PARALLEL_FLOATS && pl->lastGemmSplit) {
    task_t t = {0};
    t.kind = TASK_SGD;
    t.w = w;
    t.g = g;
    t.buf = buf;
    t.n = n;
    t.lr = lr;
    t.momentum = momentum;
    t.nesterov = nesterov;
    t.chunks = pl->threads * CHUNKS_PER_THREAD;
    pool_run(pl, t);
  } else {
    ew_sgd_step(w, g, buf, n, lr, momentum, nesterov);
  }
  return NULL;
}

// (pool, src, width, order, start, count, dst): dst row r = src row order[start + r]
static napi_value js_gather_rows(napi_env env, napi_callback_info info) {
  ARGS(7);
  pool_t *pl;
  CHECK(napi_get_value_external(env, a[0], (void **)&pl));
  napi_value *v = a + 1;
  size_t width, start, count, srcLen, orderLen;
  float *src, *dst;
  napi_typedarray_type type;
  void *orderData;
  napi_value ab;
  size_t off;
  if (!arg_count(env, v[1], &width) || !arg_count(env, v[3], &start) || !arg_count(env, v[4], &count) ||
      !get_f32(env, v[0], &src, &srcLen) || !arg_f32(env, v[5], &dst, width * count, "dst"))
    return NULL;
  if (napi_get_typedarray_info(env, v[2], &type, &orderLen, &orderData, &ab, &off) != napi_ok || type != napi_int32_array ||
      start + count > orderLen) {
    napi_throw_range_error(env, NULL, "order must be an Int32Array holding start + count indices");
    return NULL;
  }
  const int32_t *order = (const int32_t *)orderData + start;
  size_t rows = width == 0 ? 0 : srcLen / width;
  for (size_t r = 0; r < count; r++) {
    if (order[r] < 0 || (size_t)order[r] >= rows) {
      napi_throw_range_error(env, NULL, "a row index is outside src");
      return NULL;
    }
  }
  task_t t = {.kind = TASK_GATHER, .src = src, .width = width, .order = order, .count = count, .dst = dst};
  if (!gather_split(pl, t, CHUNKS_PER_THREAD)) {
    ew_gather_rows(src, width, order, count, dst);
  }
  return NULL;
}

// (pool, src: Uint8Array, width, order, start, count, dst): dst row r = src row order[start + r] / 255,
// or, when dst is a Uint8Array, the bytes themselves (for the GEMM's byte operands, sgemm.h).
static napi_value js_gather_byte_rows(napi_env env, napi_callback_info info) {
  ARGS(7);
  pool_t *pl;
  CHECK(napi_get_value_external(env, a[0], (void **)&pl));
  napi_value *v = a + 1;
  size_t width, start, count, srcLen, orderLen, dstLen;
  float *dst = NULL;
  uint8_t *dstBytes = NULL;
  napi_typedarray_type type;
  void *srcData, *orderData, *dstData;
  napi_value ab;
  size_t off;
  if (!arg_count(env, v[1], &width) || !arg_count(env, v[3], &start) || !arg_count(env, v[4], &count)) return NULL;
  if (napi_get_typedarray_info(env, v[5], &type, &dstLen, &dstData, &ab, &off) == napi_ok && type == napi_uint8_array) {
    if (dstLen < width * count) {
      napi_throw_range_error(env, NULL, "a buffer is shorter than the element count");
      return NULL;
    }
    dstBytes = dstData;
  } else if (!arg_f32(env, v[5], &dst, width * count, "dst")) {
    return NULL;
  }
  if (napi_get_typedarray_info(env, v[0], &type, &srcLen, &srcData, &ab, &off) != napi_ok || type != napi_uint8_array) {
    napi_throw_type_error(env, NULL, "src must be a Uint8Array");
    return NULL;
  }
  if (napi_get_typedarray_info(env, v[2], &type, &orderLen, &orderData, &ab, &off) != napi_ok || type != napi_int32_array ||
      start + count > orderLen) {
    napi_throw_range_error(env, NULL, "order must be an Int32Array holding start + count indices");
    return NULL;
  }
  const uint8_t *src = (const uint8_t *)srcData;
  const int32_t *order = (const int32_t *)orderData + start;
  size_t rows = width == 0 ? 0 : srcLen / width;
  for (size_t r = 0; r < count; r++) {
    if (order[r] < 0 || (size_t)order[r] >= rows) {
      napi_throw_range_error(env, NULL, "a row index is outside src");
      return NULL;
    }
  }
  if (dstBytes) {
    // On two or more threads each copies (and claims) its share of the rows: the forward product's
    // chunks then find their rows in their own core's cache, and no core waits for lines the other
    // read last step (the batch-1024 gather on two threads 86-91 -> 58-60 us here).
    task_t t = {.kind = TASK_COPY_BYTES, .bytes = src, .width = width, .order = order, .count = count, .dstBytes = dstBytes};
    // One chunk a thread, as the forward product splits the rows (GEMM_CHUNKS_PER_THREAD).
    if (!gather_split(pl, t, 1)) ew_copy_byte_rows(src, width, order, count, dstBytes);
    return NULL;
  }
  task_t t = {.kind = TASK_GATHER_BYTES, .bytes = src, .width = width, .order = order, .count = count, .dst = dst};
  if (!gather_split(pl, t, CHUNKS_PER_THREAD)) ew_gather_byte_rows(src, width, order, count, dst, pl->isa.gather);
  return NULL;
}

// ---- buffers on cache lines (and large ones on huge pages) ----

#define HUGE_PAGE ((size_t)2 << 20)
#define CACHE_LINE ((size_t)64)

// Two kinds of buffer. Below a 2 MiB page: calloc'd with a line's slack and the pointer moved up to
// the line, the block's own address kept just below it. calloc reuses memory the process freed (a
// parsed dataset's, say) and takes fresh pages zeroed by the kernel without touching them; zeroing
// aligned blocks here instead put 22 ms of page faults before a 784-256-128-10 run's first mini-batch,
// and mapping each one its own pages held 7 MiB more at the peak of a process that had freed memory
// to reuse. From 2 MiB: mapped on 2 MiB-aligned pages advised for transparent huge pages (Linux).
static int is_huge(size_t bytes) {
#if defined(__linux__)
  return bytes >= HUGE_PAGE;
#else
  (void)bytes;
  return 0;
#endif
}

// `bytes` zeroed bytes (a multiple of 64, of HUGE_PAGE when huge), 64-byte aligned, 2 MiB aligned
// when huge; NULL when the memory cannot be had.
static void *zeroed_aligned(size_t bytes) {
#if defined(__linux__)
  if (is_huge(bytes)) {
    char *base = mmap(NULL, bytes + HUGE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) return NULL;
    char *data = (char *)(((uintptr_t)base + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE);
    // Unmap the slack before and after the aligned block, so release_aligned unmaps exactly `bytes`.
    if (data > base) munmap(base, (size_t)(data - base));
    munmap(data + bytes, (size_t)(base + HUGE_PAGE - data));
#if defined(MADV_HUGEPAGE)
    madvise(data, bytes, MADV_HUGEPAGE);
#endif
    return data;
  }
#endif
  char *raw = calloc(1, bytes + CACHE_LINE + sizeof(void *));
  if (raw == NULL) return NULL;
  char *data = (char *)(((uintptr_t)raw + sizeof(void *) + CACHE_LINE - 1) / CACHE_LINE * CACHE_LINE);
  memcpy(data - sizeof(void *), &raw, sizeof raw);
  return data;
}

// Gives back what zeroed_aligned(bytes) returned.
static void release_aligned(void *data, size_t bytes) {
#if defined(__linux__)
  if (is_huge(bytes)) {
    munmap(data, bytes);
    return;
  }
#endif
  void *raw;
  memcpy(&raw, (char *)data - sizeof(void *), sizeof raw);
  free(raw);
}

static void free_aligned(napi_env env, void *data, void *hint) {
  int64_t adjusted;
  napi_adjust_external_memory(env, -(int64_t)(size_t)hint, &adjusted);
  release_aligned(data, (size_t)hint);
}

// allocAligned(length): a zeroed Float32Array of `length` floats starting on a 64-byte cache line
// (see above for how). V8 takes an ArrayBuffer's memory from malloc, 16-byte aligned at an offset
// that depends on what the process allocated and freed before, so one trainer's weights could start
// mid-line and the next one's on a line boundary: every 64-byte vector load of a misaligned row spans
// two lines, and the same job ran a few percent faster or slower by its process' history. Huge pages
// for the large ones: a mini-batch's inputs are read in place by the GEMMs with a row stride of a few
// KiB, a TLB miss every row or two on 4 KiB pages. Null when the memory cannot be had (the caller
// then allocates an ordinary array).
static napi_value js_alloc_aligned(napi_env env, napi_callback_info info) {
  ARGS(1);
  size_t length;
  napi_value ab, out;
  int64_t adjusted;
  if (!arg_count(env, a[0], &length)) return NULL;
  if (length == 0 || length > ((size_t)1 << 40)) {
    CHECK(napi_get_null(env, &out));
    return out;
  }
  size_t align = is_huge(length * sizeof(float)) ? HUGE_PAGE : CACHE_LINE;
  size_t bytes = (length * sizeof(float) + align - 1) / align * align;
  void *data = zeroed_aligned(bytes);
  if (data == NULL) {
    CHECK(napi_get_null(env, &out));
    return out;
  }
  if (napi_create_external_arraybuffer(env, data, length * sizeof(float), free_aligned, (void *)bytes, &ab) != napi_ok) {
    release_aligned(data, bytes);
    CHECK(napi_get_null(env, &out));
    return out;
  }
  CHECK(napi_adjust_external_memory(env, (int64_t)bytes, &adjusted));
  CHECK(napi_create_typedarray(env, napi_float32_array, length, ab, 0, &out));
  return out;
}

// addressAlignment(view): the largest power of two, up to 2 MiB, that divides the address of a
// typed array's first element: what allocAligned promises, which JavaScript cannot see.
static napi_value js_address_alignment(napi_env env, napi_callback_info info) {
  ARGS(1);
  napi_typedarray_type type;
  size_t length, offset;
  void *data;
  napi_value ab, out;
  if (napi_get_typedarray_info(env, a[0], &type, &length, &data, &ab, &offset) != napi_ok) {
    napi_throw_type_error(env, NULL, "addressAlignment: a typed array is needed");
    return NULL;
  }
  uintptr_t address = (uintptr_t)data;
  size_t alignment = 1;
  while (alignment < HUGE_PAGE && address % (alignment * 2) == 0) alignment *= 2;
  CHECK(napi_create_uint32(env, (uint32_t)alignment, &out));
  return out;
}

// fmaPeak(): what one core's FP32 peak is made of, measured with the vectors of the GEMM build in use
// (probe.c), as { clockGHz, fmaLatencyCycles, fmaPerCycle, lanes }; null for the portable build.
static napi_value js_fma_peak(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out, v;
  probe_result r;
  int lanes = strcmp(g_isa.name, "avx512") == 0 ? 16 : strcmp(g_isa.name, "avx2") == 0 ? 8 : 0;
  if (!probe_fma_peak(lanes, &r)) {
    CHECK(napi_get_null(env, &out));
    return out;
  }
  CHECK(napi_create_object(env, &out));
  CHECK(napi_create_double(env, r.clockGHz, &v));
  CHECK(napi_set_named_property(env, out, "clockGHz", v));
  CHECK(napi_create_double(env, r.fmaLatencyCycles, &v));
  CHECK(napi_set_named_property(env, out, "fmaLatencyCycles", v));
  CHECK(napi_create_double(env, r.fmaPerCycle, &v));
  CHECK(napi_set_named_property(env, out, "fmaPerCycle", v));
  CHECK(napi_create_int32(env, r.lanes, &v));
  CHECK(napi_set_named_property(env, out, "lanes", v));
  return out;
}

// ---- inference with packed weights (infer.c) ----

// A dense layer's weights packed for one ISA's inference kernel; owned by a JS external.
typedef struct {
  int isa, O, I;
  int finite; // every weight finite (see infer_dense)
  size_t floats;
  float *data;
} packed_t;

static int isa_index(const pool_t *pl) {
  for (int i = 0; i < N_ISAS; i++)
    if (ISAS[i].range == pl->isa.range) return i;
  return N_ISAS - 1;
}

static void finalize_packed(napi_env env, void *data, void *hint) {
  (void)hint;
  packed_t *p = data;
  int64_t ignored;
  napi_adjust_external_memory(env, -(int64_t)(p->floats * sizeof(float)), &ignored);
  free(p->data);
  free(p);
}

// packDense(pool, W, O, I): W [O×I] packed for the pool's ISA, as an external.
static napi_value js_pack_dense(napi_env env, napi_callback_info info) {
  ARGS(4);
  pool_t *pl;
  size_t O, I;
  float *W;
  CHECK(napi_get_value_external(env, a[0], (void **)&pl));
  if (!arg_count(env, a[2], &O) || !arg_count(env, a[3], &I) || !arg_f32(env, a[1], &W, O * I, "W")) return NULL;
  if (O == 0 || I == 0 || O > 0x7fffffff || I > 0x7fffffff) {
    napi_throw_range_error(env, NULL, "packDense: O and I must be in [1, 2^31)");
    return NULL;
  }
  int isa = isa_index(pl);
  packed_t *p = calloc(1, sizeof *p);
  size_t floats = INFER_ISAS[isa].packed_floats((int)O, (int)I);
  void *data = NULL;
  // posix_memalign, not aligned_alloc: the addon asks for glibc 2.14 at most.
  if (!p || posix_memalign(&data, 64, floats * sizeof(float)) != 0) data = NULL;
  if (!data) {
    free(p);
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  int finite = 1;
  for (size_t i = 0; i < O * I; i++) finite &= isfinite(W[i]) != 0;
  *p = (packed_t){isa, (int)O, (int)I, finite, floats, data};
  INFER_ISAS[isa].pack(W, (int)O, (int)I, data);
  napi_value out;
  int64_t ignored;
  CHECK(napi_create_external(env, p, finalize_packed, NULL, &out));
  CHECK(napi_adjust_external_memory(env, (int64_t)(floats * sizeof(float)), &ignored));
  return out;
}

// Below this many multiply-adds a layer's inference stays on the calling thread.
#define MIN_PARALLEL_INFER_MACS (1024 * 1024)

// denseInfer(pool, packed, X, B, bias | null, relu, Z): Z[B×O] = X[B×I]·Wᵀ + b, ReLU'd when relu.
static napi_value js_dense_infer(napi_env env, napi_callback_info info) {
  ARGS(7);
  pool_t *pl;
  packed_t *p;
  size_t B;
  float *X, *Z, *bias = NULL;
  bool relu;
  napi_valuetype bt;
  CHECK(napi_get_value_external(env, a[0], (void **)&pl));
  CHECK(napi_get_value_external(env, a[1], (void **)&p));
  CHECK(napi_typeof(env, a[4], &bt));
  CHECK(napi_get_value_bool(env, a[5], &relu));
  if (!arg_count(env, a[3], &B) || !arg_f32(env, a[2], &X, B * (size_t)p->I, "X") ||
      !arg_f32(env, a[6], &Z, B * (size_t)p->O, "Z") || (bt != napi_null && !arg_f32(env, a[4], &bias, (size_t)p->O, "bias")))
    return NULL;
  if (p->isa != isa_index(pl) || B > 0x7fffffff) {
    napi_throw_range_error(env, NULL, "denseInfer: weights packed for another instruction set, or too many rows");
    return NULL;
  }
  infer_job_t j = {&INFER_ISAS[p->isa], X, p->data, bias, (int)B, p->I, p->O, relu, Z};
  dense_infer_run(pl, &j, MIN_PARALLEL_INFER_MACS);
  return NULL;
}

// A dense layer's inference over rows [0, j->B), split by rows across the pool's threads when it has
// at least minParallelMacs multiply-adds.
static void dense_infer_run(pool_t *pl, const infer_job_t *j, size_t minParallelMacs) {
  if (pl->threads > 1 && j->B >= 16 && (size_t)j->B * (size_t)j->I * (size_t)j->O >= minParallelMacs) {
    task_t t = {0};
    t.kind = TASK_INFER;
    t.infer = j;
    t.chunks = pl->threads;
    pool_run(pl, t);
  } else if (j->B > 0) {
    j->isa->dense(j->X, 0, j->B, j->I, j->O, j->P, j->bias, j->relu, 0, NULL, j->Z);
  }
}

// Rows per chunk of a network's inference: at most this many (the tile grids of infer.c divide it),
// fewer when the thread's scratch cannot hold two chunks of the widest hidden layer.
#define NETWORK_CHUNK_ROWS 48

// inferNetwork(pool, packed[], biases[], relu[], X, B, out, softmax): out [B×O_last] = the dense layers
// in order (layer l: packed[l], biases[l] or null, ReLU when relu[l]) applied to X [B×I_0], then the
// row-wise softmax when softmax. The bits of denseInfer layer by layer, then softmaxRows. Returns false,
// with nothing written, when it cannot promise them (no V8 exp for the softmax) or a hidden layer is
// too wide for the scratch; the caller then goes layer by layer.
static napi_value js_infer_network(napi_env env, napi_callback_info info) {
  ARGS(8);
  pool_t *pl;
  size_t B;
  uint32_t layers, nb, nr;
  bool softmax, isArray;
  float *X, *out;
  napi_value result;
  CHECK(napi_get_value_external(env, a[0], (void **)&pl));
  CHECK(napi_is_array(env, a[1], &isArray));
  if (!isArray) {
    napi_throw_type_error(env, NULL, "inferNetwork: packed must be an array");
    return NULL;
  }
  CHECK(napi_get_array_length(env, a[1], &layers));
  CHECK(napi_get_array_length(env, a[2], &nb));
  CHECK(napi_get_array_length(env, a[3], &nr));
  CHECK(napi_get_value_bool(env, a[7], &softmax));
  if (layers < 1 || layers > NETWORK_MAX_LAYERS || nb != layers || nr != layers) {
    napi_throw_range_error(env, NULL, "inferNetwork: 1 to 64 layers, with one bias and one relu flag each");
    return NULL;
  }
  net_job_t job = {0}, *j = &job;
  int isa = isa_index(pl);
  j->isa = &INFER_ISAS[isa];
  j->layers = (int)layers;
  j->softmax = softmax;
  for (uint32_t l = 0; l < layers; l++) {
    napi_value v;
    packed_t *p;
    bool relu;
    napi_valuetype bt;
    if (napi_get_element(env, a[1], l, &v) != napi_ok || napi_get_value_external(env, v, (void **)&p) != napi_ok ||
        p->isa != isa || (l > 0 && p->I != j->O[l - 1])) {
      napi_throw_range_error(env, NULL, "inferNetwork: layers packed for another instruction set, or widths that do not chain");
      return NULL;
    }
    j->P[l] = p->data;
    if (l == 0) j->firstFinite = p->finite;
    j->I[l] = p->I;
    j->O[l] = p->O;
    if (l + 1 < layers && p->O > j->maxHidden) j->maxHidden = p->O;
    float *bias = NULL;
    CHECK(napi_get_element(env, a[2], l, &v));
    CHECK(napi_typeof(env, v, &bt));
    if (bt != napi_null && !arg_f32(env, v, &bias, (size_t)p->O, "bias")) return NULL;
    j->bias[l] = bias;
    CHECK(napi_get_element(env, a[3], l, &v));
    CHECK(napi_get_value_bool(env, v, &relu));
    j->relu[l] = relu;
  }
  if (!arg_count(env, a[5], &B) || !arg_f32(env, a[4], &X, B * (size_t)j->I[0], "X") ||
      !arg_f32(env, a[6], &out, B * (size_t)j->O[layers - 1], "out"))
    return NULL;
  // Two chunks of the widest hidden layer must fit the thread's scratch (its GEMM packing buffer).
  size_t capacity = j->maxHidden == 0 ? NETWORK_CHUNK_ROWS : pl->isa.pack_floats() / (2 * (size_t)j->maxHidden);
  int fits = capacity >= 1 && B <= 0x7fffffff && (!softmax || softmax_available());
  CHECK(napi_get_boolean(env, fits, &result));
  if (!fits || B == 0) return result;
  j->X = X;
  j->out = out;
  j->B = (int)B;
  int rows = capacity < NETWORK_CHUNK_ROWS ? (int)capacity : NETWORK_CHUNK_ROWS;
  double macs = 0;
  for (int l = 0; l < j->layers; l++) macs += (double)j->I[l] * j->O[l];
  macs *= (double)B;
  if (pl->threads > 1 && B >= 16 && macs >= MIN_PARALLEL_INFER_MACS) {
    // A few chunks per thread, so a helper that starts late is made up for.
    int even = (int)((B + (size_t)pl->threads * CHUNKS_PER_THREAD - 1) / ((size_t)pl->threads * CHUNKS_PER_THREAD));
    j->rowsPerChunk = even < rows ? even : rows;
    j->threads = pl->threads;
    // The claim word counts at most CHUNK_MASK chunks: a larger B goes in passes.
    size_t perPass = (size_t)CHUNK_MASK * j->rowsPerChunk;
    for (size_t start = 0; start < B; start += perPass) {
      net_job_t pass = *j;
      size_t n = B - start < perPass ? B - start : perPass;
      pass.X = X + start * j->I[0];
      pass.out = out + start * j->O[layers - 1];
      pass.B = (int)n;
      task_t t = {0};
      t.kind = TASK_NETWORK;
      t.net = &pass;
      t.chunks = (int)((n + j->rowsPerChunk - 1) / j->rowsPerChunk);
      if (t.chunks >= 2)
        pool_run(pl, t);
      else
        run_network(&pass, 0, pl->work[0]);
    }
  } else {
    j->rowsPerChunk = rows;
    j->threads = 1;
    for (int c = 0; (size_t)c * rows < B; c++) run_network(j, c, pl->work[0]);
  }
  return result;
}

// softmaxAvailable(): whether softmaxRows computes exactly what JavaScript would (see softmax.c).
static napi_value js_softmax_available(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  CHECK(napi_get_boolean(env, softmax_available(), &out));
  return out;
}

// softmaxRows(Z, A, rows, cols, scalar?): A = row-wise softmax of Z (A may alias Z); scalar forces
// one V8 exp call per value (the tests compare the two paths).
static napi_value js_softmax_rows(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value a[5];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  size_t rows, cols;
  float *Z, *A;
  bool scalar = false;
  if (argc < 4 || !arg_count(env, a[2], &rows) || !arg_count(env, a[3], &cols) || !arg_f32(env, a[0], &Z, rows * cols, "Z") ||
      !arg_f32(env, a[1], &A, rows * cols, "A"))
    return NULL;
  if (argc > 4) CHECK(napi_get_value_bool(env, a[4], &scalar));
  if (!softmax_available()) {
    napi_throw_error(env, NULL, "softmaxRows: this runtime does not export V8's exp");
    return NULL;
  }
  softmax_rows(Z, A, rows, cols, !scalar);
  return NULL;
}

// softmaxCrossEntropyAvailable(): whether softmaxCrossEntropy computes exactly what JavaScript would.
static napi_value js_softmax_ce_available(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  CHECK(napi_get_boolean(env, softmax_ce_available(), &out));
  return out;
}

// softmaxCrossEntropy(Z, labels, P, dZ | null, rows, cols, scalar?, hits?): P = softmax(Z), dZ = (P − one-hot)/rows;
// returns Σ_r (logsumexp − Z[r, label]), or -(r + 1) for the first row r whose label is not a class
// index (the caller's JavaScript then throws its error). scalar forces one V8 exp per value (tests).
// hits (a Float64Array): hits[0] = the rows whose predicted class (first largest P) is their label.
static napi_value js_softmax_ce(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value a[8];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  size_t rows, cols;
  float *Z, *labels, *P, *dZ = NULL;
  bool scalar = false;
  napi_valuetype t;
  if (argc < 6 || !arg_count(env, a[4], &rows) || !arg_count(env, a[5], &cols) || !arg_f32(env, a[0], &Z, rows * cols, "Z") ||
      !arg_f32(env, a[1], &labels, rows, "labels") || !arg_f32(env, a[2], &P, rows * cols, "P"))
    return NULL;
  CHECK(napi_typeof(env, a[3], &t));
  if (t != napi_null && !arg_f32(env, a[3], &dZ, rows * cols, "dZ")) return NULL;
  if (argc > 6) CHECK(napi_get_value_bool(env, a[6], &scalar));
  double *hitsOut = NULL;
  napi_valuetype hitsType = napi_undefined;
  if (argc > 7) CHECK(napi_typeof(env, a[7], &hitsType));
  if (hitsType != napi_undefined) {
    napi_typedarray_type ht;
    size_t hn, off;
    napi_value ab;
    if (napi_get_typedarray_info(env, a[7], &ht, &hn, (void **)&hitsOut, &ab, &off) != napi_ok || ht != napi_float64_array ||
        hn < 1) {
      napi_throw_type_error(env, NULL, "softmaxCrossEntropy: hits must be a Float64Array of at least one element");
      return NULL;
    }
  }
  if (!softmax_ce_available()) {
    napi_throw_error(env, NULL, "softmaxCrossEntropy: this runtime does not export V8's exp and log");
    return NULL;
  }
  double total;
  long hits;
  long bad = softmax_ce_labels(Z, labels, P, dZ, rows, cols, &total, hitsOut ? &hits : NULL, !scalar);
  if (bad < 0 && hitsOut) hitsOut[0] = (double)hits;
  napi_value out;
  CHECK(napi_create_double(env, bad >= 0 ? -(double)(bad + 1) : total, &out));
  return out;
}

// expVector(x: Float64Array, y: Float64Array, lanes): y = exp(x) through the softmax's vector exp of
// `lanes` doubles (8: AVX-512, 4: AVX2), for the tests that compare it with Math.exp; false when this
// CPU has no such width.
static napi_value js_exp_vector(napi_env env, napi_callback_info info) {
  ARGS(3);
  napi_typedarray_type tx, ty;
  size_t nx, ny, off, lanes;
  void *dx, *dy;
  napi_value ab, out;
  if (napi_get_typedarray_info(env, a[0], &tx, &nx, &dx, &ab, &off) != napi_ok || tx != napi_float64_array ||
      napi_get_typedarray_info(env, a[1], &ty, &ny, &dy, &ab, &off) != napi_ok || ty != napi_float64_array || ny < nx) {
    napi_throw_type_error(env, NULL, "expVector expects two Float64Arrays, the second as long as the first");
    return NULL;
  }
  if (!arg_count(env, a[2], &lanes)) return NULL;
  CHECK(napi_get_boolean(env, softmax_exp_doubles(dx, dy, nx, (int)lanes), &out));
  return out;
}

NAPI_MODULE_INIT() {
  uv_once(&g_isa_once, init_isa);
  napi_property_descriptor props[] = {
      {"createPool", NULL, js_create_pool, NULL, NULL, NULL, napi_default, NULL},
      {"gemm", NULL, js_gemm, NULL, NULL, NULL, napi_default, NULL},
      {"gemmFused", NULL, js_gemm_fused, NULL, NULL, NULL, napi_default, NULL},
      {"isa", NULL, js_isa, NULL, NULL, NULL, napi_default, NULL},
      {"supportedIsas", NULL, js_supported_isas, NULL, NULL, NULL, napi_default, NULL},
      {"fmaPeak", NULL, js_fma_peak, NULL, NULL, NULL, napi_default, NULL},
      {"allocAligned", NULL, js_alloc_aligned, NULL, NULL, NULL, napi_default, NULL},
      {"addressAlignment", NULL, js_address_alignment, NULL, NULL, NULL, napi_default, NULL},
      {"reluForward", NULL, js_relu_forward, NULL, NULL, NULL, napi_default, NULL},
      {"leakyReluForward", NULL, js_leaky_relu_forward, NULL, NULL, NULL, napi_default, NULL},
      {"reluBackward", NULL, js_relu_backward, NULL, NULL, NULL, napi_default, NULL},
      {"leakyReluBackward", NULL, js_leaky_relu_backward, NULL, NULL, NULL, napi_default, NULL},
      {"sigmoidBackward", NULL, js_sigmoid_backward, NULL, NULL, NULL, napi_default, NULL},
      {"tanhBackward", NULL, js_tanh_backward, NULL, NULL, NULL, napi_default, NULL},
      {"biasGradient", NULL, js_bias_gradient, NULL, NULL, NULL, napi_default, NULL},
      {"sgdStep", NULL, js_sgd_step, NULL, NULL, NULL, napi_default, NULL},
      {"gatherRows", NULL, js_gather_rows, NULL, NULL, NULL, napi_default, NULL},
      {"gatherByteRows", NULL, js_gather_byte_rows, NULL, NULL, NULL, napi_default, NULL},
      {"packDense", NULL, js_pack_dense, NULL, NULL, NULL, napi_default, NULL},
      {"denseInfer", NULL, js_dense_infer, NULL, NULL, NULL, napi_default, NULL},
      {"inferNetwork", NULL, js_infer_network, NULL, NULL, NULL, napi_default, NULL},
      {"softmaxAvailable", NULL, js_softmax_available, NULL, NULL, NULL, napi_default, NULL},
      {"softmaxRows", NULL, js_softmax_rows, NULL, NULL, NULL, napi_default, NULL},
      {"softmaxCrossEntropyAvailable", NULL, js_softmax_ce_available, NULL, NULL, NULL, napi_default, NULL},
      {"softmaxCrossEntropy", NULL, js_softmax_ce, NULL, NULL, NULL, napi_default, NULL},
      {"expVector", NULL, js_exp_vector, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

// Node-API glue for the native GEMM: picks the widest ISA build the CPU supports and runs a GEMM on
// the calling thread plus a fixed pool of helper threads (work split by whole tiles, fixed per call).
#define NAPI_VERSION 8
#include <node_api.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sgemm.h"

typedef void (*range_fn)(int, int, int, int, int, float, const float *, const float *, float, float *, int, int,
                         int, int, float *);

typedef struct {
  const char *name;
  range_fn range;
  size_t (*pack_floats)(void);
  int (*mr)(void);
  int (*nr)(void);
} isa_t;

static isa_t pick_isa(void) {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f"))
    return (isa_t){"avx512", sgemm_range_avx512, sgemm_pack_floats_avx512, sgemm_mr_avx512, sgemm_nr_avx512};
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    return (isa_t){"avx2", sgemm_range_avx2, sgemm_pack_floats_avx2, sgemm_mr_avx2, sgemm_nr_avx2};
#endif
  return (isa_t){"generic", sgemm_range_generic, sgemm_pack_floats_generic, sgemm_mr_generic, sgemm_nr_generic};
}

static isa_t g_isa;
static pthread_once_t g_isa_once = PTHREAD_ONCE_INIT;
static void init_isa(void) { g_isa = pick_isa(); }

typedef struct {
  int transA, transB, M, N, K;
  float alpha, beta;
  const float *A, *B;
  float *C;
  int parts;
  int splitCols; // 1: split N, 0: split M
} task_t;

typedef struct pool {
  int threads;
  float **work; // one packing buffer per thread
  pthread_t *tids;
  pthread_mutex_t mu;
  pthread_cond_t start_cv, done_cv;
  atomic_uint gen;
  atomic_int pending;
  int stop;
  task_t task;
} pool_t;

typedef struct {
  pool_t *pool;
  int index;
} worker_arg_t;

// The [lo, hi) share of `total` for part p of n, cut at multiples of `unit` so tiles match a 1-thread run.
static void share(int total, int unit, int p, int n, int *lo, int *hi) {
  int units = (total + unit - 1) / unit;
  int a = (int)((long)units * p / n), b = (int)((long)units * (p + 1) / n);
  *lo = a * unit < total ? a * unit : total;
  *hi = b * unit < total ? b * unit : total;
}

static void run_part(pool_t *pl, int p) {
  task_t *t = &pl->task;
  int i0 = 0, i1 = t->M, j0 = 0, j1 = t->N;
  if (t->splitCols)
    share(t->N, g_isa.nr(), p, t->parts, &j0, &j1);
  else
    share(t->M, g_isa.mr(), p, t->parts, &i0, &i1);
  if (i0 < i1 && j0 < j1)
    g_isa.range(t->transA, t->transB, t->M, t->N, t->K, t->alpha, t->A, t->B, t->beta, t->C, i0, i1, j0, j1,
                pl->work[p]);
}

static inline void cpu_relax(void) {
#if defined(__x86_64__)
  __builtin_ia32_pause();
#endif
}

// Spin briefly before sleeping: a training step issues GEMMs back to back, microseconds apart.
#define SPIN_ITERS 20000

static void *worker_main(void *arg) {
  worker_arg_t *wa = arg;
  pool_t *pl = wa->pool;
  int index = wa->index;
  free(wa);
  unsigned seen = atomic_load(&pl->gen);
  for (;;) {
    int spins = 0;
    while (atomic_load_explicit(&pl->gen, memory_order_acquire) == seen && spins < SPIN_ITERS) {
      cpu_relax();
      spins++;
    }
    if (atomic_load_explicit(&pl->gen, memory_order_acquire) == seen) {
      pthread_mutex_lock(&pl->mu);
      while (atomic_load(&pl->gen) == seen && !pl->stop) pthread_cond_wait(&pl->start_cv, &pl->mu);
      pthread_mutex_unlock(&pl->mu);
    }
    if (pl->stop) return NULL;
    seen = atomic_load(&pl->gen);
    if (index < pl->task.parts) run_part(pl, index);
    if (atomic_fetch_sub_explicit(&pl->pending, 1, memory_order_acq_rel) == 1) {
      pthread_mutex_lock(&pl->mu);
      pthread_cond_signal(&pl->done_cv);
      pthread_mutex_unlock(&pl->mu);
    }
  }
}

static pool_t *pool_create(int threads) {
  pool_t *pl = calloc(1, sizeof *pl);
  if (!pl) return NULL;
  pl->threads = threads;
  pl->work = calloc((size_t)threads, sizeof(float *));
  pl->tids = calloc((size_t)threads, sizeof(pthread_t));
  pthread_mutex_init(&pl->mu, NULL);
  pthread_cond_init(&pl->start_cv, NULL);
  pthread_cond_init(&pl->done_cv, NULL);
  atomic_init(&pl->gen, 0);
  atomic_init(&pl->pending, 0);
  for (int i = 0; i < threads; i++) pl->work[i] = malloc(g_isa.pack_floats() * sizeof(float));
  for (int i = 1; i < threads; i++) {
    worker_arg_t *wa = malloc(sizeof *wa);
    wa->pool = pl;
    wa->index = i;
    pthread_create(&pl->tids[i], NULL, worker_main, wa);
  }
  return pl;
}

static void pool_destroy(pool_t *pl) {
  pthread_mutex_lock(&pl->mu);
  pl->stop = 1;
  atomic_fetch_add(&pl->gen, 1);
  pthread_cond_broadcast(&pl->start_cv);
  pthread_mutex_unlock(&pl->mu);
  for (int i = 1; i < pl->threads; i++) pthread_join(pl->tids[i], NULL);
  for (int i = 0; i < pl->threads; i++) free(pl->work[i]);
  free(pl->work);
  free(pl->tids);
  free(pl);
}

// Below this many multiply-adds a wake-up costs more than it saves.
#define MIN_PARALLEL_MACS (64 * 1024)

static void pool_gemm(pool_t *pl, task_t t) {
  long macs = (long)t.M * t.N * t.K;
  int mr = g_isa.mr(), nr = g_isa.nr();
  // Split the dimension with more tiles; at least one tile per part.
  int colTiles = (t.N + nr - 1) / nr, rowTiles = (t.M + mr - 1) / mr;
  t.splitCols = colTiles >= rowTiles;
  int maxParts = t.splitCols ? colTiles : rowTiles;
  t.parts = pl->threads < maxParts ? pl->threads : maxParts;
  if (macs < MIN_PARALLEL_MACS) t.parts = 1;
  pl->task = t;
  if (t.parts <= 1) {
    run_part(pl, 0);
    return;
  }
  atomic_store(&pl->pending, pl->threads - 1);
  pthread_mutex_lock(&pl->mu);
  atomic_fetch_add_explicit(&pl->gen, 1, memory_order_release);
  pthread_cond_broadcast(&pl->start_cv);
  pthread_mutex_unlock(&pl->mu);
  run_part(pl, 0);
  int spins = 0;
  while (atomic_load_explicit(&pl->pending, memory_order_acquire) != 0 && spins < SPIN_ITERS * 10) {
    cpu_relax();
    spins++;
  }
  if (atomic_load(&pl->pending) != 0) {
    pthread_mutex_lock(&pl->mu);
    while (atomic_load(&pl->pending) != 0) pthread_cond_wait(&pl->done_cv, &pl->mu);
    pthread_mutex_unlock(&pl->mu);
  }
}

// ---- Node-API ----

#define CHECK(call)                                                                                          \
  do {                                                                                                       \
    if ((call) != napi_ok) {                                                                                 \
      napi_throw_error(env, NULL, "traind native kernels: " #call " failed");                              \
      return NULL;                                                                                           \
    }                                                                                                        \
  } while (0)

static void finalize_pool(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  pool_destroy(data);
}

static napi_value js_create_pool(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  int32_t threads;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CHECK(napi_get_value_int32(env, argv[0], &threads));
  if (threads < 1 || threads > 64) {
    napi_throw_range_error(env, NULL, "threads must be in [1, 64]");
    return NULL;
  }
  pool_t *pl = pool_create(threads);
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

// gemm(pool, transA, transB, M, N, K, alpha, A, B, beta, C)
static napi_value js_gemm(napi_env env, napi_callback_info info) {
  size_t argc = 11;
  napi_value a[11];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (argc != 11) {
    napi_throw_type_error(env, NULL, "gemm expects 11 arguments");
    return NULL;
  }
  pool_t *pl;
  bool ta, tb;
  int32_t M, N, K;
  double alpha, beta;
  float *A, *B, *C;
  size_t la, lb, lc;
  CHECK(napi_get_value_external(env, a[0], (void **)&pl));
  CHECK(napi_get_value_bool(env, a[1], &ta));
  CHECK(napi_get_value_bool(env, a[2], &tb));
  CHECK(napi_get_value_int32(env, a[3], &M));
  CHECK(napi_get_value_int32(env, a[4], &N));
  CHECK(napi_get_value_int32(env, a[5], &K));
  CHECK(napi_get_value_double(env, a[6], &alpha));
  CHECK(napi_get_value_double(env, a[9], &beta));
  if (!get_f32(env, a[7], &A, &la) || !get_f32(env, a[8], &B, &lb) || !get_f32(env, a[10], &C, &lc)) {
    napi_throw_type_error(env, NULL, "A, B and C must be Float32Arrays");
    return NULL;
  }
  if (M < 0 || N < 0 || K < 0 || la < (size_t)M * K || lb < (size_t)K * N || lc < (size_t)M * N) {
    napi_throw_range_error(env, NULL, "gemm: a buffer is shorter than its dimensions need");
    return NULL;
  }
  if (M == 0 || N == 0) return NULL;
  if (K == 0 || alpha == 0.0) {
    size_t n = (size_t)M * N;
    for (size_t i = 0; i < n; i++) C[i] = beta == 0.0 ? 0.0f : (float)beta * C[i];
    return NULL;
  }
  task_t t = {ta, tb, M, N, K, (float)alpha, (float)beta, A, B, C, 1, 1};
  pool_gemm(pl, t);
  return NULL;
}

static napi_value js_isa(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value s;
  CHECK(napi_create_string_utf8(env, g_isa.name, NAPI_AUTO_LENGTH, &s));
  return s;
}

NAPI_MODULE_INIT() {
  pthread_once(&g_isa_once, init_isa);
  napi_property_descriptor props[] = {
      {"createPool", NULL, js_create_pool, NULL, NULL, NULL, napi_default, NULL},
      {"gemm", NULL, js_gemm, NULL, NULL, NULL, napi_default, NULL},
      {"isa", NULL, js_isa, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

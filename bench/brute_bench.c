/*
** brute_bench.c: the reference exact search of the benchmark, a plain C loop.
**
** The whole base array is read into one contiguous n x dim float32 block;
** each query computes the squared L2 distance to every row (a loop the
** compiler vectorises with -O3 -march=native: AVX2 or AVX-512) and keeps
** the k best in a max-heap.  One thread, one query at a time.  This is the
** "plain AVX2/AVX-512 C loop" the SPEC compares `indexed by flat()` with.
**
** With --exact the sums are accumulated in double and the program serves as
** the ground-truth generator (top 100): Debian's numpy links the reference
** BLAS, which needs ~10 minutes for 10 000 x 60 000 x 784; run.py checks a
** sample of this output against numpy.
**
** With --labels FILE --filters L1,L2,.. a pass is also run for each Li with
** only the rows whose int32 label is < Li (the filtered scenario); --no-plain
** skips the unfiltered pass.
**
** Usage: brute_bench --base F --n N --dim D --queries F --nq Q --k K
**                    --out PREFIX [--exact] [--labels F --filters L,..]
**                    [--no-plain]
** Writes PREFIX.json (figures), PREFIX.ids (int64, nq*k per pass) and, with
** --exact, PREFIX.dist (float64 squared distances, nq*k per pass).
**
** Build: cc -O3 -march=native -std=c99 -D_POSIX_C_SOURCE=200809L
**        -fopenmp-simd brute_bench.c -o brute_bench
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct Hit {
  double d;
  int64_t id;
} Hit;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static long peak_rss_kb(const char *field) {
  char line[256];
  long v = -1;
  size_t n = strlen(field);
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) return -1;
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, field, n) == 0 && line[n] == ':') v = atol(line + n + 1);
  }
  fclose(f);
  return v;
}

static void die(const char *msg, const char *arg) {
  fprintf(stderr, "brute_bench: %s %s\n", msg, arg ? arg : "");
  exit(1);
}

static void *read_file(const char *path, size_t bytes) {
  FILE *f = fopen(path, "rb");
  void *p = malloc(bytes ? bytes : 1);
  if (!f || !p) die("cannot open or allocate for", path);
  if (fread(p, 1, bytes, f) != bytes) die("short read:", path);
  fclose(f);
  return p;
}

static float l2sq_f32(const float *a, const float *b, int dim) {
  float s = 0.0f;
#pragma omp simd reduction(+ : s)
  for (int i = 0; i < dim; i++) {
    float t = a[i] - b[i];
    s += t * t;
  }
  return s;
}

static double l2sq_f64(const float *a, const float *b, int dim) {
  double s = 0.0;
#pragma omp simd reduction(+ : s)
  for (int i = 0; i < dim; i++) {
    double t = (double)a[i] - (double)b[i];
    s += t * t;
  }
  return s;
}

/* Max-heap on distance of at most k hits: h[0] is the worst kept. */
static void heap_push(Hit *h, int *pn, int k, double d, int64_t id) {
  int i, n = *pn;
  if (n == k) {
    if (d >= h[0].d) return;
    /* Replace the root and sift down. */
    i = 0;
    for (;;) {
      int c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && h[c + 1].d > h[c].d) c++;
      if (h[c].d <= d) break;
      h[i] = h[c];
      i = c;
    }
    h[i].d = d;
    h[i].id = id;
    return;
  }
  i = n++;
  while (i > 0 && h[(i - 1) / 2].d < d) {
    h[i] = h[(i - 1) / 2];
    i = (i - 1) / 2;
  }
  h[i].d = d;
  h[i].id = id;
  *pn = n;
}

static int hit_cmp(const void *a, const void *b) {
  const Hit *x = a, *y = b;
  if (x->d != y->d) return x->d < y->d ? -1 : 1;
  return x->id < y->id ? -1 : x->id > y->id;
}

int main(int argc, char **argv) {
  const char *base = 0, *queries = 0, *out = 0, *labels = 0, *filters = "";
  long n = 0, nq = 0;
  int dim = 0, k = 10, exact = 0, plain = 1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : 0;
    if (strcmp(a, "--exact") == 0) { exact = 1; continue; }
    if (strcmp(a, "--no-plain") == 0) { plain = 0; continue; }
    if (!v) die("missing value for", a);
    i++;
    if (strcmp(a, "--base") == 0) base = v;
    else if (strcmp(a, "--queries") == 0) queries = v;
    else if (strcmp(a, "--out") == 0) out = v;
    else if (strcmp(a, "--labels") == 0) labels = v;
    else if (strcmp(a, "--filters") == 0) filters = v;
    else if (strcmp(a, "--n") == 0) n = atol(v);
    else if (strcmp(a, "--nq") == 0) nq = atol(v);
    else if (strcmp(a, "--dim") == 0) dim = atoi(v);
    else if (strcmp(a, "--k") == 0) k = atoi(v);
    else die("unknown option", a);
  }
  if (!base || !queries || !out || n <= 0 || nq <= 0 || dim <= 0 || k <= 0) {
    die("usage: --base F --n N --dim D --queries F --nq Q --k K --out PREFIX", 0);
  }

  long rss_base = peak_rss_kb("VmRSS");
  double t0 = now();
  float *X = read_file(base, (size_t)n * dim * sizeof(float));
  double load_s = now() - t0;
  float *Q = read_file(queries, (size_t)nq * dim * sizeof(float));
  int32_t *lab = labels ? read_file(labels, (size_t)n * sizeof(int32_t)) : 0;

  /* Pass 0 is unfiltered (limit -1); then one pass per filter limit. */
  long limits[32];
  int npass = 0;
  if (plain || !lab) limits[npass++] = -1;
  for (const char *p = filters; lab && *p && npass < 32;) {
    limits[npass++] = strtol(p, (char **)&p, 10);
    if (*p == ',') p++;
  }

  char path[4096];
  snprintf(path, sizeof path, "%s.ids", out);
  FILE *fids = fopen(path, "wb");
  snprintf(path, sizeof path, "%s.dist", out);
  FILE *fdist = exact ? fopen(path, "wb") : 0;
  if (!fids || (exact && !fdist)) die("cannot write", path);

  Hit *h = malloc(sizeof(Hit) * k);
  int64_t *ids = malloc(sizeof(int64_t) * k);
  double *dist = malloc(sizeof(double) * k);
  double secs[32];
  for (int p = 0; p < npass; p++) {
    long lim = limits[p];
    double ts = now();
    for (long q = 0; q < nq; q++) {
      const float *qv = Q + (size_t)q * dim;
      int hn = 0;
      for (long r = 0; r < n; r++) {
        if (lim >= 0 && lab[r] >= lim) continue;
        double d = exact ? l2sq_f64(qv, X + (size_t)r * dim, dim)
                         : l2sq_f32(qv, X + (size_t)r * dim, dim);
        heap_push(h, &hn, k, d, r);
      }
      qsort(h, hn, sizeof(Hit), hit_cmp);
      for (int j = 0; j < k; j++) {
        ids[j] = j < hn ? h[j].id : -1;
        dist[j] = j < hn ? h[j].d : -1.0;
      }
      fwrite(ids, sizeof(int64_t), k, fids);
      if (fdist) fwrite(dist, sizeof(double), k, fdist);
    }
    secs[p] = now() - ts;
  }
  fclose(fids);
  if (fdist) fclose(fdist);

  snprintf(path, sizeof path, "%s.json", out);
  FILE *fj = fopen(path, "w");
  if (!fj) die("cannot write", path);
  fprintf(fj, "{\"engine\": \"c-loop\", \"n\": %ld, \"dim\": %d, \"k\": %d,\n", n, dim, k);
  fprintf(fj, " \"build_s\": %.6f, \"rss_base_kb\": %ld, \"rss_peak_kb\": %ld,\n",
          load_s, rss_base, peak_rss_kb("VmHWM"));
  fprintf(fj, " \"passes\": [");
  for (int p = 0; p < npass; p++) {
    char lim[32] = "null";
    if (limits[p] >= 0) snprintf(lim, sizeof lim, "%ld", limits[p]);
    fprintf(fj, "%s\n  {\"ef\": null, \"filter_lt\": %s, \"nq\": %ld, \"seconds\": %.6f}",
            p ? "," : "", lim, nq, secs[p]);
  }
  fprintf(fj, "]}\n");
  fclose(fj);
  free(X); free(Q); free(lab); free(h); free(ids); free(dist);
  return 0;
}

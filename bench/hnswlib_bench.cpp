// hnswlib_bench.cpp: the native HNSW peer, Debian's hnswlib 0.6.2.
//
// "build" mode: reads the base rows in chunks, adds them one by one with a
// single-threaded addPoint loop (M and ef_construction from the command
// line, label = row number), saves the index (its size is the reference
// "raw vectors + graph links"), runs one query pass per ef with setEf, then
// times single-row addPoint calls of rows from --extra (in memory: hnswlib
// has no durable insert).  "reopen" mode, in a new process: loadIndex (a
// full load of the file) and the first query, both timed.  "query" mode
// (bench/interleave.py): load the index, warm up, one timed pass per ef.
//
// Output follows bench/common.py: PREFIX.json and PREFIX.ids (int64 ids,
// nq*k per pass).
//
// Build: g++ -O3 -march=native -std=c++11 hnswlib_bench.cpp -o hnswlib_bench
//        -lpthread
#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <string>
#include <vector>

static double now() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

// CPU time of the process, as knn_driver.c's cpu_seconds: on a shared
// machine it leaves out the time the process waited for a core.
static double cpu_now() {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static long status_kb(const char *field) {
  std::ifstream f("/proc/self/status");
  std::string line;
  size_t n = strlen(field);
  while (std::getline(f, line)) {
    if (line.compare(0, n, field) == 0 && line[n] == ':') return atol(line.c_str() + n + 1);
  }
  return -1;
}

static void die(const std::string &msg) {
  fprintf(stderr, "hnswlib_bench: %s\n", msg.c_str());
  exit(1);
}

static std::vector<float> read_rows(const std::string &path, int dim, long start, long count) {
  std::vector<float> v((size_t)count * dim);
  FILE *f = fopen(path.c_str(), "rb");
  if (!f) die("cannot open " + path);
  if (fseek(f, start * dim * (long)sizeof(float), SEEK_SET) != 0 ||
      fread(v.data(), sizeof(float), v.size(), f) != v.size())
    die("short read " + path);
  fclose(f);
  return v;
}

static long file_size(const std::string &path) {
  FILE *f = fopen(path.c_str(), "rb");
  if (!f) return -1;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fclose(f);
  return n;
}

static std::vector<int> parse_list(const std::string &s) {
  std::vector<int> v;
  for (size_t i = 0; i < s.size();) {
    size_t j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    v.push_back(atoi(s.substr(i, j - i).c_str()));
    i = j + 1;
  }
  return v;
}

static void search(hnswlib::HierarchicalNSW<float> &h, const float *q, int k, int64_t *ids) {
  auto r = h.searchKnn(q, k);
  for (int j = k - 1; j >= 0; j--) {
    if (r.empty()) {
      ids[j] = -1;
    } else {
      ids[j] = (int64_t)r.top().second;
      r.pop();
    }
  }
}

int main(int argc, char **argv) {
  if (argc < 2) die("usage: hnswlib_bench build|reopen|query --key value ...");
  std::string mode = argv[1];
  std::map<std::string, std::string> opt;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (strncmp(argv[i], "--", 2) != 0) die(std::string("bad option ") + argv[i]);
    opt[argv[i] + 2] = argv[i + 1];
  }
  auto need = [&](const char *key) {
    if (!opt.count(key)) die(std::string("missing --") + key);
    return opt[key];
  };
  int dim = atoi(need("dim").c_str());
  int k = atoi(need("k").c_str());
  std::string index = need("index"), out = need("out"), qpath = need("queries");
  hnswlib::L2Space space(dim);
  FILE *fj = fopen((out + ".json").c_str(), "w");
  if (!fj) die("cannot write " + out + ".json");

  if (mode == "reopen") {
    std::vector<float> q = read_rows(qpath, dim, 0, 1);
    std::vector<int64_t> ids(k);
    double t0 = now();
    hnswlib::HierarchicalNSW<float> h(&space, index);
    double t1 = now();
    h.setEf(atoi(need("ef").c_str()));
    search(h, q.data(), k, ids.data());
    double t2 = now();
    search(h, q.data(), k, ids.data());
    double t3 = now();
    fprintf(fj, "{\"total_ms\": %.4f, \"open_ms\": %.4f, \"query_ms\": %.4f, "
                "\"second_query_ms\": %.4f, \"rss_kb\": %ld}\n",
            (t2 - t0) * 1e3, (t1 - t0) * 1e3, (t2 - t1) * 1e3, (t3 - t2) * 1e3,
            status_kb("VmHWM"));
    fclose(fj);
    return 0;
  }
  if (mode == "query") {
    // The query loop alone, for interleave.py: load the saved index, one
    // untimed warm-up pass at the largest ef, then one timed pass per ef.
    long nq = atol(need("nq").c_str());
    std::vector<int> efs = parse_list(need("ef"));
    std::vector<float> Q = read_rows(qpath, dim, 0, nq);
    hnswlib::HierarchicalNSW<float> h(&space, index);
    std::vector<int64_t> ids((size_t)nq * k);
    FILE *fids = fopen((out + ".ids").c_str(), "wb");
    if (!fids) die("cannot write " + out + ".ids");
    h.setEf(*std::max_element(efs.begin(), efs.end()));
    for (long q = 0; q < nq; q++) search(h, Q.data() + (size_t)q * dim, k, ids.data());
    fprintf(fj, "{\"engine\": \"hnswlib\", \"passes\": [");
    for (size_t i = 0; i < efs.size(); i++) {
      h.setEf(efs[i]);
      double t0 = now(), c0 = cpu_now();
      for (long q = 0; q < nq; q++) search(h, Q.data() + (size_t)q * dim, k, ids.data() + (size_t)q * k);
      double secs = now() - t0, cpu = cpu_now() - c0;
      fwrite(ids.data(), sizeof(int64_t), ids.size(), fids);
      fprintf(fj, "%s\n  {\"ef\": %d, \"nq\": %ld, \"seconds\": %.6f, \"cpu_seconds\": %.6f}",
              i ? "," : "", efs[i], nq, secs, cpu);
    }
    fprintf(fj, "], \"rss_peak_kb\": %ld, \"rss_anon_kb\": %ld, \"rss_file_kb\": %ld}\n",
            status_kb("VmHWM"), status_kb("RssAnon"), status_kb("RssFile"));
    fclose(fids);
    fclose(fj);
    return 0;
  }
  if (mode != "build") die("unknown mode " + mode);

  long n = atol(need("n").c_str()), nq = atol(need("nq").c_str());
  long nextra = atol(opt.count("nextra") ? opt["nextra"].c_str() : "0");
  int M = atoi(need("M").c_str()), efc = atoi(need("ef_construction").c_str());
  std::vector<int> efs = parse_list(need("ef"));
  std::string base = need("base");

  std::vector<float> Q = read_rows(qpath, dim, 0, nq);
  long rss_base = status_kb("VmRSS");
  double t0 = now();
  hnswlib::HierarchicalNSW<float> h(&space, n + nextra, M, efc);
  const long chunk = 1024;
  for (long s = 0; s < n; s += chunk) {
    long c = std::min(chunk, n - s);
    std::vector<float> rows = read_rows(base, dim, s, c);
    for (long i = 0; i < c; i++) h.addPoint(rows.data() + (size_t)i * dim, (size_t)(s + i));
  }
  double build_s = now() - t0;
  t0 = now();
  h.saveIndex(index);
  double save_s = now() - t0;
  long bytes = file_size(index);

  FILE *fids = fopen((out + ".ids").c_str(), "wb");
  if (!fids) die("cannot write " + out + ".ids");
  std::vector<double> secs;
  std::vector<int64_t> ids((size_t)nq * k);
  // Untimed warm-up, as engine_sql.py does for HNSW engines: every query
  // once at the largest ef.
  h.setEf(*std::max_element(efs.begin(), efs.end()));
  for (long q = 0; q < nq; q++) search(h, Q.data() + (size_t)q * dim, k, ids.data());
  for (int ef : efs) {
    h.setEf(ef);
    t0 = now();
    for (long q = 0; q < nq; q++) search(h, Q.data() + (size_t)q * dim, k, ids.data() + (size_t)q * k);
    secs.push_back(now() - t0);
    fwrite(ids.data(), sizeof(int64_t), ids.size(), fids);
  }
  fclose(fids);

  std::vector<double> ins;
  if (nextra > 0) {
    std::vector<float> extra = read_rows(need("extra"), dim, 0, nextra);
    for (long i = 0; i < nextra; i++) {
      t0 = now();
      h.addPoint(extra.data() + (size_t)i * dim, (size_t)(n + i));
      ins.push_back((now() - t0) * 1e3);
    }
  }

  fprintf(fj, "{\"engine\": \"hnswlib\", \"n\": %ld, \"dim\": %d, \"k\": %d,\n", n, dim, k);
  fprintf(fj, " \"build_s\": %.6f, \"save_s\": %.6f, \"file_bytes\": %ld,\n", build_s, save_s, bytes);
  fprintf(fj, " \"rss_base_kb\": %ld, \"rss_peak_kb\": %ld,\n", rss_base, status_kb("VmHWM"));
  fprintf(fj, " \"insert_ms\": [");
  for (size_t i = 0; i < ins.size(); i++) fprintf(fj, "%s%.5f", i ? ", " : "", ins[i]);
  fprintf(fj, "],\n \"passes\": [");
  for (size_t i = 0; i < efs.size(); i++) {
    fprintf(fj, "%s\n  {\"ef\": %d, \"filter_lt\": null, \"nq\": %ld, \"seconds\": %.6f}",
            i ? "," : "", efs[i], nq, secs[i]);
  }
  fprintf(fj, "]}\n");
  fclose(fj);
  return 0;
}

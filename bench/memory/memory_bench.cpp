// memory_bench: hybrid memory search at 10k and 100k chunks of 384 dimensions on a real
// PostgreSQL, through MemoryIndex (the same code the server runs). Prints:
//   - ingest chunks/s through MemoryIndex::UpsertBatch (chunking, PostgreSQL insert with tsvector
//     and GIN maintenance, hnswlib insert), with vectors precomputed: "without embedding";
//   - bulk load (COPY) and the hnswlib rebuild at Open, for the chunks beyond the ingest sample;
//   - the real local model's embedding rate on a sample of 160-word chunks through a real worker
//     (all-MiniLM-L6-v2), and the ingest rate WITH embedding extrapolated from both (labelled);
//   - hybrid query latency p50/p99 (full-text + vector + fusion + details + audit row; the query
//     vector is precomputed, so the model's query embedding is not in it - printed separately);
//   - recall@10 of the vector path (mode=vector) against exact brute-force search.
// Vectors are SYNTHETIC: 100 topic centres plus Gaussian noise, unit length; texts are synthetic
// words with topic-specific vocabulary. No model weights are needed for the index numbers.
//
// Usage: memory_bench [--pg URL] [--sizes 10000,100000] [--queries 100] [--ingest-sample 2000]
//                     [--embed-sample 16] [--python PATH]

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include "memory/detail/index_store.hpp"
#include "memory/hybrid_search.hpp"
#include "memory/memory_index.hpp"
#include "runners/worker_pool.hpp"
#include "store/database.hpp"
#include "store/migrations.hpp"

namespace {

using namespace steward;
using Clock = std::chrono::steady_clock;

constexpr int kDim = 384;
constexpr int kTopics = 100;
constexpr int kTopicWords = 40;
constexpr int kGeneralWords = 4000;
constexpr int kWordsPerDoc = 80;

double Seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

std::string Syllables(std::mt19937& rng, int n) {
  static const char* kCons[] = {"b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "sh", "tr"};
  static const char* kVow[] = {"a", "e", "i", "o", "u", "ai", "ou"};
  std::string w;
  for (int i = 0; i < n; ++i) {
    w += kCons[rng() % 16];
    w += kVow[rng() % 7];
  }
  return w;
}

std::vector<float> Unit(std::vector<float> v) {
  memory::Normalize(v);
  return v;
}

struct Corpus {
  std::vector<std::vector<float>> centres;
  std::vector<std::vector<std::string>> topic_words;
  std::vector<std::string> general;
  std::mt19937 rng{42};

  Corpus() {
    std::normal_distribution<float> n(0, 1);
    std::unordered_set<std::string> used;
    auto fresh = [&](int syl) {
      for (;;) {
        std::string w = Syllables(rng, syl);
        if (used.insert(w).second) return w;
      }
    };
    for (int t = 0; t < kTopics; ++t) {
      std::vector<float> c(kDim);
      for (auto& x : c) x = n(rng);
      centres.push_back(Unit(c));
      std::vector<std::string> words;
      for (int i = 0; i < kTopicWords; ++i) words.push_back(fresh(4));
      topic_words.push_back(std::move(words));
    }
    for (int i = 0; i < kGeneralWords; ++i) general.push_back(fresh(3));
  }

  // A vector near topic t's centre.
  std::vector<float> Near(int t, float noise) {
    std::normal_distribution<float> n(0, noise / std::sqrt(static_cast<float>(kDim)));
    std::vector<float> v = centres[static_cast<size_t>(t)];
    for (auto& x : v) x += n(rng);
    return Unit(v);
  }

  std::string Text(int t) {
    std::string s;
    std::uniform_int_distribution<int> tw(0, kTopicWords - 1);
    // Zipf-like general words: rank r with probability ~ 1/r.
    std::uniform_real_distribution<double> u(0, 1);
    for (int i = 0; i < kWordsPerDoc; ++i) {
      if (i % 3 == 0) {
        s += topic_words[static_cast<size_t>(t)][static_cast<size_t>(tw(rng))];
      } else {
        const auto r = static_cast<size_t>(std::pow(kGeneralWords, u(rng))) - 1;
        s += general[std::min(r, general.size() - 1)];
      }
      s += (i % 12 == 11) ? ". " : " ";
    }
    s.pop_back();  // no trailing space: the chunker trims it, and the text is the embedder's key
    return s;
  }
};

// The embedder the index sees: returns the vector registered for each text.
struct TableEmbedder {
  std::mutex mu;
  std::unordered_map<std::string, std::vector<float>> table;
  Result<memory::Embeddings> operator()(const std::vector<std::string>& texts) {
    std::lock_guard lock(mu);
    memory::Embeddings e{"bench-synthetic", kDim, {}};
    for (const auto& t : texts) {
      auto it = table.find(t);
      if (it == table.end()) return MakeError(ErrorCode::kInternal, "bench: no vector for a text");
      e.vectors.push_back(it->second);
    }
    return e;
  }
};

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

std::string WithDatabase(const std::string& url, const std::string& db) {
  const auto q = url.find('?');
  const auto slash = url.rfind('/', q == std::string::npos ? std::string::npos : q);
  return url.substr(0, slash + 1) + db + (q == std::string::npos ? "" : url.substr(q));
}

// The real model's embedding rate (texts/s) on `sample` 160-word English chunks, or 0.
double MeasureRealEmbedding(const std::string& python, int sample) {
  if (sample <= 0) return 0;
  runners::WorkerPoolOptions options;
  options.command = {python, "-m", "steward_worker"};
  options.size = 1;
  options.start_timeout = std::chrono::seconds(120);
  options.ping_timeout = std::chrono::seconds(120);
  auto pool = runners::WorkerPool::Start(options);
  if (!pool.ok()) {
    std::printf("  real model: skipped (worker did not start: %s)\n", pool.error().ToString().c_str());
    return 0;
  }
  auto warm = (*pool)->Embed({"warm up the model"}, std::chrono::seconds(300));
  if (!warm.ok()) {
    std::printf("  real model: skipped (%s)\n", warm.error().ToString().c_str());
    return 0;
  }
  const std::string para =
      "The committee met on Tuesday to review the budget for the spring festival and agreed to move the "
      "opening concert to the town square, because the hall is being repaired. Volunteers will set up chairs "
      "from eight in the morning, and the bakery has offered bread for the picnic. We still need someone to "
      "print the posters, collect tickets at the gate and clean up afterwards. ";
  std::vector<std::string> texts;
  for (int i = 0; i < sample; ++i) {
    std::string t = "Chunk " + std::to_string(i) + ". ";
    while (std::count(t.begin(), t.end(), ' ') < 160) t += para;
    texts.push_back(t);
  }
  const auto t0 = Clock::now();
  for (size_t i = 0; i < texts.size(); i += 16) {
    std::vector<std::string> batch(texts.begin() + static_cast<std::ptrdiff_t>(i),
                                   texts.begin() + static_cast<std::ptrdiff_t>(std::min(texts.size(), i + 16)));
    auto got = (*pool)->Embed(batch, std::chrono::seconds(600));
    if (!got.ok()) {
      std::printf("  real model: failed (%s)\n", got.error().ToString().c_str());
      return 0;
    }
  }
  const double rate = sample / Seconds(t0);
  std::printf("  real model all-MiniLM-L6-v2 (numpy, 1 worker): %.1f chunks/s on %d 160-word chunks "
              "(%.0f ms per chunk)\n", rate, sample, 1000.0 / rate);
  // One query (a short sentence), as a search would pay.
  std::vector<double> q;
  for (int i = 0; i < 5; ++i) {
    const auto t = Clock::now();
    (void)(*pool)->Embed({"what did we decide about the festival budget"}, std::chrono::seconds(60));
    q.push_back(Seconds(t) * 1000);
  }
  std::printf("  real model query embedding: p50 %.1f ms\n", Percentile(q, 0.5));
  return rate;
}

int Run(const std::string& pg, int size, int queries, int ingest_sample, double embed_rate) {
  const std::string name = "steward_memory_bench_" + std::to_string(::getpid()) + "_" + std::to_string(size);
  {
    pqxx::connection admin(pg);
    pqxx::nontransaction tx(admin);
    tx.exec("DROP DATABASE IF EXISTS " + name);
    tx.exec("CREATE DATABASE " + name);
  }
  int rc = 0;
  {
    auto db = store::Database::Connect(WithDatabase(pg, name), 4);
    if (!db.ok() || !store::ApplyMigrations(**db).ok()) {
      std::fprintf(stderr, "cannot prepare database %s\n", name.c_str());
      return 1;
    }
    std::printf("\n== %d chunks x %d dims ==\n", size, kDim);
    Corpus corpus;
    auto table = std::make_shared<TableEmbedder>();
    auto embedder = std::make_shared<memory::FunctionEmbedder>(
        "bench-synthetic", kDim, [table](const std::vector<std::string>& t) { return (*table)(t); });
    memory::MemoryIndexOptions options;
    options.vector_backend = "hnswlib";
    options.background_reembed = false;
    options.embed_batch = 256;

    std::vector<int> topic(static_cast<size_t>(size));
    std::vector<std::vector<float>> vectors(static_cast<size_t>(size));
    std::vector<std::string> texts(static_cast<size_t>(size));
    for (int i = 0; i < size; ++i) {
      topic[static_cast<size_t>(i)] = i % kTopics;
      texts[static_cast<size_t>(i)] = corpus.Text(i % kTopics);
      vectors[static_cast<size_t>(i)] = corpus.Near(i % kTopics, 1.2f);
    }
    const int sample = std::min(size, ingest_sample);

    // 1. The real write path for the first `sample` chunks.
    {
      auto index = memory::MemoryIndex::Open(**db, embedder, options);
      if (!index.ok()) {
        std::fprintf(stderr, "open: %s\n", index.error().ToString().c_str());
        return 1;
      }
      std::vector<memory::ItemInput> batch;
      const auto t0 = Clock::now();
      for (int i = 0; i < sample; ++i) {
        memory::ItemInput item;
        item.type = "document";
        item.title = "doc " + std::to_string(i);
        item.content = texts[static_cast<size_t>(i)];
        item.source = "/bench/" + std::to_string(i);
        {
          std::lock_guard lock(table->mu);
          table->table[memory::detail::EmbeddingText(item.title, item.content)] = vectors[static_cast<size_t>(i)];
        }
        batch.push_back(std::move(item));
        if (batch.size() == 64 || i + 1 == sample) {
          for (const auto& r : (*index)->UpsertBatch(batch)) {
            if (!r.ok()) {
              std::fprintf(stderr, "ingest: %s\n", r.error().ToString().c_str());
              return 1;
            }
          }
          batch.clear();
        }
      }
      const double s = Seconds(t0);
      const double rate = sample / s;
      std::printf("ingest via MemoryIndex (chunk, insert, tsvector/GIN, hnswlib), vectors precomputed:\n"
                  "  %d chunks in %.1f s = %.0f chunks/s  [without embedding]\n", sample, s, rate);
      if (embed_rate > 0) {
        std::printf("  with the real local model: %.1f chunks/s  [EXTRAPOLATED: 1/(1/%.0f + 1/%.1f); the model "
                    "dominates]\n", 1.0 / (1.0 / rate + 1.0 / embed_rate), rate, embed_rate);
      } else {
        std::printf("  with the real local model: not measured (model unavailable)\n");
      }
      std::lock_guard lock(table->mu);
      table->table.clear();
    }

    // 2. Bulk load of the rest with COPY, then the start-up rebuild of the hnswlib index.
    if (size > sample) {
      int model_id = 0;
      {
        pqxx::connection c(WithDatabase(pg, name));
        pqxx::work tx(c);
        model_id = tx.exec1("SELECT id FROM embedding_model WHERE is_current")[0].as<int>();
        const int64_t first = tx.exec1("SELECT COALESCE(max(id), 0) + 1 FROM memory_item")[0].as<int64_t>();
        const auto t0 = Clock::now();
        {
          pqxx::stream_to items(tx, "memory_item", std::vector<std::string>{"id", "type", "title", "source", "content", "content_hash"});
          for (int i = sample; i < size; ++i) {
            items << std::make_tuple(first + (i - sample), std::string("document"), "doc " + std::to_string(i),
                                     "/bench/" + std::to_string(i), texts[static_cast<size_t>(i)], std::to_string(i));
          }
          items.complete();
        }
        {
          pqxx::stream_to chunks(tx, "memory_chunk",
                                 std::vector<std::string>{"item_id", "ordinal", "heading", "content", "start_offset",
                                                          "end_offset", "embedding", "embedding_model_id"});
          for (int i = sample; i < size; ++i) {
            const std::string& t = texts[static_cast<size_t>(i)];
            chunks << std::make_tuple(first + (i - sample), 0, "doc " + std::to_string(i), t, 0,
                                      static_cast<int>(t.size()), memory::ArrayLiteral(vectors[static_cast<size_t>(i)]),
                                      model_id);
          }
          chunks.complete();
        }
        tx.exec("SELECT setval(pg_get_serial_sequence('memory_item', 'id'), (SELECT max(id) FROM memory_item))");
        tx.commit();
        const double s = Seconds(t0);
        std::printf("bulk load (COPY items + chunks with vectors): %d chunks in %.1f s = %.0f chunks/s\n",
                    size - sample, s, (size - sample) / s);
      }
      (void)model_id;
    }
    const auto t_open = Clock::now();
    auto index = memory::MemoryIndex::Open(**db, embedder, options);
    if (!index.ok()) {
      std::fprintf(stderr, "reopen: %s\n", index.error().ToString().c_str());
      return 1;
    }
    std::printf("start-up: hnswlib index rebuilt from PostgreSQL: %lld vectors in %.1f s\n",
                static_cast<long long>((*index)->Stats().ann_size), Seconds(t_open));
    (void)(*index)->Stats();

    // 3. Queries: two topic words + a vector near the topic.
    std::vector<double> hybrid_ms, vector_ms;
    std::map<std::string, std::vector<double>> stages;  // the plan's own timings, per stage
    int found = 0, possible = 0;
    std::mt19937 qrng(7);
    for (int q = 0; q < queries; ++q) {
      const int t = static_cast<int>(qrng() % kTopics);
      const auto& words = corpus.topic_words[static_cast<size_t>(t)];
      const std::string text = words[qrng() % kTopicWords] + " " + words[qrng() % kTopicWords];
      const std::vector<float> qv = corpus.Near(t, 1.2f);
      {
        std::lock_guard lock(table->mu);
        table->table[text] = qv;
      }
      memory::SearchRequest r;
      r.query = text;
      r.limit = 10;
      r.mode = "hybrid";
      auto t0 = Clock::now();
      auto res = (*index)->Search(r);
      hybrid_ms.push_back(Seconds(t0) * 1000);
      if (!res.ok()) {
        std::fprintf(stderr, "search: %s\n", res.error().ToString().c_str());
        rc = 1;
        break;
      }
      for (const auto& [stage, ms] : res->plan["timings_ms"].items()) {
        if (ms.is_number()) stages[stage].push_back(ms.get<double>());
      }
      // Vector path recall against exact search over the generated vectors.
      r.mode = "vector";
      t0 = Clock::now();
      auto vres = (*index)->Search(r);
      vector_ms.push_back(Seconds(t0) * 1000);
      if (!vres.ok()) {
        rc = 1;
        break;
      }
      std::vector<std::pair<float, int>> exact;
      exact.reserve(vectors.size());
      for (size_t i = 0; i < vectors.size(); ++i) {
        float d = 0;
        for (int k = 0; k < kDim; ++k) d += vectors[i][static_cast<size_t>(k)] * qv[static_cast<size_t>(k)];
        exact.emplace_back(-d, static_cast<int>(i));
      }
      std::partial_sort(exact.begin(), exact.begin() + 10, exact.end());
      std::unordered_set<std::string> truth;
      for (int k = 0; k < 10; ++k) truth.insert("/bench/" + std::to_string(exact[static_cast<size_t>(k)].second));
      for (const auto& h : vres->hits) found += static_cast<int>(truth.count(h.source));
      possible += 10;
    }
    std::printf("hybrid query (fulltext + hnswlib + RRF + details + audit row), %d queries:\n"
                "  p50 %.2f ms  p99 %.2f ms  [query vector precomputed]\n",
                queries, Percentile(hybrid_ms, 0.5), Percentile(hybrid_ms, 0.99));
    std::printf("  hybrid stages, p50:");
    for (const auto& [stage, v] : stages) std::printf(" %s %.2f", stage.c_str(), Percentile(v, 0.5));
    std::printf("\n");
    std::printf("vector-only query: p50 %.2f ms  p99 %.2f ms\n", Percentile(vector_ms, 0.5),
                Percentile(vector_ms, 0.99));
    std::printf("recall@10 of the vector path vs exact search: %.3f\n",
                possible ? static_cast<double>(found) / possible : 0.0);
  }
  pqxx::connection admin(pg);
  pqxx::nontransaction tx(admin);
  tx.exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress shows even when piped to a file
  spdlog::set_level(spdlog::level::warn);
  std::string pg = std::getenv("STEWARD_TEST_PG") ? std::getenv("STEWARD_TEST_PG")
                                                  : "postgresql://postgres@127.0.0.1:5432/postgres";
  std::vector<int> sizes{10000, 100000};
  int queries = 100;
  int ingest_sample = 2000;
  int embed_sample = 16;
  std::string python = std::getenv("STEWARD_TEST_PYTHON") ? std::getenv("STEWARD_TEST_PYTHON") : "";
  if (python.empty()) {
    const std::filesystem::path venv = std::filesystem::path(STEWARD_SOURCE_DIR) / ".venv/bin/python";
    python = std::filesystem::exists(venv) ? venv.string() : "python3";
  }
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--pg") pg = value;
    else if (flag == "--queries") queries = std::stoi(value);
    else if (flag == "--ingest-sample") ingest_sample = std::stoi(value);
    else if (flag == "--embed-sample") embed_sample = std::stoi(value);
    else if (flag == "--python") python = value;
    else if (flag == "--sizes") {
      sizes.clear();
      std::stringstream ss(value);
      for (std::string s; std::getline(ss, s, ',');) sizes.push_back(std::stoi(s));
    } else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  const auto t0 = Clock::now();
  std::printf("memory_bench (build %s): synthetic clustered vectors (100 topics), synthetic text, hnswlib backend\n",
              STEWARD_BENCH_BUILD_TYPE);
  std::printf("embedding sample through a real worker:\n");
  const double embed_rate = MeasureRealEmbedding(python, embed_sample);
  int rc = 0;
  for (int size : sizes) rc |= Run(pg, size, queries, ingest_sample, embed_rate);
  std::printf("\ntotal %.0f s\n", Seconds(t0));
  return rc;
}

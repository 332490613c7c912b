// ingest_bench: text extraction speed of the ingestion extractors, in memory (no disk, no
// database, no embedding), single-threaded and on every core.
//
// The headline number is PDF text-layer extraction in pages/s per core (target >= 50) on a
// generated multi-page PDF: Helvetica, 45 lines of 12 words a page, one Tj operator per line
// (real files from word processors use more, smaller text runs, so expect them to be somewhat
// slower). Also: DOCX, HTML, CSV, JSON and plain text in MB/s, and SHA-256 (every ingested
// byte is hashed) in MB/s.
//
// Usage: ingest_bench [--pages N] [--seconds S]

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "memory/ingest/extractors.hpp"
#include "memory/ingest/file_reader.hpp"
#include "memory/ingest/testing/document_builders.hpp"
#include "memory/ingest/zip_reader.hpp"

namespace {

using namespace steward::memory::ingest;
using Clock = std::chrono::steady_clock;

const char* const kWords[] = {"memory", "assistant", "quarterly", "report", "the",     "of",      "and",
                              "budget", "travel",    "meeting",   "notes",  "project", "deadline", "review",
                              "a",      "in",        "for",       "with",   "zebra",   "garden",   "invoice"};

std::string Sentence(std::mt19937& rng, int words) {
  std::uniform_int_distribution<size_t> pick(0, std::size(kWords) - 1);
  std::string s;
  for (int i = 0; i < words; ++i) s += std::string(i ? " " : "") + kWords[pick(rng)];
  return s;
}

// A PDF of `pages` pages of 45 twelve-word lines.
std::string MakePdf(int pages, std::mt19937& rng) {
  std::vector<std::vector<std::string>> content;
  for (int p = 0; p < pages; ++p) {
    std::vector<std::string> lines;
    for (int l = 0; l < 45; ++l) lines.push_back(Sentence(rng, 12));
    content.push_back(std::move(lines));
  }
  return testing::BuildPdf(content, "Benchmark document", "ingest_bench", "D:20240101000000Z");
}

struct Rate {
  double per_second = 0;  // units (pages or bytes) per second
  int runs = 0;
};

// Runs `fn` (which returns units processed) repeatedly for about `seconds` on `threads` threads.
Rate Measure(int threads, double seconds, const std::function<double()>& fn) {
  std::atomic<bool> stop{false};
  std::vector<double> units(static_cast<size_t>(threads), 0);
  std::vector<int> runs(static_cast<size_t>(threads), 0);
  const auto t0 = Clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      while (!stop.load(std::memory_order_relaxed)) {
        units[static_cast<size_t>(t)] += fn();
        ++runs[static_cast<size_t>(t)];
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& th : pool) th.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  Rate r;
  for (size_t t = 0; t < units.size(); ++t) {
    r.per_second += units[t];
    r.runs += runs[t];
  }
  r.per_second /= elapsed;
  return r;
}

double ExtractOrDie(Format format, const std::string& bytes, double units) {
  ExtractOptions options;
  options.max_text_bytes = 64u << 20;
  auto doc = Extract(format, bytes, options);
  if (!doc.ok() || doc->text.empty()) {
    std::fprintf(stderr, "extraction failed: %s\n", doc.ok() ? "no text" : doc.error().ToString().c_str());
    std::exit(1);
  }
  return units;
}

}  // namespace

int main(int argc, char** argv) {
  int pages = 200;
  double seconds = 3;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--pages") == 0) pages = std::max(1, std::atoi(argv[++i]));
    else if (std::strcmp(argv[i], "--seconds") == 0) seconds = std::max(0.5, std::atof(argv[++i]));
  }
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::mt19937 rng(42);

  const std::string pdf = MakePdf(pages, rng);
  std::string text;
  for (int i = 0; i < 20000; ++i) text += Sentence(rng, 12) + (i % 8 == 7 ? "\n\n" : "\n");
  std::vector<std::string> paragraphs;
  std::string html = "<html><head><title>Bench</title></head><body>";
  std::string csv = "date,item,amount,notes\n";
  std::string json = "{\"title\": \"Bench\", \"rows\": [";
  for (int i = 0; i < 8000; ++i) {
    const std::string s = Sentence(rng, 12);
    paragraphs.push_back(s);
    html += "<p>" + s + " <b>bold</b> &amp; <a href=\"https://example.org/" + std::to_string(i) + "\">link</a></p>\n";
    csv += "2024-01-" + std::to_string(1 + i % 28) + "," + kWords[i % std::size(kWords)] + "," +
           std::to_string(i * 3 % 997) + ",\"" + s + "\"\n";
    json += std::string(i ? "," : "") + "{\"id\": " + std::to_string(i) + ", \"text\": \"" + s + "\"}";
  }
  html += "</body></html>";
  json += "]}";
  const std::string docx = testing::BuildDocx(paragraphs, "Bench", "ingest_bench", "2024-01-01T00:00:00Z");

  std::printf("ingest_bench: in-memory extraction, %d cores, %.0f s per measurement\n", cores, seconds);
  std::printf("PDF: %d pages, %.1f KiB\n\n", pages, pdf.size() / 1024.0);

  const auto pdf_fn = [&] { return ExtractOrDie(Format::kPdf, pdf, pages); };
  const Rate pdf1 = Measure(1, seconds, pdf_fn);
  const Rate pdfn = Measure(cores, seconds, pdf_fn);
  std::printf("%-28s %10.0f pages/s   (1 thread)   target >= 50 pages/s per core: %s\n", "pdf text layer",
              pdf1.per_second, pdf1.per_second >= 50 ? "met" : "NOT MET");
  std::printf("%-28s %10.0f pages/s   (%d threads: %.0f pages/s per core)\n", "pdf text layer", pdfn.per_second,
              cores, pdfn.per_second / cores);

  struct Case {
    const char* name;
    Format format;
    const std::string* bytes;
  };
  const Case cases[] = {{"docx (zip + XML)", Format::kDocx, &docx},
                        {"html", Format::kHtml, &html},
                        {"csv (header, quoted)", Format::kCsv, &csv},
                        {"json (flattened)", Format::kJson, &json},
                        {"plain text", Format::kText, &text}};
  for (const Case& c : cases) {
    // DOCX is measured per MB of its (uncompressed) document.xml, like the others per MB of text.
    double mb = c.bytes->size() / 1e6;
    if (c.format == Format::kDocx) mb = ZipArchive::Open(*c.bytes)->Read("word/document.xml", 1u << 30)->size() / 1e6;
    const Rate r = Measure(1, seconds, [&] { return ExtractOrDie(c.format, *c.bytes, mb); });
    std::printf("%-28s %10.1f MB/s      (1 thread, %.1f MB input)\n", c.name, r.per_second, mb);
  }
  const std::string blob(32u << 20, 'x');
  const Rate sha = Measure(1, seconds, [&] {
    volatile size_t n = Sha256Hex(blob).size();
    (void)n;
    return blob.size() / 1e6;
  });
  std::printf("%-28s %10.1f MB/s      (1 thread)\n", "sha-256 (content hash)", sha.per_second);
  return 0;
}

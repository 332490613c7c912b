#pragma once
// Test documents built in memory: a minimal valid PDF with a text layer, and zip archives
// (DOCX). Used by the extractor tests and bench/ingest; header-only, not part of the library.

#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

namespace steward::memory::ingest::testing {

// A PDF whose pages each show `lines` of Helvetica text; Title/Author/CreationDate in the
// document information dictionary when non-empty. Offsets in the xref table are exact, so
// poppler opens it without reconstruction.
inline std::string BuildPdf(const std::vector<std::vector<std::string>>& pages, const std::string& title = "",
                            const std::string& author = "", const std::string& creation_date = "") {
  auto escape = [](const std::string& s) {
    std::string out;
    for (const char c : s) {
      if (c == '(' || c == ')' || c == '\\') out += '\\';
      out += c;
    }
    return out;
  };
  std::vector<std::string> objects;  // object i+1
  const int n = static_cast<int>(pages.size());
  // 1 catalog, 2 pages, 3 font, then (page, content) pairs, then info.
  std::string kids;
  for (int i = 0; i < n; ++i) kids += std::to_string(4 + 2 * i) + " 0 R ";
  objects.push_back("<< /Type /Catalog /Pages 2 0 R >>");
  objects.push_back("<< /Type /Pages /Kids [" + kids + "] /Count " + std::to_string(n) + " >>");
  objects.push_back("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>");
  for (int i = 0; i < n; ++i) {
    std::string stream = "BT /F1 11 Tf 14 TL 72 760 Td\n";
    for (const std::string& line : pages[i]) stream += "(" + escape(line) + ") Tj T*\n";
    stream += "ET\n";
    objects.push_back("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
                      "/Contents " + std::to_string(5 + 2 * i) + " 0 R >>");
    objects.push_back("<< /Length " + std::to_string(stream.size()) + " >>\nstream\n" + stream + "endstream");
  }
  std::string info = "<<";
  if (!title.empty()) info += " /Title (" + escape(title) + ")";
  if (!author.empty()) info += " /Author (" + escape(author) + ")";
  if (!creation_date.empty()) info += " /CreationDate (" + creation_date + ")";
  info += " >>";
  objects.push_back(info);

  std::string pdf = "%PDF-1.4\n%\xE2\xE3\xCF\xD3\n";
  std::vector<size_t> offsets;
  for (size_t i = 0; i < objects.size(); ++i) {
    offsets.push_back(pdf.size());
    pdf += std::to_string(i + 1) + " 0 obj\n" + objects[i] + "\nendobj\n";
  }
  const size_t xref = pdf.size();
  pdf += "xref\n0 " + std::to_string(objects.size() + 1) + "\n0000000000 65535 f \n";
  for (const size_t off : offsets) {
    char line[24];
    std::snprintf(line, sizeof line, "%010zu 00000 n \n", off);
    pdf += line;
  }
  pdf += "trailer\n<< /Size " + std::to_string(objects.size() + 1) + " /Root 1 0 R /Info " +
         std::to_string(objects.size()) + " 0 R >>\nstartxref\n" + std::to_string(xref) + "\n%%EOF\n";
  return pdf;
}

// A zip archive of (name, content) members, deflated when `deflated` (else stored).
inline std::string BuildZip(const std::vector<std::pair<std::string, std::string>>& members, bool deflated = true) {
  auto u16 = [](std::string& out, uint32_t v) {
    out.push_back(static_cast<char>(v & 0xFF));
    out.push_back(static_cast<char>((v >> 8) & 0xFF));
  };
  auto u32 = [&](std::string& out, uint32_t v) {
    u16(out, v & 0xFFFF);
    u16(out, v >> 16);
  };
  std::string zip, dir;
  for (const auto& [name, content] : members) {
    const uint32_t crc = static_cast<uint32_t>(
        crc32(0L, reinterpret_cast<const Bytef*>(content.data()), static_cast<uInt>(content.size())));
    std::string packed = content;
    if (deflated) {
      z_stream z{};
      deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
      packed.resize(deflateBound(&z, static_cast<uLong>(content.size())));
      z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(content.data()));
      z.avail_in = static_cast<uInt>(content.size());
      z.next_out = reinterpret_cast<Bytef*>(packed.data());
      z.avail_out = static_cast<uInt>(packed.size());
      deflate(&z, Z_FINISH);
      packed.resize(z.total_out);
      deflateEnd(&z);
    }
    const uint32_t offset = static_cast<uint32_t>(zip.size());
    const uint16_t method = deflated ? 8 : 0;
    u32(zip, 0x04034b50); u16(zip, 20); u16(zip, 0); u16(zip, method); u16(zip, 0); u16(zip, 0x21);
    u32(zip, crc); u32(zip, static_cast<uint32_t>(packed.size())); u32(zip, static_cast<uint32_t>(content.size()));
    u16(zip, static_cast<uint32_t>(name.size())); u16(zip, 0);
    zip += name;
    zip += packed;
    u32(dir, 0x02014b50); u16(dir, 20); u16(dir, 20); u16(dir, 0); u16(dir, method); u16(dir, 0); u16(dir, 0x21);
    u32(dir, crc); u32(dir, static_cast<uint32_t>(packed.size())); u32(dir, static_cast<uint32_t>(content.size()));
    u16(dir, static_cast<uint32_t>(name.size())); u16(dir, 0); u16(dir, 0); u16(dir, 0); u16(dir, 0); u32(dir, 0);
    u32(dir, offset);
    dir += name;
  }
  const uint32_t dir_offset = static_cast<uint32_t>(zip.size());
  zip += dir;
  u32(zip, 0x06054b50); u16(zip, 0); u16(zip, 0);
  u16(zip, static_cast<uint32_t>(members.size())); u16(zip, static_cast<uint32_t>(members.size()));
  u32(zip, static_cast<uint32_t>(dir.size())); u32(zip, dir_offset); u16(zip, 0);
  return zip;
}

// A DOCX with the given paragraphs (the first styled Title when `first_is_title`) and core properties.
inline std::string BuildDocx(const std::vector<std::string>& paragraphs, const std::string& title,
                             const std::string& author, const std::string& created, bool first_is_title = false) {
  std::string body =
      "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
      "<w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body>";
  for (size_t i = 0; i < paragraphs.size(); ++i) {
    body += "<w:p>";
    if (i == 0 && first_is_title) body += "<w:pPr><w:pStyle w:val=\"Title\"/></w:pPr>";
    // Split each paragraph into two runs, as Word does at formatting changes.
    const std::string& p = paragraphs[i];
    const size_t half = p.find(' ') == std::string::npos ? p.size() : p.find(' ') + 1;
    body += "<w:r><w:t xml:space=\"preserve\">" + p.substr(0, half) + "</w:t></w:r>";
    body += "<w:r><w:rPr><w:b/></w:rPr><w:t>" + p.substr(half) + "</w:t></w:r></w:p>";
  }
  body += "</w:body></w:document>";
  std::string core =
      "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
      "<cp:coreProperties xmlns:cp=\"http://schemas.openxmlformats.org/package/2006/metadata/core-properties\" "
      "xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:dcterms=\"http://purl.org/dc/terms/\" "
      "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">";
  if (!title.empty()) core += "<dc:title>" + title + "</dc:title>";
  if (!author.empty()) core += "<dc:creator>" + author + "</dc:creator>";
  if (!created.empty()) core += "<dcterms:created xsi:type=\"dcterms:W3CDTF\">" + created + "</dcterms:created>";
  core += "</cp:coreProperties>";
  return BuildZip({{"[Content_Types].xml", "<Types/>"}, {"word/document.xml", body}, {"docProps/core.xml", core}});
}

}  // namespace steward::memory::ingest::testing

#include "memory/ingest/zip_reader.hpp"

#include <zlib.h>

#include <algorithm>

namespace steward::memory::ingest {

namespace {

constexpr uint32_t kEndOfCentralDir = 0x06054b50;
constexpr uint32_t kCentralHeader = 0x02014b50;
constexpr uint32_t kLocalHeader = 0x04034b50;
constexpr size_t kEndRecordSize = 22;
constexpr size_t kCentralHeaderSize = 46;
constexpr size_t kLocalHeaderSize = 30;
constexpr size_t kMaxComment = 0xFFFF;

uint16_t U16(std::string_view b, size_t at) {
  return static_cast<uint16_t>(static_cast<unsigned char>(b[at]) | (static_cast<unsigned char>(b[at + 1]) << 8));
}
uint32_t U32(std::string_view b, size_t at) { return U16(b, at) | (static_cast<uint32_t>(U16(b, at + 2)) << 16); }

Error Damaged(const std::string& what) {
  return MakeError(ErrorCode::kInvalidArgument, "damaged zip archive: " + what);
}

}  // namespace

Result<ZipArchive> ZipArchive::Open(std::string_view bytes) {
  if (bytes.size() < kEndRecordSize || U32(bytes, 0) != kLocalHeader) {
    return MakeError(ErrorCode::kInvalidArgument, "not a zip archive (no zip signature at the start)");
  }
  // The end record sits in the last 22 bytes plus at most a 64 KiB comment; search backwards.
  size_t end = std::string_view::npos;
  const size_t lowest = bytes.size() > kEndRecordSize + kMaxComment ? bytes.size() - kEndRecordSize - kMaxComment : 0;
  for (size_t at = bytes.size() - kEndRecordSize + 1; at-- > lowest;) {
    if (U32(bytes, at) == kEndOfCentralDir) {
      end = at;
      break;
    }
  }
  if (end == std::string_view::npos) return Damaged("no end-of-directory record (truncated file?)");
  const uint16_t count = U16(bytes, end + 10);
  const uint32_t dir_size = U32(bytes, end + 12);
  const uint32_t dir_offset = U32(bytes, end + 16);
  if (count == 0xFFFF || dir_offset == 0xFFFFFFFF) {
    return MakeError(ErrorCode::kInvalidArgument, "ZIP64 archives are not supported");
  }
  if (static_cast<uint64_t>(dir_offset) + dir_size > end) return Damaged("central directory out of bounds");

  ZipArchive archive(bytes);
  archive.entries_.reserve(count);
  size_t at = dir_offset;
  for (uint16_t i = 0; i < count; ++i) {
    if (at + kCentralHeaderSize > end || U32(bytes, at) != kCentralHeader) {
      return Damaged("bad central directory entry " + std::to_string(i));
    }
    Entry e;
    e.method = U16(bytes, at + 10);
    e.crc32 = U32(bytes, at + 16);
    e.compressed_size = U32(bytes, at + 20);
    e.size = U32(bytes, at + 24);
    const uint16_t name_len = U16(bytes, at + 28);
    const uint16_t extra_len = U16(bytes, at + 30);
    const uint16_t comment_len = U16(bytes, at + 32);
    e.local_header_offset = U32(bytes, at + 42);
    if (at + kCentralHeaderSize + name_len > end) return Damaged("entry name out of bounds");
    e.name.assign(bytes.substr(at + kCentralHeaderSize, name_len));
    archive.entries_.push_back(std::move(e));
    at += kCentralHeaderSize + name_len + extra_len + comment_len;
  }
  return archive;
}

const ZipArchive::Entry* ZipArchive::Find(std::string_view name) const {
  auto it = std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.name == name; });
  return it == entries_.end() ? nullptr : &*it;
}

Result<std::string> ZipArchive::Read(std::string_view name, size_t max_bytes) const {
  const Entry* e = Find(name);
  if (e == nullptr) return MakeError(ErrorCode::kNotFound, "no member " + std::string(name) + " in the archive");
  const std::string where = std::string(name) + ": ";
  const uint64_t h = e->local_header_offset;
  if (h + kLocalHeaderSize > bytes_.size() || U32(bytes_, h) != kLocalHeader) {
    return Damaged(where + "bad local header");
  }
  if (U16(bytes_, h + 6) & 0x1) return MakeError(ErrorCode::kInvalidArgument, where + "encrypted members are not supported");
  const uint64_t data = h + kLocalHeaderSize + U16(bytes_, h + 26) + U16(bytes_, h + 28);
  if (data + e->compressed_size > bytes_.size()) return Damaged(where + "data out of bounds");
  const std::string_view packed = bytes_.substr(data, e->compressed_size);
  if (e->size > max_bytes) {
    return MakeError(ErrorCode::kInvalidArgument,
                     where + "inflates to " + std::to_string(e->size) + " bytes, more than the limit of " +
                         std::to_string(max_bytes));
  }

  std::string out;
  if (e->method == 0) {
    out.assign(packed);
  } else if (e->method == 8) {
    z_stream z{};
    if (inflateInit2(&z, -MAX_WBITS) != Z_OK) return MakeError(ErrorCode::kInternal, "zlib inflateInit2 failed");
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(packed.data()));
    z.avail_in = static_cast<uInt>(packed.size());
    // The declared size may lie; grow in steps but never past max_bytes.
    out.resize(std::min<uint64_t>(std::max<uint64_t>(e->size, 1024), max_bytes + 1));
    int rc = Z_OK;
    size_t produced = 0;
    while (rc == Z_OK) {
      if (produced == out.size()) {
        if (out.size() > max_bytes) break;
        out.resize(std::min<size_t>(out.size() * 2, max_bytes + 1));
      }
      z.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
      z.avail_out = static_cast<uInt>(out.size() - produced);
      rc = inflate(&z, Z_NO_FLUSH);
      produced = out.size() - z.avail_out;
      if (rc == Z_BUF_ERROR && z.avail_in == 0) break;  // input ended early
      if (rc == Z_BUF_ERROR) rc = Z_OK;                 // output full: grow and go on
    }
    inflateEnd(&z);
    if (produced > max_bytes) {
      return MakeError(ErrorCode::kInvalidArgument,
                       where + "inflates past the limit of " + std::to_string(max_bytes) + " bytes");
    }
    if (rc != Z_STREAM_END) return Damaged(where + "deflate stream is corrupt or cut short");
    out.resize(produced);
  } else {
    return MakeError(ErrorCode::kInvalidArgument,
                     where + "compression method " + std::to_string(e->method) + " is not supported");
  }
  const uLong crc = crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(out.data()),
                          static_cast<uInt>(out.size()));
  if (crc != e->crc32) return Damaged(where + "CRC mismatch");
  return out;
}

}  // namespace steward::memory::ingest

#include "memory/ingest/file_reader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>

#include <openssl/evp.h>

namespace steward::memory::ingest {

namespace {

constexpr size_t kReadChunk = 1u << 20;

std::string Hex(const unsigned char* digest, unsigned int length) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    out.push_back(kDigits[digest[i] >> 4]);
    out.push_back(kDigits[digest[i] & 0xF]);
  }
  return out;
}

struct MdFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

std::string_view KindOf(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  return "not a regular file";
}

}  // namespace

std::string Sha256Hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr);
  return Hex(digest, length);
}

std::string IsoUtcSeconds(int64_t seconds) {
  const time_t t = static_cast<time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Result<FileBytes> ReadFileCapped(const std::filesystem::path& path, size_t keep_bytes) {
  const std::string where = path.string();
  // O_NONBLOCK: opening a FIFO for reading must not wait for a writer; checked below anyway.
  Fd file{::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)};
  if (file.fd < 0) {
    const int err = errno;
    struct stat link {};
    if (err == ENOENT && ::lstat(path.c_str(), &link) == 0 && S_ISLNK(link.st_mode)) {
      return MakeError(ErrorCode::kNotFound, "broken symbolic link (its target does not exist)", where);
    }
    if (err == ENOENT) return MakeError(ErrorCode::kNotFound, "no such file", where);
    if (err == EACCES || err == EPERM) {
      return MakeError(ErrorCode::kPermissionDenied, "permission denied (cannot open for reading)", where);
    }
    if (err == ELOOP) return MakeError(ErrorCode::kNotFound, "symbolic link loop", where);
    return MakeError(ErrorCode::kPermissionDenied, std::string("cannot open: ") + std::strerror(err), where);
  }
  struct stat st {};
  if (::fstat(file.fd, &st) != 0) {
    return MakeError(ErrorCode::kPermissionDenied, std::string("cannot stat: ") + std::strerror(errno), where);
  }
  if (!S_ISREG(st.st_mode)) {
    return MakeError(ErrorCode::kInvalidArgument, std::string(KindOf(st.st_mode)) + ", not a regular file", where);
  }
  // Back to blocking reads for a regular file.
  ::fcntl(file.fd, F_SETFL, ::fcntl(file.fd, F_GETFL) & ~O_NONBLOCK);

  FileBytes out;
  out.mtime_s = st.st_mtim.tv_sec;
  std::unique_ptr<EVP_MD_CTX, MdFree> md(EVP_MD_CTX_new());
  if (!md || EVP_DigestInit_ex(md.get(), EVP_sha256(), nullptr) != 1) {
    return MakeError(ErrorCode::kInternal, "OpenSSL SHA-256 is unavailable");
  }
  out.bytes.reserve(std::min<uint64_t>(static_cast<uint64_t>(st.st_size), keep_bytes));
  std::string chunk(kReadChunk, '\0');
  for (;;) {
    const ssize_t n = ::read(file.fd, chunk.data(), chunk.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return MakeError(ErrorCode::kPermissionDenied, std::string("read failed: ") + std::strerror(errno), where);
    }
    if (n == 0) break;
    const auto got = static_cast<size_t>(n);
    EVP_DigestUpdate(md.get(), chunk.data(), got);
    out.size += got;
    if (out.bytes.size() < keep_bytes) {
      out.bytes.append(chunk.data(), std::min(got, keep_bytes - out.bytes.size()));
    }
  }
  out.cut = out.size > out.bytes.size();
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(md.get(), digest, &length);
  out.sha256 = Hex(digest, length);
  return out;
}

}  // namespace steward::memory::ingest

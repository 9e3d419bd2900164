#include "store/local_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

namespace lsio::store {
namespace {

std::string parent_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

Status fsync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno_status(errno, "open directory", dir);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  return rc == 0 ? Status() : errno_status(err, "fsync directory", dir);
}

}  // namespace

Status make_parent_dirs(const std::string& path) {
  const std::string dir = parent_of(path);
  for (size_t pos = 1; pos <= dir.size(); ++pos) {
    if (pos != dir.size() && dir[pos] != '/') continue;
    const std::string prefix = dir.substr(0, pos);
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) return errno_status(errno, "mkdir", prefix);
  }
  return {};
}

Status write_all(int fd, std::span<const std::byte> data, uint64_t offset, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return errno_status(n < 0 ? errno : EIO, "write", path, offset + done, data.size() - done);
    done += static_cast<size_t>(n);
  }
  return {};
}

Status atomic_put(const std::string& path, std::span<const std::byte> data, bool fsync) {
  static std::atomic<uint64_t> counter{0};
  if (Status s = make_parent_dirs(path); !s.ok()) return s;
  const std::string tmp = path + ".lsio-tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return errno_status(errno, "create", tmp);
  Status s = write_all(fd, data, 0, tmp);
  if (s.ok() && fsync && ::fsync(fd) != 0) s = errno_status(errno, "fsync", tmp);
  if (::close(fd) != 0 && s.ok()) s = errno_status(errno, "close", tmp);
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) s = errno_status(errno, "rename to " + path, tmp);
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  return fsync ? fsync_dir(parent_of(path)) : Status();
}

}  // namespace lsio::store

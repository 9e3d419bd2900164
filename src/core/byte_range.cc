#include "lsio/byte_range.h"

#include <algorithm>
#include <string>

namespace lsio {

Status ByteRange::check() const {
  const bool bounded_ok = begin_ >= 0 && end_ >= begin_;
  const bool open_ok = end_ == kToEnd;  // from(begin) or suffix(n)
  if (bounded_ok || open_ok) return {};
  return Status(StatusCode::kInvalidArgument,
                "invalid byte range (begin " + std::to_string(begin_) + ", end " + std::to_string(end_) +
                    "): need 0 <= begin <= end, or end = -1 (to EOF) with begin < 0 for the last -begin bytes");
}

ByteRange::Absolute ByteRange::resolve(uint64_t file_size) const {
  if (is_bounded()) return {static_cast<uint64_t>(begin_), static_cast<uint64_t>(end_)};
  if (begin_ < 0) {
    const uint64_t n = static_cast<uint64_t>(-begin_);
    return {file_size - std::min(n, file_size), file_size};
  }
  const uint64_t b = static_cast<uint64_t>(begin_);
  return {b, std::max(b, file_size)};  // a start past EOF reads past EOF: the read reports it
}

std::string ByteRange::to_string() const {
  if (is_suffix()) return "last " + std::to_string(-begin_) + " bytes";
  if (!is_bounded()) return "[" + std::to_string(begin_) + ", EOF)";
  return "[" + std::to_string(begin_) + ", " + std::to_string(end_) + ")";
}

}  // namespace lsio

// ByteRange: which bytes of a file a request names.
#pragma once

#include <cstdint>
#include <string>

#include "lsio/status.h"

namespace lsio {

// One of: [begin, end), [begin, EOF), the last n bytes, or the whole file.
// Stored in 16 bytes as a signed pair with Python-slice meaning:
//   begin >= 0, end >= 0   -> [begin, end)
//   begin >= 0, end == -1  -> [begin, EOF)        (whole file: begin == 0)
//   begin <  0, end == -1  -> the last -begin bytes (clamped at 0 for small files)
class ByteRange {
 public:
  static constexpr int64_t kToEnd = -1;

  constexpr ByteRange() = default;  // the whole file
  static constexpr ByteRange bounded(uint64_t begin, uint64_t end) {
    return ByteRange(static_cast<int64_t>(begin), static_cast<int64_t>(end));
  }
  static constexpr ByteRange from(uint64_t begin) { return ByteRange(static_cast<int64_t>(begin), kToEnd); }
  static constexpr ByteRange suffix(uint64_t n) { return ByteRange(-static_cast<int64_t>(n), kToEnd); }
  static constexpr ByteRange whole() { return ByteRange(0, kToEnd); }
  // From raw Python-style values; validated by check().
  static constexpr ByteRange raw(int64_t begin, int64_t end) { return ByteRange(begin, end); }

  constexpr bool is_bounded() const { return end_ != kToEnd; }
  constexpr bool is_suffix() const { return begin_ < 0 && end_ == kToEnd; }
  constexpr bool needs_size() const { return end_ == kToEnd; }
  constexpr int64_t begin() const { return begin_; }
  constexpr int64_t end() const { return end_; }
  // Length of a bounded range (0 otherwise).
  constexpr uint64_t length() const { return is_bounded() ? static_cast<uint64_t>(end_ - begin_) : 0; }

  // InvalidArgument if the pair is not one of the four forms (e.g. end < begin).
  Status check() const;
  // The absolute [begin, end) once the file size is known. Bounded ranges are
  // returned as they are (a bounded range past EOF is reported by the read).
  struct Absolute {
    uint64_t begin;
    uint64_t end;
  };
  Absolute resolve(uint64_t file_size) const;
  std::string to_string() const;  // "[0, 4096)", "[10, EOF)", "last 100 bytes"

  friend constexpr bool operator==(ByteRange, ByteRange) = default;

 private:
  constexpr ByteRange(int64_t b, int64_t e) : begin_(b), end_(e) {}
  int64_t begin_ = 0;
  int64_t end_ = kToEnd;
};

}  // namespace lsio

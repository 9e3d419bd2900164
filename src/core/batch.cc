#include <string>
#include <unordered_map>

#include "lsio/store.h"

namespace lsio {

uint32_t ReadBatch::file_id(std::string_view path) {
  // Fast path: consecutive requests usually name the same file.
  if (!paths_.empty() && paths_.back() == path) return static_cast<uint32_t>(paths_.size() - 1);
  auto [it, inserted] = ids_.try_emplace(std::string(path), static_cast<uint32_t>(paths_.size()));
  if (inserted) paths_.emplace_back(path);
  return it->second;
}

void ReadBatch::add(uint32_t file, ByteRange range) {
  files_.push_back(file);
  ranges_.push_back(range);
}

void ReadBatch::reserve(size_t n) {
  files_.reserve(n);
  ranges_.reserve(n);
}

void ReadIntoBatch::add(uint32_t file, int64_t offset, std::span<std::byte> dest) {
  const int64_t n = static_cast<int64_t>(dest.size());
  batch_.add(file, offset >= 0 ? ByteRange::raw(offset, offset + n) : ByteRange::raw(offset, ByteRange::kToEnd));
  dests_.push_back(dest);
}

}  // namespace lsio

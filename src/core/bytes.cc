#include "lsio/bytes.h"

#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>

namespace lsio {
namespace {
struct FreeDeleter {
  void operator()(const void* p) const noexcept { std::free(const_cast<void*>(p)); }
};
}  // namespace

Bytes Bytes::allocate(size_t size, size_t alignment) {
  const size_t rounded = (std::max<size_t>(size, 1) + alignment - 1) / alignment * alignment;
  void* p = std::aligned_alloc(alignment, rounded);
  if (p == nullptr) throw std::bad_alloc();
  std::shared_ptr<const void> owner(p, FreeDeleter{});
  return Bytes(std::move(owner), static_cast<const std::byte*>(p), size);
}

Bytes Bytes::copy_of(std::span<const std::byte> data) {
  Bytes out = allocate(data.size());
  if (!data.empty()) std::memcpy(out.mutable_data(), data.data(), data.size());
  return out;
}

Bytes Bytes::copy_of(std::string_view text) {
  return copy_of(std::span<const std::byte>(reinterpret_cast<const std::byte*>(text.data()), text.size()));
}

Bytes Bytes::slice(size_t offset, size_t length) const {
  if (offset > size_ || length > size_ - offset) {
    throw std::out_of_range("Bytes::slice(" + std::to_string(offset) + ", " + std::to_string(length) +
                            ") of a view of " + std::to_string(size_) + " bytes");
  }
  return Bytes(owner_, data_ + offset, length);
}

}  // namespace lsio

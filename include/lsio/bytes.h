// Bytes: an immutable view of aligned, reference-counted memory.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string_view>

namespace lsio {

// A (data, size) view that keeps its allocation alive. Copies and slices share
// the allocation (no bytes are copied), so the slices of one merged read all
// point into a single buffer, and the buffer is freed when the last one goes.
//
// Alignment: Bytes::allocate returns memory aligned to `alignment` (default 64,
// a cache line; O_DIRECT reads use the device's DIO alignment). A slice is
// aligned only as far as its offset allows.
//
// Thread safety: like std::shared_ptr; distinct Bytes objects sharing one
// allocation may be used and destroyed from different threads.
class Bytes {
 public:
  Bytes() = default;

  // Uninitialised memory of `size` bytes. Throws std::bad_alloc.
  static Bytes allocate(size_t size, size_t alignment = 64);
  static Bytes copy_of(std::span<const std::byte> data);
  static Bytes copy_of(std::string_view text);
  // Wraps memory kept alive by `owner` (e.g. an mmap region or a Python object).
  static Bytes adopt(std::shared_ptr<const void> owner, const std::byte* data, size_t size) {
    return Bytes(std::move(owner), data, size);
  }

  const std::byte* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::span<const std::byte> span() const { return {data_, size_}; }
  std::string_view as_string_view() const { return {reinterpret_cast<const char*>(data_), size_}; }

  // Bytes [offset, offset + length) of this view, sharing the allocation.
  // Precondition: offset + length <= size() (checked; throws std::out_of_range).
  Bytes slice(size_t offset, size_t length) const;

  // Writable pointer for the producer that allocated this buffer, before it is
  // shared with anyone else. Never write through it once a slice is handed out.
  std::byte* mutable_data() const { return const_cast<std::byte*>(data_); }

  // The shared owner (for language bindings that must keep the memory alive).
  const std::shared_ptr<const void>& owner() const { return owner_; }

 private:
  Bytes(std::shared_ptr<const void> owner, const std::byte* data, size_t size)
      : owner_(std::move(owner)), data_(data), size_(size) {}

  std::shared_ptr<const void> owner_;
  const std::byte* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace lsio

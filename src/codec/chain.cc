// CodecChain: decoding and encoding one chunk through the parsed stages.
#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>

#include "codec/chain_stages.h"
#include "codec/codec_errors.h"

namespace lsio::codec {
namespace {

constexpr uint64_t kMaxChunkBytes = uint64_t{1} << 62;

// Inner stages of a chain with several compressors decode to sizes only bounded by
// what their encoders could have produced; allow generous slack over that bound.
uint64_t with_slack(uint64_t bound) {
  const uint64_t slack = bound / 2 + (uint64_t{1} << 20);
  return bound > kMaxChunkBytes - slack ? kMaxChunkBytes : bound + slack;
}

// Scratch buffers kept by a thread between chunks up to this size each (larger ones are freed after the chunk).
constexpr size_t kKeepScratch = size_t{64} << 20;

// A heap buffer the decoder writes into (uninitialised), reused by the thread's next chunks: allocating a fresh
// one per chunk costs a page fault per 4 KiB once it is large enough to be mmapped.
struct Scratch {
  std::unique_ptr<std::byte[]> data;
  size_t capacity = 0;

  std::span<std::byte> get(size_t n) {
    if (capacity < n) {
      data.reset();
      capacity = 0;
      data = std::make_unique_for_overwrite<std::byte[]>(n);
      capacity = n;
    }
    return {data.get(), n};
  }
  void trim() {
    if (capacity > kKeepScratch) data.reset(), capacity = 0;
  }
};

// The two buffers a non-sharded decode alternates between (one stage's input, the next one's output). Such a
// decode never runs another decode on its thread before it returns, so one pair per thread is enough.
Scratch* thread_scratch() {
  thread_local Scratch buffers[2];
  return buffers;
}

// The two buffers encode_with alternates between, apart from the decode's pair: a decode (of a chunk being
// rewritten) may run on this thread between encodes.
Scratch* thread_encode_scratch() {
  thread_local Scratch buffers[2];
  return buffers;
}

// Trims the thread's buffers when a decode returns, however it returns.
struct TrimOnExit {
  Scratch* buffers;
  ~TrimOnExit() {
    buffers[0].trim();
    buffers[1].trim();
  }
};

Status wrong_size(std::string_view key, uint64_t got, uint64_t expected) {
  return Status(StatusCode::kDataLoss, std::string(key) + ": chunk decodes to " + std::to_string(got) +
                                           " bytes, expected " + std::to_string(expected));
}

}  // namespace

uint64_t ChunkLayout::num_elements() const {
  uint64_t n = 1;
  for (uint64_t d : shape) n *= d;
  return n;
}

uint64_t ChunkLayout::num_bytes() const { return num_elements() * dtype_size(dtype); }

Status check_layout(const ChunkLayout& layout, std::string_view where) {
  uint64_t bytes = dtype_size(layout.dtype);
  for (uint64_t d : layout.shape) {
    if (d == 0) return Status(StatusCode::kInvalidArgument, std::string(where) + ": chunk shape has a zero dimension");
    if (bytes > kMaxChunkBytes / d) {
      return Status(StatusCode::kInvalidArgument, std::string(where) + ": chunk is too large (over 2^62 bytes)");
    }
    bytes *= d;
  }
  return Status();
}

size_t big_endian_swap_unit(DataType dtype) {
  const size_t size = dtype_size(dtype);
  if (size <= 1) return 0;
  return is_complex(dtype) ? size / 2 : size;
}

void CodecChain::Stages::compute_limits(uint64_t chunk_bytes) {
  decode_limit.clear();
  uint64_t bound = chunk_bytes;
  for (size_t i = 0; i < codecs.size(); ++i) {
    decode_limit.push_back(i == 0 ? bound : with_slack(bound));
    bound = std::min(codecs[i]->max_encoded_size(bound), kMaxChunkBytes);
  }
}

CodecChain::CodecChain(ChunkLayout layout) : layout_(std::move(layout)) {}
CodecChain::~CodecChain() = default;

bool CodecChain::is_identity() const { return !sharding_ && stages_->array.identity() && stages_->codecs.empty(); }

std::optional<uint64_t> CodecChain::fixed_encoded_size() const {
  if (sharding_) return std::nullopt;
  uint64_t size = layout_.num_bytes();
  for (const auto& c : stages_->codecs) {
    if (!c->is_checksum()) return std::nullopt;
    size = c->max_encoded_size(size);
  }
  return size;
}

Status CodecChain::decode(std::span<const std::byte> encoded, std::span<std::byte> out, std::string_view key,
                          std::span<const std::byte> fill) const {
  if (out.size() != layout_.num_bytes()) {
    return Status(StatusCode::kInvalidArgument, std::string(key) + ": output of " + std::to_string(out.size()) +
                                                    " bytes for a chunk of " + std::to_string(layout_.num_bytes()));
  }
  return decode_into(encoded, out, key, fill);
}

uint64_t CodecChain::decode_room() const {
  if (sharding_ || !stages_->array.identity() || stages_->codecs.empty()) return 0;
  const BytesCodec& last = *stages_->codecs.front();  // the last to decode: it writes the chunk
  return last.is_checksum() ? 0 : last.decode_room();
}

Status CodecChain::decode_with_room(std::span<const std::byte> encoded, std::span<std::byte> buffer,
                                    std::string_view key, std::span<const std::byte> fill) const {
  if (buffer.size() < layout_.num_bytes()) {
    return Status(StatusCode::kInvalidArgument, std::string(key) + ": output of " + std::to_string(buffer.size()) +
                                                    " bytes for a chunk of " + std::to_string(layout_.num_bytes()));
  }
  return decode_into(encoded, buffer, key, fill);
}

// The chunk goes to the first layout().num_bytes() of `buffer`; the last codec to decode may use the rest.
Status CodecChain::decode_into(std::span<const std::byte> encoded, std::span<std::byte> buffer, std::string_view key,
                               std::span<const std::byte> fill) const {
  const std::span<std::byte> out = buffer.first(layout_.num_bytes());
  if (!fill.empty() && fill.size() != dtype_size(layout_.dtype)) {
    return Status(StatusCode::kInvalidArgument, std::string(key) + ": fill value of " + std::to_string(fill.size()) +
                                                    " bytes for elements of " +
                                                    std::to_string(dtype_size(layout_.dtype)));
  }
  if (sharding_) return decode_whole_shard(*sharding_, layout_, encoded, out, key, fill);
  const Stages& st = *stages_;
  const bool transform = !st.array.identity();
  std::span<const std::byte> cur = encoded;
  Scratch* scratch = thread_scratch();
  const TrimOnExit trim{scratch};
  size_t next = 0;  // the scratch buffer the next stage decodes into (the other one may hold its input)
  // bytes->bytes codecs in reverse; checksums strip in place, the others decode into a scratch
  // buffer (the first codec straight into `out` when no transform follows).
  for (size_t i = st.codecs.size(); i-- > 0;) {
    const BytesCodec& codec = *st.codecs[i];
    if (codec.is_checksum()) {
      LSIO_ASSIGN_OR_RETURN(cur, codec.strip(cur, key));
      continue;
    }
    size_t n;
    if (i == 0 && !transform) {
      if (buffer.size() == out.size()) {
        LSIO_ASSIGN_OR_RETURN(n, codec.decode(cur, out, key));
      } else {
        LSIO_ASSIGN_OR_RETURN(n, codec.decode_with_room(cur, buffer, out.size(), key));
      }
      cur = out.first(n);
    } else {
      std::span<std::byte> dst = scratch[next].get(st.decode_limit[i]);
      LSIO_ASSIGN_OR_RETURN(n, codec.decode(cur, dst, key));
      cur = dst.first(n);
    }
    next ^= 1;
  }
  if (cur.size() != out.size()) return wrong_size(key, cur.size(), out.size());
  if (cur.data() == out.data()) return Status();
  decode_array(cur, out, layout_.shape, dtype_size(layout_.dtype), st.array);
  return Status();
}

Result<Bytes> CodecChain::encode(std::span<const std::byte> decoded, std::string_view key) const {
  if (decoded.size() != layout_.num_bytes()) {
    return error(StatusCode::kInvalidArgument, std::string(key) + ": input of " + std::to_string(decoded.size()) +
                                                   " bytes for a chunk of " + std::to_string(layout_.num_bytes()));
  }
  if (sharding_) return encode_whole_shard(*sharding_, layout_, decoded, key);
  const Stages& st = *stages_;
  Bytes cur;
  std::span<const std::byte> view = decoded;
  if (!st.array.identity()) {
    cur = Bytes::allocate(decoded.size());
    encode_array(decoded, {cur.mutable_data(), cur.size()}, layout_.shape, dtype_size(layout_.dtype), st.array);
    view = cur.span();
  }
  for (const auto& codec : st.codecs) {
    LSIO_ASSIGN_OR_RETURN(cur, codec->encode(view, key));
    view = cur.span();
  }
  if (view.data() == decoded.data()) return Bytes::copy_of(decoded);
  return cur;
}

void CodecChain::release_encode_buffers() {
  Scratch* buffers = thread_encode_scratch();
  buffers[0] = Scratch{};
  buffers[1] = Scratch{};
}

Status CodecChain::encode_with(std::span<const std::byte> decoded, std::string_view key,
                               const std::function<Status(std::span<const std::byte>)>& use) const {
  if (decoded.size() != layout_.num_bytes()) {
    return Status(StatusCode::kInvalidArgument, std::string(key) + ": input of " + std::to_string(decoded.size()) +
                                                    " bytes for a chunk of " + std::to_string(layout_.num_bytes()));
  }
  const Stages& st = *stages_;
  if (sharding_ || std::any_of(st.codecs.begin(), st.codecs.end(), [](const auto& c) { return !c->encodes_into(); })) {
    LSIO_ASSIGN_OR_RETURN(Bytes encoded, encode(decoded, key));
    return use(encoded.span());
  }
  Scratch* buffers = thread_encode_scratch();
  const TrimOnExit trim{buffers};
  size_t next = 0;
  std::span<const std::byte> view = decoded;
  if (!st.array.identity()) {
    std::span<std::byte> out = buffers[next].get(decoded.size());
    encode_array(decoded, out, layout_.shape, dtype_size(layout_.dtype), st.array);
    view = out;
    next ^= 1;
  }
  for (const auto& codec : st.codecs) {
    std::span<std::byte> out = buffers[next].get(codec->max_encoded_size(view.size()));
    LSIO_ASSIGN_OR_RETURN(const size_t n, codec->encode_into(view, out, key));
    view = out.first(n);
    next ^= 1;
  }
  return use(view);
}

}  // namespace lsio::codec

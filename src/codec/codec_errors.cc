#include "codec/codec_errors.h"

#include <cstdio>

namespace lsio::codec {
namespace {

std::string join(std::string_view key, std::string_view codec, std::string_view what) {
  std::string msg(key);
  msg += ": ";
  msg += codec;
  msg += ": ";
  msg += what;
  return msg;
}

}  // namespace

Unexpected data_loss(std::string_view key, std::string_view codec, std::string_view what) {
  return error(StatusCode::kDataLoss, join(key, codec, what));
}

Unexpected too_large(std::string_view key, std::string_view codec, uint64_t limit) {
  return data_loss(key, codec, "decodes to more than " + std::to_string(limit) + " bytes");
}

Unexpected cannot_encode(std::string_view key, std::string_view codec, std::string_view what) {
  return error(StatusCode::kInvalidArgument, join(key, codec, what));
}

std::string hex32(uint32_t value) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", value);
  return buf;
}

}  // namespace lsio::codec

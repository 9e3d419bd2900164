// Error messages shared by the codecs: every one names the chunk key and the codec.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "lsio/status.h"

namespace lsio::codec {

// Each returns std::unexpected, ready to `return` from a function returning any Result<T>.
using Unexpected = std::unexpected<Status>;

// kDataLoss "<key>: <codec>: <what>".
Unexpected data_loss(std::string_view key, std::string_view codec, std::string_view what);
// kDataLoss "<key>: <codec>: decodes to more than <limit> bytes".
Unexpected too_large(std::string_view key, std::string_view codec, uint64_t limit);
// kInvalidArgument "<key>: <codec>: <what>" (an input the codec cannot encode).
Unexpected cannot_encode(std::string_view key, std::string_view codec, std::string_view what);
// "0x1234abcd".
std::string hex32(uint32_t value);

}  // namespace lsio::codec

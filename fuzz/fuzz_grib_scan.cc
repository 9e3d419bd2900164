// libFuzzer target for the GRIB2 scanner (lsio::grib::scan_bytes): the input is one "file".
//
// Properties (a failure aborts with the details on stderr):
//   - never crash or hang; an error names the file ("GRIB fuzz") and is kDataLoss or kUnimplemented;
//   - every indexed message lies inside the input, starts with "GRIB", and messages do not overlap (the
//     fields of a multi-field message follow it with its offset);
//   - lenient (skip garbage) accepts whatever strict accepts, with the same messages.
//
// Build: cmake -DLSIO_FUZZ=ON with clang (see the Makefile's test-fuzz). -DLSIO_FUZZ_STANDALONE adds a main() that
// runs the files given as arguments.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>

#include "lsio/grib.h"

namespace {

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "fuzz_grib_scan: %s\n", why.c_str());
  std::abort();
}

void check(std::span<const std::byte> in, bool skip) {
  lsio::grib::ScanOptions o;
  o.skip_garbage = skip;
  o.probe_bytes = 64 + (in.empty() ? 0 : static_cast<uint8_t>(in[0]) * 8);  // exercise the header-only path
  auto r = lsio::grib::scan_bytes("fuzz", in, o);
  if (!r.has_value()) {
    const auto code = r.error().code();
    if (code != lsio::StatusCode::kDataLoss && code != lsio::StatusCode::kUnimplemented)
      die("unexpected error: " + r.error().to_string());
    if (r.error().to_string().find("GRIB fuzz: offset ") == std::string::npos)
      die("unnamed error: " + r.error().to_string());
    return;
  }
  uint64_t end = 0, last = 0;
  for (const auto& m : r->messages) {
    if (m.field > 0) {  // another field of the previous message
      if (m.offset != last || m.field >= m.fields) die("field " + std::to_string(m.field) + " not after its message");
      continue;
    }
    last = m.offset;
    if (m.offset < end || m.offset + m.length > in.size() || m.length < 16)
      die("message outside the input or overlapping: offset " + std::to_string(m.offset));
    if (std::memcmp(in.data() + m.offset, "GRIB", 4) != 0) die("message not at \"GRIB\"");
    end = m.offset + m.length;
  }
  if (!skip) {
    auto lenient = lsio::grib::scan_bytes("fuzz", in, {.probe_bytes = o.probe_bytes, .skip_garbage = true});
    if (!lenient.has_value() || lenient->messages.size() != r->messages.size()) die("lenient scan disagrees");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data), size);
  check(in, false);
  check(in, true);
  return 0;
}

#ifdef LSIO_FUZZ_STANDALONE
#include <fstream>
#include <iterator>

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (argv[i][0] == '-') continue;
    std::ifstream in(argv[i], std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  }
  return 0;
}
#endif

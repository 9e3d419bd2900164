// GRIB2: index the messages of many files without decoding their values, and
// decode selected messages straight into caller arrays, on a Store's workers.
//
// The GRIB code sees only lsio::Store: scan() walks the files with batched
// small reads (section 0 gives each message's length), reads sections 1-6 of
// each message (the whole message when it is small) and takes the keys from an
// ecCodes handle made from those bytes in memory. read_fields() reads whole
// messages in one batch and decodes each on the worker that read it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lsio/status.h"
#include "lsio/store.h"

namespace lsio::grib {

// One field of a GRIB message, as the index knows it (no values).
struct Message {
  std::string path;     // the store path of the file
  uint64_t offset = 0;  // of the message ("GRIB") in the file
  uint64_t length = 0;  // total length of the message (section 0)
  uint32_t field = 0;   // 0-based field within a multi-field message
  uint32_t fields = 1;  // fields in the message (0: a single field known from its headers only)
  int edition = 2;
  std::string short_name, type_of_level, packing_type, grid_type, units, name;
  int64_t level = 0;
  int64_t data_date = 0, data_time = 0;  // YYYYMMDD, HHMM
  int64_t step = 0;                      // forecast step, in step_units
  std::string step_units;                // "h", "m", ...
  int64_t validity_date = 0, validity_time = 0;
  int64_t number = -1;  // ensemble member ("number"); -1 when the message has none
  int64_t param_id = 0, discipline = 0, parameter_category = 0, parameter_number = 0;
  int64_t ni = -1, nj = -1;      // -1 when the grid has no such key
  int64_t number_of_points = 0;  // values a decode returns (numberOfDataPoints)
  int64_t number_of_values = 0;  // coded values (fewer with a bitmap)
  bool bitmap = false;
  double lat_first = 0, lon_first = 0, lat_last = 0, lon_last = 0, di = 0, dj = 0;
  int64_t i_scans_negatively = 0, j_scans_positively = 0;
};

struct ScanOptions {
  // Bytes read at each message's offset: a message that fits is taken whole;
  // a larger one is walked through its section headers and only sections 0-6
  // are handed to ecCodes (grown as needed for large sections 2-6).
  uint64_t probe_bytes = 64 << 10;
  // Bytes that are not a message ("garbage" before, between or after the
  // messages): skipped with a warning (true) or refused with DataLoss (false).
  bool skip_garbage = true;
  ReadOptions read;
};

struct ScanResult {
  std::vector<Message> messages;      // by file (in the order given), then offset
  std::vector<std::string> warnings;  // "path: offset N: ..." for every skipped byte run or unusual message
};

// Indexes every message of `paths` (store paths). Errors name the file and
// the byte offset: a missing file, a file that is not GRIB, a truncated
// message, a wrong length in section 0, an edition other than 2, a message
// ecCodes cannot parse. One failing file fails the scan (the first error by
// file order); nothing is thrown.
Result<ScanResult> scan(Store& store, std::span<const std::string> paths, const ScanOptions& options = {});

// Where one message is, as an inventory beside the file says (NOAA's wgrib2 .idx, ECMWF's .index).
struct MessageSpan {
  std::string path;
  uint64_t offset = 0;  // of "GRIB"
  uint64_t length = 0;  // the whole message, section 0 to "7777"
};

struct SpanScanResult {
  ScanResult scan;             // the messages of the spans that hold what the inventory says, in span order
  std::vector<Status> errors;  // one per span: ok, or why it is not one GRIB message of that length there
};

// scan() without the walk: message boundaries come from an inventory, so the messages of all the files are
// read in one batch (only their first probe_bytes, grown for large sections 2-6, as scan() does). A span
// whose bytes do not start with "GRIB", or whose section 0 gives another length, gets a DataLoss error naming
// the file and the offset in `errors` (its messages are left out); the other spans are indexed. The call
// fails only for what is not about one span (cancellation, timeout).
Result<SpanScanResult> scan_spans(Store& store, std::span<const MessageSpan> spans, const ScanOptions& options = {});

// The same walk over bytes already in memory (one file named `path`): what
// scan() does with each file, without a store (the fuzz target uses it).
Result<ScanResult> scan_bytes(std::string_view path, std::span<const std::byte> data, const ScanOptions& options = {});

enum class ValueType : uint8_t { kFloat32, kFloat64 };

// Decodes messages[i] into out[i * stride, i * stride + number_of_points) as
// float32 or float64 (`out` holds messages.size() * stride elements of that
// type); missing values (bitmap) become NaN. One batch of whole messages,
// each decoded on the store worker that read it with its own ecCodes handle.
// Returns the first error by message order (the other slots are still
// filled); the error names the file and the offset.
Status read_fields(Store& store, std::span<const Message> messages, void* out, ValueType type, size_t stride,
                   const ReadOptions& options = {});

// The latitudes and longitudes of a message's grid, as ecCodes computes them
// (cfgrib uses the same keys). Regular grids (regular_ll, regular_gg) give
// distinctLatitudes (Nj, in scan order) and distinctLongitudes (Ni): `distinct`
// is true. Every other grid gives one latitude and longitude per point
// (`latitudes`, `longitudes`, in the order of the decoded values).
struct GridCoordinates {
  std::string grid_type;
  bool distinct = false;
  std::vector<double> latitudes, longitudes;
};

// Coordinates of each message's grid: one batch of whole messages (call it
// with one message per distinct grid: the geometry is computed per message).
// out[i] is Unimplemented, naming the file, offset and gridType, when ecCodes
// has no coordinates for that grid (spherical harmonics, lambert_bf, ...);
// any other error there names the file and offset. The returned Status is a
// failure of the batch itself.
Status grid_coordinates(Store& store, std::span<const Message> messages, std::vector<Result<GridCoordinates>>& out,
                        const ReadOptions& options = {});

// The same for one message held in memory.
Result<GridCoordinates> message_coordinates(std::string_view path, uint64_t offset, std::span<const std::byte> message);

// Field k of a multi-field message as a single-field message (sections 0, 1, the latest 2 and 3, the field's 4-7).
Status assemble_field(std::string_view path, uint64_t offset, std::span<const std::byte> message, uint32_t k,
                      std::vector<std::byte>& out);

// Decodes one message held in memory into `out` (number_of_points values).
Status decode_message(std::string_view path, uint64_t offset, std::span<const std::byte> message, void* out,
                      ValueType type, size_t capacity);

}  // namespace lsio::grib

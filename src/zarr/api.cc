// The public Zarr API (include/lsio/zarr.h): thin handles over ArrayImpl, and open_node.
#include <nlohmann/json.hpp>
#include <utility>

#include "lsio/zarr.h"
#include "zarr/array.h"
#include "zarr/array_internal.h"
#include "zarr/metadata.h"

namespace lsio::zarr {

// Builds public Arrays around an ArrayImpl (the constructor is private so that users only get opened arrays).
struct ArrayAccess {
  static Array wrap(std::shared_ptr<ArrayImpl> impl) { return Array(std::move(impl)); }
};

namespace {

std::string normalized(std::string_view path) {
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  return std::string(path);
}

Result<Array> wrap(Result<std::shared_ptr<ArrayImpl>> r) {
  if (!r) return error(std::move(r).error());
  return ArrayAccess::wrap(std::move(*r));
}

Group group_of(std::string path, const GroupMetadata& g) {
  Group out;
  out.path = std::move(path);
  out.zarr_format = g.zarr_format;
  out.attributes_json = g.attributes.dump();
  if (!g.consolidated.is_null()) out.consolidated_json = g.consolidated.dump();
  return out;
}

}  // namespace

// ---- Array -------------------------------------------------------------------------------------------------------

Result<Array> Array::open(std::shared_ptr<Store> store, std::string_view path, const ReadOptions& options) {
  return wrap(ArrayImpl::open(std::move(store), normalized(path), options));
}

Result<Array> Array::create(std::shared_ptr<Store> store, std::string_view path, std::string_view metadata_json,
                            std::string_view attributes_json, bool overwrite, const ReadOptions& /*options*/) {
  const std::string p = normalized(path);
  Result<ArrayMetadata> meta = declared_zarr_format(metadata_json) == 2
                                   ? parse_v2_array(metadata_json, attributes_json, join_key(p, ".zarray"))
                                   : parse_v3_array(metadata_json, join_key(p, "zarr.json"));
  if (!meta) return error(std::move(meta).error());
  return wrap(ArrayImpl::create(std::move(store), p, std::move(*meta), overwrite));
}

const std::string& Array::path() const { return impl_->path(); }
const std::shared_ptr<Store>& Array::store() const { return impl_->store(); }

int Array::zarr_format() const { return impl_->metadata().zarr_format; }

const std::vector<uint64_t>& Array::shape() const { return impl_->metadata().shape; }

std::vector<uint64_t> Array::chunk_shape() const { return impl_->read_chunk_shape(); }

std::vector<uint64_t> Array::shard_shape() const { return impl_->shard_shape(); }

DataType Array::dtype() const { return impl_->metadata().dtype; }

std::string Array::numpy_typestr() const { return lsio::numpy_typestr(impl_->metadata().dtype); }

size_t Array::itemsize() const { return impl_->itemsize(); }

std::span<const std::byte> Array::fill_value() const { return impl_->metadata().fill_value; }

std::string Array::attributes_json() const { return impl_->metadata().attributes.dump(); }

std::string Array::metadata_json() const {
  const ArrayMetadata& m = impl_->metadata();
  if (m.zarr_format == 3) return to_v3_json(m);
  // v2: the .zarray document, with the attributes of .zattrs under "attributes" (as zarr-python's metadata shows).
  nlohmann::json doc = nlohmann::json::parse(to_v2_zarray(m));
  doc["attributes"] = m.attributes;
  return doc.dump();
}

const std::vector<std::optional<std::string>>& Array::dimension_names() const {
  return impl_->metadata().dimension_names;
}

std::string Array::chunk_key(std::span<const uint64_t> coords) const { return impl_->chunk_key(coords); }

Status Array::read(const Selection& sel, std::span<std::byte> out, const ReadOptions& options) const {
  return impl_->read(sel, out, options);
}

Status Array::read_crops(std::span<const int64_t> starts, std::span<const uint64_t> crop_shape,
                         std::span<std::byte> out, const Conversion* conversion, const ReadOptions& options) const {
  return impl_->read_crops(starts, crop_shape, out, conversion, options);
}

Status Array::write(const Selection& sel, std::span<const std::byte> src, const ReadOptions& options) {
  return impl_->write(sel, src, options);
}

Result<Stats> Array::reduce(const Selection& sel, std::span<const size_t> axes, const ReadOptions& options) const {
  return impl_->reduce(sel, axes, options);
}

// ---- nodes -------------------------------------------------------------------------------------------------------

Result<Node> open_node(std::shared_ptr<Store> store, std::string_view path_in, const ReadOptions& options) {
  std::string path = normalized(path_in);
  const std::string v3_key = join_key(path, "zarr.json");
  LSIO_ASSIGN_OR_RETURN(auto v3, read_optional(*store, v3_key, options));
  if (v3) {
    LSIO_ASSIGN_OR_RETURN(auto node, parse_v3_node(v3->as_string_view(), v3_key));
    if (auto* g = std::get_if<GroupMetadata>(&node)) return group_of(std::move(path), *g);
    LSIO_ASSIGN_OR_RETURN(Array array,
                          wrap(ArrayImpl::from_metadata(std::move(store), std::move(path),
                                                        std::get<ArrayMetadata>(std::move(node)), v3_key)));
    return array;
  }
  const std::string zarray_key = join_key(path, ".zarray");
  LSIO_ASSIGN_OR_RETURN(auto zarray, read_optional(*store, zarray_key, options));
  const std::string zattrs_key = join_key(path, ".zattrs");
  if (zarray) {
    LSIO_ASSIGN_OR_RETURN(auto zattrs, read_optional(*store, zattrs_key, options));
    LSIO_ASSIGN_OR_RETURN(ArrayMetadata meta,
                          parse_v2_array(zarray->as_string_view(), zattrs ? zattrs->as_string_view() : "", zarray_key));
    LSIO_ASSIGN_OR_RETURN(
        Array array, wrap(ArrayImpl::from_metadata(std::move(store), std::move(path), std::move(meta), zarray_key)));
    return array;
  }
  const std::string zgroup_key = join_key(path, ".zgroup");
  LSIO_ASSIGN_OR_RETURN(auto zgroup, read_optional(*store, zgroup_key, options));
  if (!zgroup) {
    return error(StatusCode::kNotFound, "no Zarr array or group at '" + path + "': none of " + v3_key + ", " +
                                            zarray_key + ", " + zgroup_key + " exists");
  }
  LSIO_ASSIGN_OR_RETURN(auto zattrs, read_optional(*store, zattrs_key, options));
  LSIO_ASSIGN_OR_RETURN(GroupMetadata g,
                        parse_v2_group(zgroup->as_string_view(), zattrs ? zattrs->as_string_view() : "", zgroup_key));
  const std::string zmeta_key = join_key(path, ".zmetadata");
  LSIO_ASSIGN_OR_RETURN(auto zmeta, read_optional(*store, zmeta_key, options));
  if (zmeta) {
    LSIO_ASSIGN_OR_RETURN(g.consolidated, parse_v2_consolidated(zmeta->as_string_view(), zmeta_key));
  }
  return group_of(std::move(path), g);
}

}  // namespace lsio::zarr

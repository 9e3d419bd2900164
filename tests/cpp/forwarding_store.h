// A Store that forwards everything but reads to another store: tests derive
// from it to watch or check the read batches a layer above the store sends.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/batch_state.h"
#include "lsio/store.h"

namespace lsio::testing {

class ForwardingStore : public Store {
 public:
  explicit ForwardingStore(std::shared_ptr<Store> inner) : inner_(std::move(inner)) {}

  std::string engine_description() const override { return inner_->engine_description(); }
  std::vector<Result<ObjectInfo>> stat(std::span<const std::string> paths) override { return inner_->stat(paths); }
  std::vector<Status> write(std::span<const WriteRequest> requests) override { return inner_->write(requests); }
  std::vector<Status> remove(std::span<const std::string> paths) override { return inner_->remove(paths); }
  Status put(std::string_view path, std::span<const std::byte> data, const PutOptions& options) override {
    return inner_->put(path, data, options);
  }
  Result<Listing> list(std::string_view prefix, bool recursive) override { return inner_->list(prefix, recursive); }

 protected:
  // Serves a batch through the inner store's blocking calls.
  void forward(detail::BatchState& state) {
    switch (state.kind) {
      case detail::SinkKind::kCollect: {
        auto results = inner_->read(*state.batch, state.options);
        for (size_t i = 0; i < results.size(); ++i) state.deliver(i, std::move(results[i]));
        break;
      }
      case detail::SinkKind::kInto: {
        auto statuses = inner_->read_into(*state.into, state.options);
        for (size_t i = 0; i < statuses.size(); ++i)
          state.deliver(i, statuses[i].ok() ? Result<Bytes>(Bytes()) : error(statuses[i]));
        break;
      }
      case detail::SinkKind::kCallback:
        inner_->for_each(
            *state.batch, [&](size_t i, Result<Bytes> r) { state.deliver(i, std::move(r)); }, state.options);
        break;
    }
    state.finish();
  }

  std::shared_ptr<Store> inner_;
};

}  // namespace lsio::testing

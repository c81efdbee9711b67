// Instance: the buffers of one batch size, found by name.
#include "runtime/Program.h"

#include <algorithm>

namespace weft::runtime {

Instance::Instance(const Program &program, int64_t batch)
    : program(program), batchSize(batch) {
  for (const BufferSpec &spec : program.buffers()) {
    size_t bytes =
        spec.elements(batch) * (spec.isInt ? 8 : program.floatBytes());
    // At least one word, so that every buffer has a distinct address.
    storage.emplace_back(std::max<size_t>(1, (bytes + 7) / 8), 0);
    pointers.push_back(storage.back().data());
  }
}

int Instance::find(const std::string &name) const {
  const std::vector<BufferSpec> &specs = program.buffers();
  for (size_t i = 0; i < specs.size(); ++i)
    if (specs[i].role != BufferRole::Temp && specs[i].name == name)
      return static_cast<int>(i);
  return -1;
}

void *Instance::buffer(const std::string &name) {
  int index = find(name);
  return index < 0 ? nullptr : pointers[index];
}

int64_t Instance::elements(const std::string &name) const {
  int index = find(name);
  return index < 0 ? -1 : program.buffers()[index].elements(batchSize);
}

void Instance::run() { program.run(pointers.data(), batchSize); }

} // namespace weft::runtime

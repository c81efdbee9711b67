// Running a launch plan on a device: see DeviceProgram.h.
#include "runtime/DeviceProgram.h"

#include <algorithm>

namespace weft::runtime {

DeviceProgram::DeviceProgram(std::vector<BufferSpec> buffers, DevicePlan plan,
                             std::unique_ptr<Device> device)
    : table(std::move(buffers)), plan(std::move(plan)),
      device(std::move(device)) {}

DeviceProgram::~DeviceProgram() {
  try {
    release();
  } catch (const DeviceError &) {
    // A device that failed may refuse to free too; nothing more to do.
  }
}

size_t DeviceProgram::elementBytes(int buffer) const {
  return table[buffer].isInt ? 8 : 4;
}

void DeviceProgram::release() const {
  for (Device::Address buffer : deviceBuffers)
    device->release(buffer);
  if (deviceTable)
    device->release(deviceTable);
  deviceBuffers.clear();
  deviceTable = 0;
  allocatedBatch = -1;
}

void DeviceProgram::allocate(int64_t batch) const {
  if (allocatedBatch == batch)
    return;
  release();
  for (size_t i = 0; i < table.size(); ++i) {
    // At least one word, so that every buffer has an address of its own.
    size_t bytes = table[i].elements(batch) * elementBytes(i);
    deviceBuffers.push_back(device->allocate(std::max<size_t>(bytes, 8)));
  }
  // The kernels take the buffers' addresses as one table in device memory.
  deviceTable = device->allocate(8 * std::max<size_t>(table.size(), 1));
  device->upload(deviceTable, deviceBuffers.data(), 8 * deviceBuffers.size());
  allocatedBatch = batch;
}

Device::Address
DeviceProgram::address(const PlanElement &element, int64_t batch,
                       const std::vector<int64_t> &loopSteps) const {
  return deviceBuffers[element.buffer] +
         element.at(batch, loopSteps) * elementBytes(element.buffer);
}

void DeviceProgram::run(void **buffers, int64_t batch) const {
  allocate(batch);
  for (size_t i = 0; i < table.size(); ++i)
    if (table[i].role == BufferRole::Param ||
        table[i].role == BufferRole::Input)
      device->upload(deviceBuffers[i], buffers[i],
                     table[i].elements(batch) * elementBytes(i));

  std::vector<int64_t> loopSteps(plan.loopCount, 0);
  runSteps(plan.steps, batch, loopSteps);

  for (size_t i = 0; i < table.size(); ++i)
    if (table[i].role == BufferRole::Output)
      device->download(buffers[i], deviceBuffers[i],
                       table[i].elements(batch) * elementBytes(i));
  device->synchronize();
}

void DeviceProgram::runSteps(const std::vector<PlanStep> &steps, int64_t batch,
                             std::vector<int64_t> &loopSteps) const {
  for (const PlanStep &step : steps) {
    switch (step.kind) {
    case PlanStep::Kind::Launch: {
      int64_t points = 1;
      if (!step.serial)
        for (PlanSize extent : step.extents)
          points *= extent.at(batch);
      if (points > 0)
        device->launch(step.kernel, points, deviceTable, batch, loopSteps);
      break;
    }
    case PlanStep::Kind::Gemm: {
      DeviceGemm call;
      call.transposeA = step.transposeA;
      call.transposeB = step.transposeB;
      call.m = step.m.at(batch);
      call.n = step.n.at(batch);
      call.k = step.k.at(batch);
      call.a = address(step.a, batch, loopSteps);
      call.b = address(step.b, batch, loopSteps);
      call.c = address(step.c, batch, loopSteps);
      call.lda = step.lda;
      call.ldb = step.ldb;
      call.ldc = step.ldc;
      call.alpha = static_cast<float>(step.alpha);
      call.beta = static_cast<float>(step.beta);
      if (call.m > 0 && call.n > 0)
        device->gemm(call);
      break;
    }
    case PlanStep::Kind::Copy: {
      size_t bytes =
          step.count.at(batch) * elementBytes(step.destination.buffer);
      if (bytes > 0)
        device->copy(address(step.destination, batch, loopSteps),
                     address(step.source, batch, loopSteps), bytes);
      break;
    }
    case PlanStep::Kind::Loop:
      for (int64_t i = 0; i < step.steps; ++i) {
        loopSteps[step.loop] = step.reverse ? step.steps - 1 - i : i;
        runSteps(step.body, batch, loopSteps);
      }
      break;
    }
  }
}

} // namespace weft::runtime

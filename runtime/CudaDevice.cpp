// A Device on an NVIDIA GPU, through the CUDA driver API and cuBLAS, both
// loaded at run time: see Cuda.h. The function types below restate the
// few entry points used, from NVIDIA's documented C API, so that nothing
// of CUDA is needed to build Weft.
#include "runtime/Cuda.h"

#include <fmt/format.h>

#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>

namespace weft::runtime {

namespace {

// CUresult is an int; CUdeviceptr a 64-bit integer; handles are pointers.
using CuResult = int;
using CuDevicePointer = unsigned long long;
using CuHandle = void *;

struct DriverApi {
  CuResult (*init)(unsigned);
  CuResult (*deviceGet)(int *, int);
  CuResult (*primaryContextRetain)(CuHandle *, int);
  CuResult (*contextSetCurrent)(CuHandle);
  CuResult (*moduleLoadData)(CuHandle *, const void *);
  CuResult (*moduleGetFunction)(CuHandle *, CuHandle, const char *);
  CuResult (*memAlloc)(CuDevicePointer *, size_t);
  CuResult (*memFree)(CuDevicePointer);
  CuResult (*memcpyHtoD)(CuDevicePointer, const void *, size_t);
  CuResult (*memcpyDtoH)(void *, CuDevicePointer, size_t);
  CuResult (*memcpyDtoD)(CuDevicePointer, CuDevicePointer, size_t);
  CuResult (*launchKernel)(CuHandle, unsigned, unsigned, unsigned, unsigned,
                           unsigned, unsigned, unsigned, CuHandle, void **,
                           void **);
  CuResult (*contextSynchronize)();
  CuResult (*errorString)(CuResult, const char **);
};

// cublasStatus_t is an int; cublasOperation_t 0 (none) or 1 (transpose).
struct BlasApi {
  int (*create)(CuHandle *);
  int (*sgemm)(CuHandle, int, int, int, int, int, const float *, const float *,
               int, const float *, int, const float *, float *, int);
};

template <typename Function>
bool bind(void *library, const char *name, Function &function,
          std::string *error) {
  function = reinterpret_cast<Function>(dlsym(library, name));
  if (!function)
    *error = fmt::format("the library has no `{}`", name);
  return function != nullptr;
}

bool bindDriver(void *library, DriverApi &api, std::string *error) {
  return bind(library, "cuInit", api.init, error) &&
         bind(library, "cuDeviceGet", api.deviceGet, error) &&
         bind(library, "cuDevicePrimaryCtxRetain", api.primaryContextRetain,
              error) &&
         bind(library, "cuCtxSetCurrent", api.contextSetCurrent, error) &&
         bind(library, "cuModuleLoadData", api.moduleLoadData, error) &&
         bind(library, "cuModuleGetFunction", api.moduleGetFunction, error) &&
         bind(library, "cuMemAlloc_v2", api.memAlloc, error) &&
         bind(library, "cuMemFree_v2", api.memFree, error) &&
         bind(library, "cuMemcpyHtoD_v2", api.memcpyHtoD, error) &&
         bind(library, "cuMemcpyDtoH_v2", api.memcpyDtoH, error) &&
         bind(library, "cuMemcpyDtoD_v2", api.memcpyDtoD, error) &&
         bind(library, "cuLaunchKernel", api.launchKernel, error) &&
         bind(library, "cuCtxSynchronize", api.contextSynchronize, error) &&
         bind(library, "cuGetErrorString", api.errorString, error);
}

class CudaDevice final : public Device {
public:
  CudaDevice(DriverApi driver, BlasApi blas) : driver(driver), blas(blas) {}

  bool open(const std::string &ptx, unsigned kernelCount, std::string *error);

  Address allocate(size_t bytes) override {
    CuDevicePointer address = 0;
    check(driver.memAlloc(&address, bytes), "cuMemAlloc");
    return address;
  }
  void release(Address address) override {
    check(driver.memFree(address), "cuMemFree");
  }
  void upload(Address destination, const void *source, size_t bytes) override {
    check(driver.memcpyHtoD(destination, source, bytes), "cuMemcpyHtoD");
  }
  void download(void *destination, Address source, size_t bytes) override {
    check(driver.memcpyDtoH(destination, source, bytes), "cuMemcpyDtoH");
  }
  void copy(Address destination, Address source, size_t bytes) override {
    check(driver.memcpyDtoD(destination, source, bytes), "cuMemcpyDtoD");
  }
  void launch(unsigned kernel, int64_t points, Address table, int64_t batch,
              const std::vector<int64_t> &steps) override;
  void gemm(const DeviceGemm &call) override;
  void synchronize() override {
    check(driver.contextSynchronize(), "cuCtxSynchronize");
  }

private:
  std::string describe(CuResult status) const {
    const char *text = nullptr;
    driver.errorString(status, &text);
    return text ? fmt::format("{} ({})", text, status)
                : fmt::format("error {}", status);
  }
  void check(CuResult status, const char *call) const {
    if (status != 0)
      throw DeviceError(
          fmt::format("the GPU failed in {}: {}", call, describe(status)));
  }

  DriverApi driver;
  BlasApi blas;
  CuHandle context = nullptr;
  CuHandle module = nullptr;
  CuHandle blasHandle = nullptr;
  std::vector<CuHandle> kernels;
};

bool CudaDevice::open(const std::string &ptx, unsigned kernelCount,
                      std::string *error) {
  int device = 0;
  CuResult status = driver.deviceGet(&device, 0);
  if (status == 0)
    status = driver.primaryContextRetain(&context, device);
  if (status == 0)
    status = driver.contextSetCurrent(context);
  if (status != 0) {
    *error = "could not open the GPU: " + describe(status);
    return false;
  }
  // The driver compiles the PTX for this GPU as it loads it.
  if ((status = driver.moduleLoadData(&module, ptx.c_str())) != 0) {
    *error = "the GPU's driver did not load Weft's PTX: " + describe(status);
    return false;
  }
  for (unsigned i = 0; i < kernelCount; ++i) {
    std::string name = fmt::format("weft_kernel{}", i);
    CuHandle function = nullptr;
    if ((status = driver.moduleGetFunction(&function, module, name.c_str())) !=
        0) {
      *error = fmt::format("the PTX module has no kernel `{}`: {}", name,
                           describe(status));
      return false;
    }
    kernels.push_back(function);
  }
  if (int blasStatus = blas.create(&blasHandle); blasStatus != 0) {
    *error = fmt::format("cuBLAS did not start (cublasCreate returned {})",
                         blasStatus);
    return false;
  }
  return true;
}

void CudaDevice::launch(unsigned kernel, int64_t points, Address table,
                        int64_t batch, const std::vector<int64_t> &steps) {
  const int64_t threadsPerBlock = 256;
  int64_t blocks = (points + threadsPerBlock - 1) / threadsPerBlock;
  // The kernel's parameters: the table, the batch, then each loop's step.
  std::vector<void *> arguments = {&table, &batch};
  std::vector<int64_t> stepValues = steps;
  for (int64_t &step : stepValues)
    arguments.push_back(&step);
  check(driver.launchKernel(kernels.at(kernel), static_cast<unsigned>(blocks),
                            1, 1, threadsPerBlock, 1, 1, 0, nullptr,
                            arguments.data(), nullptr),
        "cuLaunchKernel");
}

void CudaDevice::gemm(const DeviceGemm &call) {
  // cuBLAS is column-major: the row-major C = op(A) op(B) is the
  // column-major C^T = op(B)^T op(A)^T, so the operands swap places and
  // keep their own transposition flags and leading dimensions.
  const int none = 0, transpose = 1;
  auto pointer = [](Address address) {
    return reinterpret_cast<float *>(static_cast<uintptr_t>(address));
  };
  int status =
      blas.sgemm(blasHandle, call.transposeB ? transpose : none,
                 call.transposeA ? transpose : none, static_cast<int>(call.n),
                 static_cast<int>(call.m), static_cast<int>(call.k),
                 &call.alpha, pointer(call.b), static_cast<int>(call.ldb),
                 pointer(call.a), static_cast<int>(call.lda), &call.beta,
                 pointer(call.c), static_cast<int>(call.ldc));
  if (status != 0)
    throw DeviceError(
        fmt::format("cuBLAS failed in cublasSgemm (status {})", status));
}

/// cuBLAS's library names, newest first.
const char *const blasNames[] = {"libcublas.so.13", "libcublas.so.12",
                                 "libcublas.so.11", "libcublas.so"};
const char *const blasLtNames[] = {"libcublasLt.so.13", "libcublasLt.so.12",
                                   "libcublasLt.so.11", "libcublasLt.so"};

} // namespace

void *loadCublas(std::string *error) {
  const char *folder = std::getenv("WEFT_CUBLAS_DIR");
  std::string tried;
  for (size_t i = 0; i < std::size(blasNames); ++i) {
    std::string name = blasNames[i];
    if (folder && *folder) {
      // cuBLAS needs cuBLASLt, which the loader would not look for beside
      // it: load that first from the same folder.
      namespace fs = std::filesystem;
      fs::path lt = fs::path(folder) / blasLtNames[i];
      if (fs::exists(lt))
        dlopen(lt.c_str(), RTLD_NOW | RTLD_GLOBAL);
      name = (fs::path(folder) / blasNames[i]).string();
    }
    if (void *library = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL))
      return library;
    tried += (tried.empty() ? "" : ", ") + name;
  }
  *error = fmt::format(
      "cuBLAS was not found (tried {}): install it, or name the folder that "
      "holds libcublas.so.N in WEFT_CUBLAS_DIR (for PyTorch's copy, the "
      "`nvidia/cublas/lib` folder of its Python packages)",
      tried);
  return nullptr;
}

std::unique_ptr<Device> openCudaDevice(const std::string &ptx,
                                       unsigned kernelCount,
                                       std::string *error) {
  if (!cudaDeviceCount(error))
    return nullptr;
  void *driverLibrary = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  DriverApi driver{};
  if (!bindDriver(driverLibrary, driver, error)) {
    *error = "the CUDA driver (libcuda.so.1) is too old: " + *error;
    return nullptr;
  }
  void *blasLibrary = loadCublas(error);
  if (!blasLibrary)
    return nullptr;
  BlasApi blas{};
  if (!bind(blasLibrary, "cublasCreate_v2", blas.create, error) ||
      !bind(blasLibrary, "cublasSgemm_v2", blas.sgemm, error)) {
    *error = "cuBLAS is not usable: " + *error;
    return nullptr;
  }
  auto device = std::make_unique<CudaDevice>(driver, blas);
  if (!device->open(ptx, kernelCount, error))
    return nullptr;
  return device;
}

} // namespace weft::runtime

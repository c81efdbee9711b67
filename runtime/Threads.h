// How many threads the runtime's matrix products use. Takes a count, gives
// nothing back; the BLAS keeps it for the rest of the process.
#pragma once

namespace weft::runtime {

/// Sets the BLAS's thread count. Weft's own loops run on the calling
/// thread, so this is the number of cores a step uses.
void setComputeThreads(int threads);

} // namespace weft::runtime

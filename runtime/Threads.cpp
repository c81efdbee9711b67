// The BLAS thread count.
#include "runtime/Threads.h"

#include <cblas.h>

namespace weft::runtime {

void setComputeThreads(int threads) { openblas_set_num_threads(threads); }

} // namespace weft::runtime

// Haar-random orthogonal initialization (docs/orthogonal.md; stream layout in docs/stream-format.md,
// section "Orthogonal"). orthogonal() needs a LAPACK and is its own library target (sow_orthogonal)
// so that sow_core stays LAPACK-free; the other pieces are in sow_core. They are split so that the
// device backend (orthogonal_cuda in sow/cuda.hpp: cuSOLVER orgqr) reuses the validation, the plan
// and the definition of which stream elements feed which Householder vector:
//   plan_orthogonal      validates a call and says how the tensor splits into tall column-major
//                        problems (one per block);
//   block_fill_target    the fill_target that writes block b's Gaussian matrix into a column-major
//                        scratch matrix with sow::fill (or its device twin);
//   column_offsets       where each column of the (rows, cols) view lies in the output;
//   stewart_reflectors   turns that Gaussian matrix into Householder vectors, tau and the Haar
//                        signs, in place (host; the per-column arithmetic is
//                        sow/detail/householder.hpp, shared with the device);
//   orthogonal           the whole CPU path.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "sow/fill.hpp"

namespace sow {

/// How an orthogonal call maps onto LAPACK problems. The tensor is viewed as a (rows, cols) matrix,
/// rows = shape[0], cols = product of the other sizes, split along rows into `blocks` blocks of
/// `block_rows` rows. Each block is an independent (block_rows, cols) orthogonal matrix computed as
/// the column-major m x n matrix Q (m = max(block_rows, cols), n = min(...)) with orthonormal
/// columns: the block is Q itself when block_rows >= cols ("tall") and Q^T otherwise ("wide").
struct orthogonal_plan {
  std::int64_t rows = 0, cols = 0;
  std::int64_t blocks = 1, block_rows = 0;
  std::int64_t m = 0, n = 0;  // the tall problem, m >= n >= 1
  bool tall = true;           // block_rows >= cols
  dtype type = dtype::float32;
  dtype work = dtype::float32;  // working precision: float64 for float64 outputs, else float32
  double gain = 1.0;
};

/// Validates an orthogonal call (std::invalid_argument naming the problem): target with >= 2
/// dimensions, no zero sizes, no shard (global_shape/offsets empty or the whole tensor), strides that
/// are multiples of the item size, no overlapping elements; `blocks` >= 1 dividing rows; gain as
/// check_orthogonal_gain; m and n within LAPACK's 32-bit integers. `gain_name` names the gain in
/// errors (delta_orthogonal calls it "scale").
orthogonal_plan plan_orthogonal(const fill_target& target, double gain, std::int64_t blocks,
                                const char* gain_name = "gain");

/// The target checks orthogonal and delta_orthogonal share (std::invalid_argument naming
/// `initializer`): make_layout's, no shard (global_shape/offsets empty or the whole tensor), no
/// zero size.
void check_whole_target(const fill_target& target, const char* initializer);

/// Every check of delta_orthogonal(target, scale, ...) (3-5 dimensions, shape[-1] >= shape[-2],
/// check_whole_target, the tap's orthogonal checks with `scale` named); returns the centre tap, a
/// 2-D view of `target` whose spans point into target's shape and strides.
fill_target delta_orthogonal_tap(const fill_target& target, double scale);

/// What delta_orthogonal zeroes: one 2-D (in, out) plane of `target` per spatial position other
/// than the centre tap, in row-major order of the spatial index; spans point into target's. Host
/// and CUDA both write exactly these.
std::vector<fill_target> delta_orthogonal_zeros(const fill_target& target);

/// Refuses (std::invalid_argument naming `name`) a gain that is not finite or whose values would
/// overflow `type`: values are gain * q with |q| <= 1, so |gain| in the working precision
/// (float32 for float32/float16/bfloat16, float64 for float64), enlarged by 2^-16 for q's
/// rounding, must round to a finite `type` value (float16: |gain| < ~65519).
void check_orthogonal_gain(double gain, dtype type, const char* name = "gain");

/// Where block `b`'s Gaussian matrix goes when written by sow::fill into a column-major m x n
/// scratch matrix at `scratch` (lda = m) in the working precision: a 2-D view of the global
/// (rows, cols) matrix at rows [b*block_rows, (b+1)*block_rows), with strides that place element
/// (i, j) of the block at scratch[i + j*m] (tall) or scratch[j + i*m] (wide). `shape`, `strides`,
/// `gshape` and `offsets` are storage for the spans of the returned target.
struct block_view {
  std::array<std::int64_t, 2> shape, strides, gshape, offsets;
  fill_target target;
};
void block_fill_target(const orthogonal_plan& p, std::int64_t b, void* scratch, block_view& view);

/// Byte offset, from element (0, ..., 0), of column j of the (rows, cols) view of a validated
/// target: the offset of the element whose indices over dimensions 1.. flatten (row-major) to j.
std::vector<std::int64_t> column_offsets(const fill_target& target);

/// Stewart (1980): given a column-major m x n matrix `a` (lda = m, m >= n) of i.i.d. N(0, 1) values,
/// overwrites column k below the diagonal with the Householder vector v_k (v_k[0] = 1 implicit) that
/// maps a[k:m, k] to beta_k e_1 (LAPACK larfg convention: beta_k = -sign(a[k,k]) ||a[k:m,k]||), stores
/// tau_k, and sign[k] = sign(beta_k) (+1 for 0). Q = H_1 ... H_n (orgqr) times diag(sign) is then Haar
/// distributed: it has the distribution of the Q of the QR factorization (R with positive diagonal)
/// of an m x n Gaussian matrix. Norms are accumulated in float64. Each column is computed by one
/// thread in a fixed order, so the result does not depend on `threads` (0 = all hardware threads).
template <class T>
void stewart_reflectors(T* a, std::int64_t m, std::int64_t n, T* tau, T* sign, int threads = 0);

/// Writes gain times a Haar-random matrix with orthonormal rows (rows < cols) or columns into
/// `target`, block by block (see orthogonal_plan), from stream (seed, key, domain 0). float16 and
/// bfloat16 outputs are the float32 result rounded. Everything is validated before anything is
/// written. `threads` (0 = all hardware threads) sets the threads of the fill and of the LAPACK
/// calls; see docs/orthogonal.md for what it may change.
void orthogonal(const fill_target& target, double gain, std::uint64_t seed, std::uint64_t key,
                std::int64_t blocks = 1, int threads = 0);

/// JAX's delta_orthogonal for a 3-, 4- or 5-D kernel (*spatial, in, out), out >= in: zeros, except
/// the centre tap ((k1-1)/2, ...), which is orthogonal((in, out), scale) with (seed, key). The tap
/// is written first (orthogonal allocates all its scratch before its first store), then the other
/// taps are zeroed without allocating, so a failed allocation writes nothing. No shard.
void delta_orthogonal(const fill_target& target, double scale, std::uint64_t seed, std::uint64_t key,
                      int threads = 0);

/// The LAPACK this build calls, e.g. "OpenBLAS 0.3.34 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64".
std::string lapack_info();

}  // namespace sow

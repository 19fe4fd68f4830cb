// The LAPACK-free half of orthogonal initialization (sow/orthogonal.hpp): validation, the split
// into tall problems, and where each block's Gaussian matrix goes. Part of sow_core so that the
// CPU path (orthogonal.cpp, LAPACK) and the CUDA path (cuda/orthogonal.cu, cuSOLVER) share it.
#include <algorithm>
#include <climits>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "sow/detail/layout.hpp"
#include "sow/orthogonal.hpp"

namespace sow {

using detail::invalid;

void check_orthogonal_gain(double gain, dtype type, const char* name) {
  const std::string n = name;
  if (!std::isfinite(gain)) invalid(n + " must be finite, got " + detail::repr(gain));
  // Values are gain * q, rounded once in the working type, with |q| <= 1 up to rounding (orgqr
  // does not promise more; measured: max |q| = 1 exactly over 33000 float32 matrices of up to 8
  // elements, where entries come nearest 1): so |gain| in the working type, enlarged by a margin
  // of 2^-16, must be stored finite (docs/orthogonal.md). The margin costs only gains within
  // 2^-16 of the overflow threshold.
  const bool f64 = type == dtype::float64;
  const double wide = f64 ? std::abs(gain) * (1 + 0x1p-16)
                          : static_cast<double>(std::abs(static_cast<float>(gain)) * (1 + 0x1p-16f));
  if (detail::stores_non_finite(wide, type))
    invalid(n + "=" + detail::repr(gain) + " is too large for " + detail::dtype_name(type) + ": orthogonal values reach |" +
            n + "| (|q| <= 1), beyond " + detail::dtype_name(type) + "'s largest finite value " +
            detail::repr(detail::dtype_max(type)) + (f64 ? "" : "; use dtype float64 for larger gains"));
}

void check_whole_target(const fill_target& t, const char* initializer) {
  const std::string who(initializer);
  detail::make_layout(t);  // shape, strides (no overlap, no zero stride), shard bounds, 2^56, pointer
  const std::size_t nd = t.shape.size();
  const bool sharded = !t.global_shape.empty() || !t.offsets.empty();
  if (sharded)
    for (std::size_t k = 0; k < nd; ++k)
      if (t.global_shape[k] != t.shape[k] || t.offsets[k] != 0)
        invalid(who + " does not take a shard: every value depends on the whole matrix");
  for (std::size_t k = 0; k < nd; ++k)
    if (t.shape[k] == 0) invalid(who + " needs a non-empty tensor, got size 0 in dimension " + std::to_string(k));
}

fill_target delta_orthogonal_tap(const fill_target& target, double scale) {
  const std::size_t nd = target.shape.size();
  if (nd < 3 || nd > 5)
    invalid("delta_orthogonal requires a 3D, 4D or 5D shape, got " + std::to_string(nd) + " dimensions");
  check_whole_target(target, "delta_orthogonal");
  if (target.shape[nd - 1] < target.shape[nd - 2])
    invalid("delta_orthogonal needs shape[-1] >= shape[-2] (fan_in <= fan_out)");
  std::int64_t centre = 0;
  for (std::size_t k = 0; k + 2 < nd; ++k) centre += (target.shape[k] - 1) / 2 * target.strides[k];
  fill_target tap;
  tap.data = static_cast<unsigned char*>(target.data) + centre;
  tap.type = target.type;
  tap.shape = target.shape.subspan(nd - 2);
  tap.strides = target.strides.subspan(nd - 2);
  plan_orthogonal(tap, scale, 1, "scale");  // the tap's checks: pointer, strides, scale's range
  return tap;
}

std::vector<fill_target> delta_orthogonal_zeros(const fill_target& target) {
  const std::size_t nd = target.shape.size(), ns = nd - 2;
  std::vector<fill_target> planes;
  std::vector<std::int64_t> idx(ns, 0);
  for (;;) {
    std::int64_t off = 0;
    bool is_centre = true;
    for (std::size_t k = 0; k < ns; ++k) {
      off += idx[k] * target.strides[k];
      is_centre = is_centre && idx[k] == (target.shape[k] - 1) / 2;
    }
    if (!is_centre) {
      fill_target pl;
      pl.data = static_cast<unsigned char*>(target.data) + off;
      pl.type = target.type;
      pl.shape = target.shape.subspan(ns);
      pl.strides = target.strides.subspan(ns);
      planes.push_back(pl);
    }
    std::size_t k = ns;
    while (k > 0 && ++idx[k - 1] == target.shape[k - 1]) idx[--k] = 0;
    if (k == 0) break;
  }
  return planes;
}

orthogonal_plan plan_orthogonal(const fill_target& t, double gain, std::int64_t blocks, const char* gain_name) {
  const std::size_t nd = t.shape.size();
  if (nd < 2) invalid("orthogonal needs a tensor with 2 or more dimensions, got " + std::to_string(nd));
  check_whole_target(t, "orthogonal");
  check_orthogonal_gain(gain, t.type, gain_name);
  orthogonal_plan p;
  p.rows = t.shape[0];
  p.cols = 1;
  for (std::size_t k = 1; k < nd; ++k) p.cols *= t.shape[k];  // no overflow: checked by make_layout
  if (blocks < 1) invalid("blocks must be >= 1, got " + std::to_string(blocks));
  if (p.rows % blocks != 0)
    invalid("blocks=" + std::to_string(blocks) + " must divide shape[0]=" + std::to_string(p.rows));
  p.blocks = blocks;
  p.block_rows = p.rows / blocks;
  p.tall = p.block_rows >= p.cols;
  p.m = std::max(p.block_rows, p.cols);
  p.n = std::min(p.block_rows, p.cols);
  if (p.m > INT_MAX) invalid("orthogonal: a block's larger side " + std::to_string(p.m) + " exceeds LAPACK's 2^31 - 1");
  p.type = t.type;
  p.work = t.type == dtype::float64 ? dtype::float64 : dtype::float32;
  p.gain = gain;
  return p;
}

void block_fill_target(const orthogonal_plan& p, std::int64_t b, void* scratch, block_view& v) {
  const std::int64_t item = static_cast<std::int64_t>(itemsize(p.work));
  v.shape = {p.block_rows, p.cols};
  v.gshape = {p.rows, p.cols};
  v.offsets = {b * p.block_rows, 0};
  v.strides = p.tall ? std::array<std::int64_t, 2>{item, item * p.m} : std::array<std::int64_t, 2>{item * p.m, item};
  v.target.data = scratch;
  v.target.type = p.work;
  v.target.shape = v.shape;
  v.target.strides = v.strides;
  v.target.global_shape = v.gshape;
  v.target.offsets = v.offsets;
}

std::vector<std::int64_t> column_offsets(const fill_target& t) {
  const std::size_t nd = t.shape.size();
  std::int64_t cols = 1;
  for (std::size_t d = 1; d < nd; ++d) cols *= t.shape[d];
  std::vector<std::int64_t> off(static_cast<std::size_t>(cols));
  std::vector<std::int64_t> idx(nd, 0);
  std::int64_t o = 0;
  for (std::int64_t j = 0; j < cols; ++j) {
    off[static_cast<std::size_t>(j)] = o;
    for (std::size_t d = nd; d-- > 1;) {  // increment the multi-index over dimensions 1..nd-1
      if (++idx[d] < t.shape[d]) {
        o += t.strides[d];
        break;
      }
      o -= (idx[d] - 1) * t.strides[d];
      idx[d] = 0;
    }
  }
  return off;
}

}  // namespace sow

// Plans (sow/plan.hpp): specs resolved by name through the initializer table, every item checked
// before anything is written, then one parallel pass over the elementwise items.
#include "sow/plan.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "sow/detail/layout.hpp"
#include "init/sparse_pending.hpp"
#include "plan_backend.hpp"
#include "sow/detail/cuda_plan_backend.hpp"
#include "sow/orthogonal.hpp"
#include "sow/round.hpp"

namespace sow {

using detail::invalid;

init_spec& init_spec::put(std::string_view param, param_value v) {
  for (auto& [k, old] : params)
    if (k == param) {
      old = std::move(v);
      return *this;
    }
  params.emplace_back(std::string(param), std::move(v));
  return *this;
}

// --- the initializer table ----------------------------------------------------------------------

const std::vector<init_info>& init_names() {
  using P = init_param_info;
  using K = param_kind;
  static const std::vector<init_info> table = [] {
    const std::vector<P> fans = {{"fan_in", K::integer, std::nullopt},
                                 {"fan_out", K::integer, std::nullopt},
                                 {"layout", K::string, std::string("torch")}};
    auto with_fans = [&](std::vector<P> ps) {
      ps.insert(ps.end(), fans.begin(), fans.end());
      return ps;
    };
    const std::vector<P> kaiming = with_fans({{"a", K::real, 0.0},
                                              {"mode", K::string, std::string("fan_in")},
                                              {"nonlinearity", K::string, std::string("leaky_relu")}});
    return std::vector<init_info>{
        {"uniform", true, true, true, {{"a", K::real, 0.0}, {"b", K::real, 1.0}}},
        {"normal", true, true, true, {{"mean", K::real, 0.0}, {"std", K::real, 1.0}}},
        {"trunc_normal", true, true, true,
         {{"mean", K::real, 0.0}, {"std", K::real, 1.0}, {"a", K::real, -2.0}, {"b", K::real, 2.0}}},
        {"constant", false, true, true, {{"val", K::real, std::nullopt, true}}},
        {"ones", false, true, true, {}},
        {"zeros", false, true, true, {}},
        {"eye", false, false, true, {}},
        {"dirac", false, false, true, {{"groups", K::integer, std::int64_t{1}}}},
        {"xavier_uniform", true, true, true, with_fans({{"gain", K::real, 1.0}})},
        {"xavier_normal", true, true, true, with_fans({{"gain", K::real, 1.0}})},
        {"kaiming_uniform", true, true, true, kaiming},
        {"kaiming_normal", true, true, true, kaiming},
        {"lecun_uniform", true, true, true, fans},
        {"lecun_normal", true, true, true, fans},
        {"variance_scaling", true, true, true,
         with_fans({{"scale", K::real, 1.0},
                    {"mode", K::string, std::string("fan_in")},
                    {"distribution", K::string, std::string("truncated_normal")}})},
        {"sparse", true, false, true, {{"sparsity", K::real, std::nullopt, true}, {"std", K::real, 0.01}}},
        {"orthogonal", true, false, false, {{"gain", K::real, 1.0}, {"blocks", K::integer, std::int64_t{1}}}},
        {"delta_orthogonal", true, false, false, {{"scale", K::real, 1.0}}},
    };
  }();
  return table;
}

namespace detail {
namespace {
std::mutex& backend_mutex() {
  static std::mutex m;
  return m;
}
orthogonal_backend& backend_slot() {
  static orthogonal_backend b{};
  return b;
}
}  // namespace

void set_orthogonal_backend(const orthogonal_backend& b) {
  std::lock_guard<std::mutex> lock(backend_mutex());
  backend_slot() = b;
}

orthogonal_backend get_orthogonal_backend() {
  std::lock_guard<std::mutex> lock(backend_mutex());
  return backend_slot();
}

namespace {
cuda_backend& cuda_slot() {
  static cuda_backend b{};
  return b;
}
}  // namespace

void set_cuda_backend(const cuda_backend& b) {
  std::lock_guard<std::mutex> lock(backend_mutex());
  cuda_slot() = b;
}

cuda_backend get_cuda_backend() {
  std::lock_guard<std::mutex> lock(backend_mutex());
  return cuda_slot();
}
}  // namespace detail

namespace {

// --- binding a spec to the table --------------------------------------------------------------

const char* kind_name(param_kind k) {
  return k == param_kind::real ? "a real number" : k == param_kind::integer ? "an int" : "a str";
}

std::string join_params(const init_info& info) {
  std::string s;
  for (const auto& p : info.params) s += (s.empty() ? "" : ", ") + std::string(p.name);
  return s.empty() ? "none" : s;
}

struct bound_spec {
  const init_info* info = nullptr;
  std::vector<std::optional<param_value>> values;  // in table order

  const std::optional<param_value>& get(std::string_view n) const {
    for (std::size_t i = 0; i < info->params.size(); ++i)
      if (info->params[i].name == n) return values[i];
    throw std::logic_error("sow plan: no parameter " + std::string(n));  // table bug
  }
  double real(std::string_view n) const {
    const auto& v = get(n);
    return std::holds_alternative<double>(*v) ? std::get<double>(*v) : static_cast<double>(std::get<std::int64_t>(*v));
  }
  std::int64_t integer(std::string_view n) const { return std::get<std::int64_t>(*get(n)); }
  std::string str(std::string_view n) const { return std::get<std::string>(*get(n)); }
  std::optional<std::int64_t> opt_int(std::string_view n) const {
    const auto& v = get(n);
    return v ? std::optional<std::int64_t>(std::get<std::int64_t>(*v)) : std::nullopt;
  }
};

bound_spec bind(const init_spec& spec) {
  bound_spec b;
  for (const auto& info : init_names())
    if (spec.name == info.name) b.info = &info;
  if (!b.info) {
    std::string names;
    for (const auto& info : init_names()) names += (names.empty() ? "" : ", ") + std::string(info.name);
    invalid("unknown initializer '" + spec.name + "' (one of " + names + ")");
  }
  const init_info& info = *b.info;
  b.values.resize(info.params.size());
  for (const auto& [key, value] : spec.params) {
    std::size_t i = 0;
    while (i < info.params.size() && info.params[i].name != key) ++i;
    if (i == info.params.size())
      invalid(spec.name + " has no parameter '" + key + "' (its parameters: " + join_params(info) + ")");
    if (b.values[i]) invalid(spec.name + ": parameter '" + key + "' given twice");
    const param_kind want = info.params[i].kind;
    const bool ok = (want == param_kind::real && !std::holds_alternative<std::string>(value)) ||
                    (want == param_kind::integer && std::holds_alternative<std::int64_t>(value)) ||
                    (want == param_kind::string && std::holds_alternative<std::string>(value));
    if (!ok) invalid(spec.name + ": " + key + " must be " + kind_name(want));
    b.values[i] = value;
  }
  for (std::size_t i = 0; i < info.params.size(); ++i)
    if (!b.values[i]) {
      if (info.params[i].required) invalid(spec.name + " needs the parameter '" + std::string(info.params[i].name) + "'");
      b.values[i] = info.params[i].default_value;
    }
  return b;
}

// --- resolution: spec + global shape + dtype -> what to write ------------------------------------

enum class op { elementwise, eye, dirac, sparse, orthogonal, delta_orthogonal };

struct resolved {
  op kind = op::elementwise;
  dist d;                 // elementwise; sparse's values
  double sparsity = 0;    // sparse
  double std = 0;         // sparse
  double gain = 1;        // orthogonal / delta_orthogonal
  std::int64_t groups = 1, blocks = 1;
};

bool has_param(const init_info& info, std::string_view n) {
  for (const auto& p : info.params)
    if (p.name == n) return true;
  return false;
}

resolved resolve(const bound_spec& b, std::span<const std::int64_t> g, dtype type) {
  const std::string name = b.info->name;
  resolved r;
  std::string layout;
  fan_options f;
  if (has_param(*b.info, "layout")) {
    layout = b.str("layout");
    f = {b.opt_int("fan_in"), b.opt_int("fan_out"), layout};
  }
  auto checked = [&](dist d, const char* param, double value) {
    dist_origin o;
    if (param) {
      o.initializer = b.info->name;
      o.param = param;
      o.value = value;
    } else if (has_param(*b.info, "layout")) {
      o.initializer = b.info->name;  // lecun_*: the initializer has no parameter of its own
    }
    check_dist(d, type, 0, o);
    return d;
  };
  if (name == "uniform") r.d = checked(uniform_dist(b.real("a"), b.real("b")), nullptr, 0);
  else if (name == "normal") r.d = checked(normal_dist(b.real("mean"), b.real("std")), nullptr, 0);
  else if (name == "trunc_normal")
    r.d = checked(trunc_normal_dist(b.real("mean"), b.real("std"), b.real("a"), b.real("b")), nullptr, 0);
  else if (name == "constant") {
    const double v = b.real("val");
    if (!std::isfinite(v)) invalid("val must be finite, got " + std::to_string(v));
    r.d = checked(dist::constant(v), nullptr, 0);
  } else if (name == "ones") r.d = dist::constant(1.0);
  else if (name == "zeros") r.d = dist::constant(0.0);
  else if (name == "xavier_uniform")
    r.d = checked(xavier_uniform_dist(g, b.real("gain"), f), "gain", b.real("gain"));
  else if (name == "xavier_normal")
    r.d = checked(xavier_normal_dist(g, b.real("gain"), f), "gain", b.real("gain"));
  else if (name == "kaiming_uniform")
    r.d = checked(kaiming_uniform_dist(g, b.real("a"), b.str("mode"), b.str("nonlinearity"), f), "a", b.real("a"));
  else if (name == "kaiming_normal")
    r.d = checked(kaiming_normal_dist(g, b.real("a"), b.str("mode"), b.str("nonlinearity"), f), "a", b.real("a"));
  else if (name == "lecun_uniform") r.d = checked(lecun_uniform_dist(g, f), nullptr, 0);
  else if (name == "lecun_normal") r.d = checked(lecun_normal_dist(g, f), nullptr, 0);
  else if (name == "variance_scaling")
    r.d = checked(variance_scaling_dist(g, b.real("scale"), b.str("mode"), b.str("distribution"), f), "scale",
                  b.real("scale"));
  else if (name == "eye") r.kind = op::eye;
  else if (name == "dirac") {
    r.kind = op::dirac;
    r.groups = b.integer("groups");
  } else if (name == "sparse") {
    r.kind = op::sparse;
    r.sparsity = b.real("sparsity");
    r.std = b.real("std");
  } else if (name == "orthogonal") {
    r.kind = op::orthogonal;
    r.gain = b.real("gain");
    r.blocks = b.integer("blocks");
  } else if (name == "delta_orthogonal") {
    r.kind = op::delta_orthogonal;
    r.gain = b.real("scale");
  }
  return r;
}

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string describe(const resolved& r, const std::string& name) {
  switch (r.kind) {
    case op::elementwise:
      switch (r.d.kind) {
        case dist_kind::uniform: return "uniform(a=" + fmt(r.d.p0) + ", b=" + fmt(r.d.p1) + ")";
        case dist_kind::normal: return "normal(mean=" + fmt(r.d.p0) + ", std=" + fmt(r.d.p1) + ")";
        case dist_kind::trunc_normal:
          return "trunc_normal(mean=" + fmt(r.d.p0) + ", std=" + fmt(r.d.p1) + ", a=" + fmt(r.d.p2) + ", b=" +
                 fmt(r.d.p3) + ")";
        case dist_kind::constant: return "constant(val=" + fmt(r.d.p0) + ")";
      }
      break;
    case op::eye: return "eye()";
    case op::dirac: return "dirac(groups=" + std::to_string(r.groups) + ")";
    case op::sparse: return "sparse(sparsity=" + fmt(r.sparsity) + ", std=" + fmt(r.std) + ")";
    case op::orthogonal: return "orthogonal(gain=" + fmt(r.gain) + ", blocks=" + std::to_string(r.blocks) + ")";
    case op::delta_orthogonal: return "delta_orthogonal(scale=" + fmt(r.gain) + ")";
  }
  return name;
}

// --- checked items ---------------------------------------------------------------------------------

// Bump storage for the small arrays of a checked plan (strides, offsets, boxes): a model's plan
// has thousands of items of a few dimensions each, and one allocation per few thousand of them
// instead of several per item is most of what makes validation cheap. Blocks never move, so spans
// into them stay valid for the arena's life.
template <class T>
class arena {
 public:
  std::span<T> take(std::size_t n) {
    if (n == 0) return {};
    if (n > cap_ - used_) {
      cap_ = std::max<std::size_t>(n, 4096);
      blocks_.push_back(std::make_unique<T[]>(cap_));
      used_ = 0;
    }
    T* p = blocks_.back().get() + used_;
    used_ += n;
    return {p, n};
  }

 private:
  std::vector<std::unique_ptr<T[]>> blocks_;
  std::size_t used_ = 0, cap_ = 0;
};

// A box of an item: a shard in the usual sense (offsets into the global shape) at byte `mem` from
// the item's data.
struct box {
  std::span<const std::int64_t> offsets, sizes;
  std::int64_t mem = 0;
};

// An item after its checks. Its arrays point into the plan's own item or into the arenas of the
// checked_plan that made it.
struct checked_item {
  const plan_item* item = nullptr;
  resolved r;
  std::span<const std::int64_t> strides, gshape;
  std::span<const box> boxes;  // one for a box placement
  std::uint64_t elements = 0;
  std::uint64_t seed = 0;
  bool reused = false;  // r is the previous item's resolution (same spec, global shape and dtype)

  fill_target target_of(const box& b) const {
    fill_target t;
    t.data = static_cast<unsigned char*>(item->target.data) + b.mem;
    t.type = item->target.type;
    t.shape = b.sizes;
    t.strides = strides;
    t.global_shape = gshape;
    t.offsets = b.offsets;
    return t;
  }
  tensor_ref ref_of(const box& b) const {
    auto vec = [](std::span<const std::int64_t> s) { return std::vector<std::int64_t>(s.begin(), s.end()); };
    tensor_ref t(static_cast<unsigned char*>(item->target.data) + b.mem, item->target.type, vec(b.sizes), vec(strides));
    t.shard(vec(gshape), vec(b.offsets));
    return t;
  }
};

struct checked_plan {
  arena<std::int64_t> ints;
  arena<box> boxes;
  std::vector<checked_item> items;
};

std::string label(const plan& p, std::size_t i) {
  const std::string& n = p.items()[i].name;
  return "items[" + std::to_string(i) + "]" + (n.empty() ? "" : " (" + n + ")");
}

std::span<const std::int64_t> c_strides(std::span<const std::int64_t> shape, dtype type, arena<std::int64_t>& a) {
  const std::span<std::int64_t> s = a.take(shape.size());
  std::int64_t acc = static_cast<std::int64_t>(itemsize(type));
  for (std::size_t k = shape.size(); k-- > 0;) {
    s[k] = acc;
    acc *= std::max<std::int64_t>(shape[k], 1);
  }
  return s;
}

// Runs of consecutive global indices in one dimension's index set: (local start, global start, n).
struct run {
  std::int64_t local, global, n;
};

std::vector<run> runs_of(const std::vector<std::int64_t>& idx, std::int64_t global_size, std::size_t dim) {
  std::vector<run> rs;
  for (std::size_t j = 0; j < idx.size(); ++j) {
    const std::int64_t v = idx[j];
    if (v < 0 || v >= global_size)
      invalid("index[" + std::to_string(dim) + "][" + std::to_string(j) + "] = " + std::to_string(v) +
              " lies outside the global size " + std::to_string(global_size));
    if (j > 0 && v <= idx[j - 1])
      invalid("index[" + std::to_string(dim) + "] must be strictly increasing (position " + std::to_string(j) + ")");
    if (!rs.empty() && rs.back().global + rs.back().n == v)
      ++rs.back().n;
    else
      rs.push_back({static_cast<std::int64_t>(j), v, 1});
  }
  return rs;
}

// The address memory-less items are checked at: aligned for every dtype, far from both ends of
// the address space. Never dereferenced.
void* const stand_in = reinterpret_cast<void*>(std::uintptr_t{1} << 40);

// Whether `a` resolves exactly as `b` did: same spec, global shape and dtype (a model's plan repeats
// a few specs thousands of times; resolving one costs microseconds, comparing it nanoseconds).
bool same_resolution(const plan_item& a, const checked_item& b, std::span<const std::int64_t> gshape) {
  return a.spec.name == b.item->spec.name && a.spec.params == b.item->spec.params &&
         a.target.type == b.item->target.type && std::equal(gshape.begin(), gshape.end(), b.gshape.begin(), b.gshape.end());
}

// The boxes of an index-set placement: the cartesian product of each dimension's runs.
std::span<const box> index_boxes(const plan_item& it, const checked_item& c, std::span<const std::int64_t> off,
                                 checked_plan& cp) {
  const plan_target& t = it.target;
  const std::size_t nd = t.shape.size();
  std::vector<std::vector<run>> dims(nd);
  for (std::size_t d = 0; d < nd; ++d) {
    if (!it.where.index[d].empty()) {
      if (off[d] != 0) invalid("dimension " + std::to_string(d) + " has both an offset and an index set");
      if (static_cast<std::int64_t>(it.where.index[d].size()) != t.shape[d])
        invalid("index[" + std::to_string(d) + "] has " + std::to_string(it.where.index[d].size()) +
                " entries for a local size " + std::to_string(t.shape[d]));
      dims[d] = runs_of(it.where.index[d], c.gshape[d], d);
    } else {
      dims[d] = {{0, off[d], t.shape[d]}};
    }
  }
  const bool whole =
      c.elements == 0 || std::all_of(dims.begin(), dims.end(), [](const auto& v) { return v.size() == 1; });
  std::size_t count = 1;
  if (!whole)
    for (const auto& v : dims) count *= v.size();
  const std::span<box> out = cp.boxes.take(count);
  std::vector<std::size_t> pos(nd, 0);
  for (box& bx : out) {
    const std::span<std::int64_t> offsets = cp.ints.take(nd), sizes = cp.ints.take(nd);
    for (std::size_t d = 0; d < nd; ++d) {
      const run& r = dims[d].empty() ? run{0, 0, 0} : dims[d][pos[d]];
      offsets[d] = r.global;
      sizes[d] = r.n;
      bx.mem += r.local * c.strides[d];
    }
    bx.offsets = offsets;
    bx.sizes = sizes;
    std::size_t d = nd;
    while (d > 0 && ++pos[d - 1] >= dims[d - 1].size()) pos[--d] = 0;
  }
  return out;
}

checked_item check_item(const plan& p, std::size_t i, checked_plan& cp, const checked_item* prev = nullptr) {
  const plan_item& it = p.items()[i];
  checked_item c;
  c.item = &it;
  c.seed = p.seed();
  const plan_target& t = it.target;
  const std::size_t nd = t.shape.size();
  detail::check_sizes(t.shape, "shape");
  if (t.where == plan_target::kind::buffer) {
    if (!t.strides.empty()) invalid("a buffer item is C-contiguous: give no strides");
    if (!it.where.index.empty()) invalid("a buffer item takes a box placement (offsets), not index sets");
  }
  if (t.where == plan_target::kind::device) {
    if (t.device < 0) invalid("a CUDA item needs a device ordinal >= 0, got " + std::to_string(t.device));
    if (!detail::get_cuda_backend().fill_batch)
      invalid("a CUDA item needs sow built with CUDA (sow::cuda), which is not linked");
  }
  c.strides = t.strides.empty() ? c_strides(t.shape, t.type, cp.ints) : std::span<const std::int64_t>(t.strides);
  if (c.strides.size() != nd) invalid("strides must have one entry per dimension");
  c.gshape = it.where.global_shape.empty() ? t.shape : it.where.global_shape;
  if (c.gshape.size() != nd)
    invalid("global_shape has " + std::to_string(c.gshape.size()) + " dimensions, the target " + std::to_string(nd));
  detail::check_sizes(c.gshape, "global_shape");
  std::span<const std::int64_t> off = it.where.offsets;
  if (off.empty()) {
    const std::span<std::int64_t> zeros = cp.ints.take(nd);
    std::fill(zeros.begin(), zeros.end(), 0);
    off = zeros;
  }
  if (off.size() != nd) invalid("offsets must have one entry per dimension");
  if (!it.where.index.empty() && it.where.index.size() != nd)
    invalid("index must have one entry (possibly empty) per dimension");
  const std::string& init = it.spec.name;
  if (prev && same_resolution(it, *prev, c.gshape)) {
    c.r = prev->r;
    c.reused = true;
  } else {
    const bound_spec b = bind(it.spec);
    // A zero-element tensor is a no-op, as in torch: its fans may be 0, so a scaled initializer's
    // parameters are checked against a (1, 1, ...) stand-in (python/sow/init.py does the same).
    const bool empty_global = std::find(c.gshape.begin(), c.gshape.end(), 0) != c.gshape.end();
    if (empty_global && has_param(*b.info, "layout") && (nd >= 2 || std::string_view(b.info->name).starts_with("kaiming"))) {
      const std::vector<std::int64_t> ones(std::max<std::size_t>(nd, 2), 1);
      (void)resolve(b, ones, t.type);
      c.r.d = dist::constant(0.0);
    } else {
      c.r = resolve(b, c.gshape, t.type);
    }
  }
  c.elements = 1;
  for (const auto n : t.shape) c.elements *= static_cast<std::uint64_t>(n);
  // The local memory on its own: alignment, no overlap, address range (make_layout's memory
  // checks; the sizes and the strides' count were checked above).
  if (t.where != plan_target::kind::buffer)
    detail::check_memory(t.where == plan_target::kind::none ? stand_in : t.data,
                         static_cast<std::int64_t>(itemsize(t.type)), t.shape, c.strides);
  const bool listed =
      std::any_of(it.where.index.begin(), it.where.index.end(), [](const auto& v) { return !v.empty(); });
  if (listed) {
    c.boxes = index_boxes(it, c, off, cp);
  } else {
    const std::span<box> one = cp.boxes.take(1);
    one[0] = {off, t.shape, 0};
    c.boxes = one;
  }
  // Each box as its initializer checks a shard (bounds; eye's rank, dirac's groups, ...).
  // A meta item is checked as host memory at a stand-in address; a buffer item as memory too,
  // except for what only real memory has (make_layout's memory checks).
  const bool host = t.where != plan_target::kind::buffer;
  // An unsharded item in memory is its one box at offsets 0 of a global shape equal to its own:
  // make_layout would check nothing that the checks above have not (sizes, strides, memory).
  const bool whole_in_memory = host && !listed &&
                               std::equal(c.gshape.begin(), c.gshape.end(), t.shape.begin(), t.shape.end()) &&
                               std::all_of(off.begin(), off.end(), [](std::int64_t o) { return o == 0; });
  for (const box& bx : c.boxes) {
    fill_target ft = c.target_of(bx);
    if (t.where == plan_target::kind::none || t.where == plan_target::kind::buffer)
      ft.data = static_cast<unsigned char*>(stand_in) + bx.mem;
    switch (c.r.kind) {
      case op::elementwise:
        if (!whole_in_memory) (void)detail::make_layout(ft, host);
        break;
      case op::eye:
      case op::dirac:
      case op::sparse: {
        tensor_ref tr = c.ref_of(bx);
        tr.data = ft.data;
        if (!host) (void)detail::make_layout(ft, false);
        if (c.r.kind == op::eye) check_eye(tr);
        if (c.r.kind == op::dirac) check_dirac(tr, c.r.groups);
        if (c.r.kind == op::sparse) {
          if (!host) invalid("sparse items need host memory (buffer items take elementwise, eye and dirac specs)");
          check_sparse(tr, c.r.sparsity, c.r.std);
        }
        break;
      }
      case op::orthogonal:
      case op::delta_orthogonal: {
        if (!host) invalid(init + " items need host memory");
        if (c.r.kind == op::orthogonal)
          (void)plan_orthogonal(ft, c.r.gain, c.r.blocks);
        else
          (void)delta_orthogonal_tap(ft, c.r.gain);
        if (t.where == plan_target::kind::device) {
          if (!detail::get_cuda_backend().orthogonal) invalid(init + " on CUDA needs sow::cuda, which is not linked");
        } else if (!detail::get_orthogonal_backend().orthogonal) {
          invalid(init + " needs sow's LAPACK backend (sow::orthogonal), which is not linked");
        }
        break;
      }
    }
  }
  return c;
}

// --- overlap between items -------------------------------------------------------------------------

struct span_of {
  std::uintptr_t lo, hi;  // bytes [lo, hi)
  std::size_t item;
};

span_of byte_span(const checked_item& c, std::size_t i) {
  const auto base = reinterpret_cast<std::uintptr_t>(c.item->target.data);
  std::int64_t lo = 0, hi = 0;
  for (std::size_t d = 0; d < c.strides.size(); ++d) {
    const std::int64_t ext = (c.item->target.shape[d] - 1) * c.strides[d];
    (ext < 0 ? lo : hi) += ext;
  }
  return {base + static_cast<std::uintptr_t>(lo), base + static_cast<std::uintptr_t>(hi) + itemsize(c.item->target.type), i};
}

// Exact for the common case of views of one strided tensor (w[:, :d] and w[:, d:]): both are
// boxes in one mixed-radix lattice of their (positive, nested, dividing) strides, where an address
// has one coordinate vector, so they are disjoint iff their boxes are. Otherwise: not proven.
bool provably_disjoint(const checked_item& a, const checked_item& b) {
  if (a.item->target.type != b.item->target.type) return false;
  const auto item = static_cast<std::int64_t>(itemsize(a.item->target.type));
  std::vector<std::int64_t> S;
  for (const checked_item* c : {&a, &b})
    for (std::size_t d = 0; d < c->strides.size(); ++d)
      if (c->item->target.shape[d] > 1) {
        if (c->strides[d] <= 0) return false;
        S.push_back(c->strides[d]);
      }
  std::sort(S.begin(), S.end(), std::greater<>());
  S.erase(std::unique(S.begin(), S.end()), S.end());
  if (S.empty() || S.back() < item) return false;
  for (std::size_t k = 1; k < S.size(); ++k)
    if (S[k - 1] % S[k] != 0) return false;
  const auto pa = reinterpret_cast<std::uintptr_t>(a.item->target.data), pb = reinterpret_cast<std::uintptr_t>(b.item->target.data);
  const std::uintptr_t lo = std::min(pa, pb);
  struct coords {
    std::vector<std::int64_t> start, ext;
    std::int64_t rem = 0;
  };
  auto place = [&](const checked_item& c, std::uintptr_t p, coords& out) {
    out.start.assign(S.size(), 0);
    out.ext.assign(S.size(), 1);
    auto delta = static_cast<std::int64_t>(p - lo);
    for (std::size_t k = 0; k < S.size(); ++k) {
      out.start[k] = delta / S[k];
      delta %= S[k];
    }
    out.rem = delta;
    for (std::size_t d = 0; d < c.strides.size(); ++d)
      if (c.item->target.shape[d] > 1) {
        const auto k = static_cast<std::size_t>(std::find(S.begin(), S.end(), c.strides[d]) - S.begin());
        out.ext[k] = c.item->target.shape[d];
      }
    for (std::size_t k = 1; k < S.size(); ++k)  // the box must stay inside its radix: no carry
      if (out.start[k] + out.ext[k] > S[k - 1] / S[k]) return false;
    return true;
  };
  coords ca, cb;
  if (!place(a, pa, ca) || !place(b, pb, cb) || ca.rem != cb.rem) return false;
  for (std::size_t k = 0; k < S.size(); ++k)
    if (ca.start[k] + ca.ext[k] <= cb.start[k] || cb.start[k] + cb.ext[k] <= ca.start[k]) return true;
  return false;
}

bool writes_memory(const plan_item& it) {
  return it.target.where == plan_target::kind::host || it.target.where == plan_target::kind::device;
}

void check_no_overlap(const plan& p, const std::vector<checked_item>& items) {
  std::vector<span_of> spans;
  for (std::size_t i = 0; i < items.size(); ++i)
    if (writes_memory(*items[i].item) && items[i].elements > 0)
      spans.push_back(byte_span(items[i], i));
  std::sort(spans.begin(), spans.end(), [](const span_of& x, const span_of& y) { return x.lo < y.lo; });
  std::vector<span_of> active;  // spans that may still overlap later ones
  for (const span_of& s : spans) {
    std::erase_if(active, [&](const span_of& a) { return a.hi <= s.lo; });
    for (const span_of& a : active)
      if (!provably_disjoint(items[a.item], items[s.item])) {
        const std::size_t i = std::min(a.item, s.item), j = std::max(a.item, s.item);
        invalid(label(p, j) + ": overlaps " + label(p, i) +
                " in memory (two items may not share an element; views of one tensor are accepted when "
                "they are disjoint boxes of its strides)");
      }
    active.push_back(s);
  }
}

checked_plan check_all(const plan& p) {
  checked_plan cp;
  cp.items.reserve(p.size());
  for (std::size_t i = 0; i < p.size(); ++i) {
    try {
      cp.items.push_back(check_item(p, i, cp, cp.items.empty() ? nullptr : &cp.items.back()));
    } catch (const std::invalid_argument& e) {
      invalid(label(p, i) + ": " + e.what());
    }
  }
  check_no_overlap(p, cp.items);
  return cp;
}

// --- ones of eye/dirac, for buffer items ------------------------------------------------------------

// Global positions of the ones of eye/dirac inside box `bx` of `c`, as local flat indices
// (row-major over the box sizes), O(ones in the box).
std::vector<std::uint64_t> ones_in_box(const checked_item& c, const box& bx) {
  std::vector<std::uint64_t> out;
  const auto& g = c.gshape;
  const std::size_t nd = g.size();
  std::vector<std::uint64_t> lstride(nd, 1);
  for (std::size_t k = nd; k-- > 1;) lstride[k - 1] = lstride[k] * static_cast<std::uint64_t>(bx.sizes[k]);
  auto add = [&](const std::vector<std::int64_t>& idx) {
    std::uint64_t f = 0;
    for (std::size_t k = 0; k < nd; ++k) {
      const std::int64_t l = idx[k] - bx.offsets[k];
      if (l < 0 || l >= bx.sizes[k]) return;
      f += static_cast<std::uint64_t>(l) * lstride[k];
    }
    out.push_back(f);
  };
  std::vector<std::int64_t> idx(nd);
  const std::int64_t r0 = bx.offsets[0], r1 = r0 + bx.sizes[0], c0 = bx.offsets[1], c1 = c0 + bx.sizes[1];
  if (c.r.kind == op::eye) {
    for (std::int64_t d = std::max(r0, c0); d < std::min(r1, c1); ++d) add({d, d});
    return out;
  }
  const std::int64_t per_group = g[0] / c.r.groups, min_dim = std::min(per_group, g[1]);
  for (std::size_t k = 2; k < nd; ++k) idx[k] = g[k] / 2;
  for (std::int64_t start = r0 / per_group * per_group; start < r1; start += per_group)
    for (std::int64_t d = std::max({r0 - start, c0, std::int64_t{0}}); d < std::min({r1 - start, c1, min_dim}); ++d) {
      idx[0] = start + d;
      idx[1] = d;
      add(idx);
    }
  std::sort(out.begin(), out.end());
  return out;
}

void one_bits(dtype type, unsigned char* dst) {
  switch (type) {
    case dtype::float32: { const float v = 1.0f; std::memcpy(dst, &v, 4); break; }
    case dtype::float64: { const double v = 1.0; std::memcpy(dst, &v, 8); break; }
    case dtype::float16: { const std::uint16_t v = 0x3c00; std::memcpy(dst, &v, 2); break; }
    case dtype::bfloat16: { const std::uint16_t v = 0x3f80; std::memcpy(dst, &v, 2); break; }
  }
}

}  // namespace

// --- public -----------------------------------------------------------------------------------------

std::size_t plan::add(plan_item item) {
  items_.push_back(std::move(item));
  return items_.size() - 1;
}

std::vector<item_report> validate(const plan& p) {
  const checked_plan cp = check_all(p);
  std::vector<item_report> out;
  out.reserve(cp.items.size());
  for (const checked_item& c : cp.items) {
    // An item that reused the previous one's resolution reads as it does: formatting the doubles
    // costs more than the rest of the item's validation.
    std::string spec = c.reused ? out.back().spec : describe(c.r, c.item->spec.name);
    out.push_back({std::move(spec), c.elements * itemsize(c.item->target.type)});
  }
  return out;
}

namespace {

// Byte offsets (from the target's data) of eye/dirac's ones in box `bx` of `c`.
std::vector<std::int64_t> ones_offsets(const checked_item& c, const box& bx) {
  const std::vector<std::uint64_t> flat = ones_in_box(c, bx);
  std::vector<std::int64_t> out;
  out.reserve(flat.size());
  const std::size_t nd = bx.sizes.size();
  for (std::uint64_t f : flat) {
    std::int64_t off = bx.mem;
    for (std::size_t k = nd; k-- > 0;) {
      const auto n = static_cast<std::uint64_t>(bx.sizes[k]);
      off += static_cast<std::int64_t>(f % n) * c.strides[k];
      f /= n;
    }
    out.push_back(off);
  }
  return out;
}

fill_request request_of(const checked_item& c, const box& bx) {
  const bool random = c.r.d.kind != dist_kind::constant;
  return {c.target_of(bx), c.r.d, random ? c.seed : 0, random ? c.item->key.value : 0, 0};
}

// Device items, all validated: per (device, stream) in item order, every elementwise box (and the
// zero fill under each eye/dirac) in one fill_batch, then the ones, sparse and orthogonal items on
// the same stream. Only enqueues.
void write_device(const std::vector<checked_item>& items) {
  std::vector<std::pair<int, void*>> queues;
  for (const checked_item& c : items) {
    const plan_target& t = c.item->target;
    if (t.where != plan_target::kind::device || c.elements == 0) continue;
    const std::pair<int, void*> q{t.device, t.stream};
    if (std::find(queues.begin(), queues.end(), q) == queues.end()) queues.push_back(q);
  }
  if (queues.empty()) return;
  const detail::cuda_backend cb = detail::get_cuda_backend();
  for (const auto& [device, stream] : queues) {
    auto on_queue = [&, device = device, stream = stream](const checked_item& c) {
      const plan_target& t = c.item->target;
      return t.where == plan_target::kind::device && c.elements > 0 && t.device == device && t.stream == stream;
    };
    std::vector<fill_request> batch;
    for (const checked_item& c : items) {
      if (!on_queue(c)) continue;
      for (const box& bx : c.boxes) {
        if (c.r.kind == op::elementwise) batch.push_back(request_of(c, bx));
        if (c.r.kind == op::eye || c.r.kind == op::dirac) batch.push_back({c.target_of(bx), dist::constant(0.0), 0, 0, 0});
      }
    }
    if (!batch.empty()) cb.fill_batch(batch, items.front().seed, device, stream);
    for (const checked_item& c : items) {
      if (!on_queue(c) || c.r.kind == op::elementwise) continue;
      const std::uint64_t key = c.item->key.value;
      for (const box& bx : c.boxes) {
        const fill_target ft = c.target_of(bx);
        switch (c.r.kind) {
          case op::eye:
          case op::dirac: {
            const std::vector<std::int64_t> offs = ones_offsets(c, bx);
            if (!offs.empty()) cb.scatter(c.item->target.data, c.item->target.type, offs, 1.0, device, stream);
            break;
          }
          case op::sparse: cb.sparse(ft, c.r.sparsity, c.r.std, c.seed, key, device, stream); break;
          case op::orthogonal: cb.orthogonal(ft, c.r.gain, c.seed, key, c.r.blocks, device, stream); break;
          case op::delta_orthogonal: {
            // The tap first (orthogonal_cuda allocates its scratch before it enqueues a store), then
            // the zeros, as on the host.
            std::vector<fill_request> zeros;
            for (const fill_target& pl : delta_orthogonal_zeros(ft)) zeros.push_back({pl, dist::constant(0.0), 0, 0, 0});
            cb.orthogonal(delta_orthogonal_tap(ft, c.r.gain), c.r.gain, c.seed, key, 1, device, stream);
            if (!zeros.empty()) cb.fill_batch(zeros, c.seed, device, stream);
            break;
          }
          case op::elementwise: break;
        }
      }
    }
  }
}

// Host items, all validated. Everything that can be allocated up front is, before the first write:
// the sparse items' thresholds and one staging buffer for all their zeros (a failed allocation
// leaves every output untouched). Then every elementwise box and the values under every sparse
// box in one parallel pass, then eye/dirac, the sparse zeros, and orthogonal/delta_orthogonal,
// each with its own parallelism (their scratch is allocated before their own writes).
void write_host(const std::vector<checked_item>& items, int threads) {
  auto writes = [](const checked_item& c) { return c.item->target.where == plan_target::kind::host; };
  std::vector<detail::sparse_pending> sparse;
  for (const checked_item& c : items)
    if (c.r.kind == op::sparse && writes(c))
      for (const box& bx : c.boxes) sparse.emplace_back(c.ref_of(bx), c.seed, c.item->key.value, c.r.sparsity, c.r.std);
  const bool zeros = std::any_of(sparse.begin(), sparse.end(), [](const auto& s) { return s.has_zeros(); });
  std::vector<std::uint32_t> stage(zeros ? detail::sparse_stage_words : 0);
  std::vector<fill_request> requests;
  requests.reserve(items.size() + sparse.size());
  std::size_t next_sparse = 0;
  for (const checked_item& c : items) {
    if (!writes(c)) continue;
    if (c.r.kind == op::elementwise)
      for (const box& bx : c.boxes) requests.push_back(request_of(c, bx));
    if (c.r.kind == op::sparse)
      for (const box& bx : c.boxes)
        requests.push_back({c.target_of(bx), sparse[next_sparse++].values(), c.seed, c.item->key.value, 0});
  }
  fill_many(requests, threads);
  const detail::orthogonal_backend ob = detail::get_orthogonal_backend();
  next_sparse = 0;
  for (const checked_item& c : items) {
    if (c.r.kind == op::elementwise || !writes(c)) continue;
    const std::uint64_t key = c.item->key.value;
    for (const box& bx : c.boxes) {
      switch (c.r.kind) {
        case op::eye: eye_(c.ref_of(bx)); break;
        case op::dirac: dirac_(c.ref_of(bx), c.r.groups); break;
        case op::sparse: sparse[next_sparse++].write_zeros(stage); break;
        case op::orthogonal: ob.orthogonal(c.target_of(bx), c.r.gain, c.seed, key, c.r.blocks, threads); break;
        case op::delta_orthogonal: ob.delta_orthogonal(c.target_of(bx), c.r.gain, c.seed, key, threads); break;
        case op::elementwise: break;
      }
    }
  }
}

void check_threads_arg(int threads) {
  if (threads < 0) invalid("threads must be >= 0 (0 = all hardware threads), got " + std::to_string(threads));
}

}  // namespace

void execute(const plan& p, int threads) {
  check_threads_arg(threads);
  const checked_plan cp = check_all(p);
  const std::vector<checked_item>& items = cp.items;
  for (std::size_t i = 0; i < items.size(); ++i)
    if (items[i].item->target.where == plan_target::kind::buffer)
      invalid(label(p, i) + ": a buffer item is written with write_range, not execute");
  // Device work is only enqueued, so it goes first and runs while the host pass does.
  write_device(items);
  write_host(items, threads);
}

item_report run_item(plan_item item, std::uint64_t seed, int threads, bool write) {
  check_threads_arg(threads);
  plan p(seed);
  p.add(std::move(item));  // every single call passes here: moved, not copied
  const plan_item& it = p.items().front();
  checked_plan cp;
  std::vector<checked_item>& items = cp.items;
  items.push_back(check_item(p, 0, cp));
  const checked_item& c = items.front();
  if (write) {
    if (it.target.where == plan_target::kind::buffer) invalid("a buffer item is written with write_range");
    write_device(items);
    write_host(items, threads);
  }
  return {describe(c.r, it.spec.name), c.elements * itemsize(it.target.type)};
}

void write_range(const plan& p, std::size_t item, std::uint64_t begin, std::uint64_t end, void* out, int threads) {
  if (item >= p.size()) invalid("item " + std::to_string(item) + " is not in the plan (" + std::to_string(p.size()) + " items)");
  checked_plan cp;
  checked_item c;
  try {
    c = check_item(p, item, cp);
  } catch (const std::invalid_argument& e) {
    invalid(label(p, item) + ": " + e.what());
  }
  const plan_item& it = p.items()[item];
  if (it.target.where != plan_target::kind::buffer) invalid(label(p, item) + ": write_range writes buffer items");
  if (c.r.kind != op::elementwise && c.r.kind != op::eye && c.r.kind != op::dirac)
    invalid(label(p, item) + ": buffer items take elementwise, eye and dirac specs");
  const std::uint64_t isz = itemsize(it.target.type);
  const std::uint64_t nbytes = c.elements * isz;
  if (begin > end || end > nbytes)
    invalid(label(p, item) + ": byte range [" + std::to_string(begin) + ", " + std::to_string(end) +
            ") outside the item's " + std::to_string(nbytes) + " bytes");
  if (begin == end) return;
  if (out == nullptr) invalid("out: null pointer");
  const box& bx = c.boxes.front();
  fill_target t = c.target_of(bx);
  const dist d = c.r.kind == op::elementwise ? c.r.d : dist::constant(0.0);
  const bool random = d.kind != dist_kind::constant;
  const std::uint64_t seed = random ? c.seed : 0, key = random ? it.key.value : 0;
  auto* dst = static_cast<unsigned char*>(out);
  const std::uint64_t e0 = begin / isz, e1 = (end + isz - 1) / isz;
  if (begin % isz == 0 && end % isz == 0 && reinterpret_cast<std::uintptr_t>(out) % isz == 0) {
    fill_elements(t, d, seed, key, e0, e1, out, threads);
  } else {
    // Unaligned ends or buffer: through a bounded staging buffer, allocated before any write.
    constexpr std::uint64_t chunk = 1 << 16;  // elements
    std::vector<std::uint64_t> stage_storage((std::min(e1 - e0, chunk) * isz + 7) / 8);
    auto* stage = reinterpret_cast<unsigned char*>(stage_storage.data());
    for (std::uint64_t e = e0; e < e1; e += chunk) {
      const std::uint64_t n = std::min(chunk, e1 - e);
      fill_elements(t, d, seed, key, e, e + n, stage, threads);
      const std::uint64_t b0 = std::max(begin, e * isz), b1 = std::min(end, (e + n) * isz);
      std::memcpy(dst + (b0 - begin), stage + (b0 - e * isz), b1 - b0);
    }
  }
  if (c.r.kind == op::elementwise) return;
  unsigned char one[8];
  one_bits(it.target.type, one);
  for (const std::uint64_t f : ones_in_box(c, bx)) {
    const std::uint64_t b0 = std::max(begin, f * isz), b1 = std::min(end, (f + 1) * isz);
    if (b0 < b1) std::memcpy(dst + (b0 - begin), one + (b0 - f * isz), b1 - b0);
  }
}

}  // namespace sow

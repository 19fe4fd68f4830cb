// A training stack's init step, in C++: allocate a small transformer's weights and biases in
// caller-owned buffers and initialize each one BY NAME (the name is the stream key), so any rank,
// thread count or language (Python: sow.xavier_uniform(shape, seed=..., key=name)) gets the same
// bits. Prints one JSON line per tensor: its first 8 values as hex bits and an FNV-1a 64 hash of
// all its bytes, for checking against the Python package (tests/test_cpp_package.py).
//
//   ./init_model [seed]
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include <sow/init.hpp>

extern "C" int init_with_c_abi(float* out, std::int64_t rows, std::int64_t cols, const char* name, std::uint64_t seed);
extern "C" int c_abi_error_demo(char* msg, std::size_t size);
extern "C" int init_with_c_plan(float* w, float* b, std::uint16_t* emb, std::int64_t d, std::uint64_t seed);
extern "C" int c_plan_error_demo(char* msg, std::size_t size);

namespace {

std::string json_str(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::uint64_t fnv1a64(const void* data, std::size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

// One JSON line: label, key, shape, dtype, first 8 values' bits, hash of every byte.
void report(const std::string& label, const std::string& key, const std::vector<std::int64_t>& shape,
            const char* dtype, const void* data, std::size_t count, std::size_t itemsize) {
  std::string shp, first;
  for (std::size_t i = 0; i < shape.size(); ++i) shp += (i ? "," : "") + std::to_string(shape[i]);
  for (std::size_t i = 0; i < count && i < 8; ++i) {
    std::uint64_t bits = 0;
    std::memcpy(&bits, static_cast<const unsigned char*>(data) + i * itemsize, itemsize);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%s\"%0*llx\"", i ? "," : "", static_cast<int>(2 * itemsize),
                  static_cast<unsigned long long>(bits));
    first += buf;
  }
  std::printf("{\"label\": %s, \"key\": %s, \"shape\": [%s], \"dtype\": \"%s\", \"first8\": [%s], \"fnv1a64\": \"%016llx\"}\n",
              json_str(label).c_str(), json_str(key).c_str(), shp.c_str(), dtype, first.c_str(),
              static_cast<unsigned long long>(fnv1a64(data, count * itemsize)));
}

struct param {
  std::string name;
  std::vector<std::int64_t> shape;
  std::vector<float> data;
};

param make(std::string name, std::vector<std::int64_t> shape) {
  std::size_t n = 1;
  for (const auto s : shape) n *= static_cast<std::size_t>(s);
  return {std::move(name), std::move(shape), std::vector<float>(n)};
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint64_t seed = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 0;
  const std::int64_t vocab = 1000, d = 64, ff = 256, n_layers = 2;

  std::vector<param> params;
  // Every tensor gets its own stream: key = its parameter name.
  auto init = [&](std::string name, std::vector<std::int64_t> shape,
                  const std::function<void(const sow::tensor_ref&, const sow::rng&)>& f) {
    param p = make(std::move(name), std::move(shape));
    f(sow::tensor_ref(p.data, p.shape), sow::rng{.seed = seed, .key = p.name});
    params.push_back(std::move(p));
  };

  init("embed.w", {vocab, d}, [](auto& t, auto& r) { sow::trunc_normal_(t, r, 0.0, 0.02, -0.04, 0.04); });
  for (std::int64_t i = 0; i < n_layers; ++i) {
    const std::string pre = "layers." + std::to_string(i) + ".";
    init(pre + "attn.w", {3 * d, d}, [](auto& t, auto& r) { sow::xavier_uniform_(t, r); });
    init(pre + "attn.b", {3 * d}, [](auto& t, auto&) { sow::zeros_(t); });
    init(pre + "mlp.w1", {ff, d}, [](auto& t, auto& r) { sow::kaiming_normal_(t, r, 0.0, "fan_in", "relu"); });
    init(pre + "mlp.b1", {ff}, [](auto& t, auto&) { sow::zeros_(t); });
    init(pre + "mlp.w2", {d, ff}, [](auto& t, auto& r) { sow::kaiming_uniform_(t, r, std::sqrt(5.0)); });
    init(pre + "norm.g", {d}, [](auto& t, auto&) { sow::ones_(t); });
  }
  for (const auto& p : params) report(p.name, p.name, p.shape, "float32", p.data.data(), p.data.size(), 4);

  // Tensor parallelism: each of 2 ranks fills only its half of the rows of head.w; fans come from
  // the global shape, and the halves equal the rows of the whole tensor.
  for (std::int64_t rank = 0; rank < 2; ++rank) {
    param part = make("head.w", {vocab / 2, d});
    sow::tensor_ref t(part.data, part.shape);
    t.shard({vocab, d}, {rank * vocab / 2, 0});
    sow::lecun_normal_(t, {.seed = seed, .key = "head.w", .threads = 2});
    report("head.w@rank" + std::to_string(rank), "head.w", part.shape, "float32", part.data.data(), part.data.size(), 4);
  }

  // Raw memory of another dtype: bfloat16 (== the float32 values rounded to nearest even).
  std::vector<std::uint16_t> bf(static_cast<std::size_t>(vocab * d));
  sow::trunc_normal_(sow::tensor_ref(bf.data(), sow::dtype::bfloat16, {vocab, d}), {.seed = seed, .key = "embed.w"}, 0.0,
                     0.02, -0.04, 0.04);
  report("embed.w@bfloat16", "embed.w", {vocab, d}, "bfloat16", bf.data(), bf.size(), 2);

  // The C ABI (from c_abi.c).
  std::vector<float> out(static_cast<std::size_t>(10 * d));
  if (init_with_c_abi(out.data(), 10, d, "out.w", seed) != 0) return 1;
  report("out.w@c_abi", "out.w", {10, d}, "float32", out.data(), out.size(), 4);

  // A plan through the C ABI: three tensors, one call.
  std::vector<float> pw(static_cast<std::size_t>(4 * d * d)), pb(static_cast<std::size_t>(4 * d));
  std::vector<std::uint16_t> pe(static_cast<std::size_t>(100 * d));
  if (init_with_c_plan(pw.data(), pb.data(), pe.data(), d, seed) != 0) return 1;
  report("proj.w@c_plan", "proj.w", {4 * d, d}, "float32", pw.data(), pw.size(), 4);
  report("proj.b@c_plan", "", {4 * d}, "float32", pb.data(), pb.size(), 4);
  report("emb.w@c_plan", "emb.w", {100, d}, "bfloat16", pe.data(), pe.size(), 2);

  // Errors: exceptions in C++, status + message in C; the messages are Python's.
  {
    char pmsg[512];
    const int pstatus = c_plan_error_demo(pmsg, sizeof pmsg);
    std::printf("{\"c_plan_error\": {\"status\": %d, \"message\": %s}}\n", pstatus, json_str(pmsg).c_str());
  }
  char msg[512];
  const int status = c_abi_error_demo(msg, sizeof msg);
  std::printf("{\"c_abi_error\": {\"status\": %d, \"message\": %s}}\n", status, json_str(msg).c_str());
  try {
    std::vector<float> w(12);
    sow::kaiming_uniform_({w, {3, 4}}, {.seed = seed}, 0.0, "fan_avg");
  } catch (const std::invalid_argument& e) {
    std::printf("{\"cpp_error\": %s}\n", json_str(e.what()).c_str());
  }
  return 0;
}

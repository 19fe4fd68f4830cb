// Random123's known answers (tests/kat/philox4x32.txt) inside a CUDA kernel: the same header
// (sow/philox.hpp, sow/stream.hpp) that sow's device kernels call, compiled by nvcc with sow's
// device flags, must give the file's answers on the device, and the host pass of the same
// translation unit must give them too (the cuCollections rule: the same literals checked on the
// host and in a kernel). Built and run by tests/gpu/test_kat_cuda.py.
//
//   philox_kat_cuda <kat file>   exit status 0 when all match, 1 on a mismatch, 3 without a device
#include <cuda_runtime.h>

#include <cstdint>
#include <cstdio>
#include <vector>

#include "../cpp/kat_file.hpp"

namespace {

constexpr unsigned span = 64;  // stream blocks per known answer: the answer's block in each place

struct job {
  sow::philox4x32_ctr ctr;
  sow::philox4x32_key key;
  int rounds;
  sow::stream_id s;
  std::uint64_t b0;  // first block of the run that holds the answer's block
};

// Thread t of job j: t == 0 computes Philox of the raw input; every t < span computes block
// b0 + t of the job's stream (Philox-10 jobs only), as sow's fill kernels do.
__global__ void kat_kernel(const job* jobs, int n, sow::philox4x32_ctr* raw, sow::philox4x32_ctr* blocks) {
  const int j = blockIdx.x;
  const unsigned t = threadIdx.x;
  if (j >= n) return;
  const job q = jobs[j];
  if (t == 0) raw[j] = sow::philox4x32(q.ctr, q.key, q.rounds);
  if (t < span) blocks[j * span + t] = sow::stream_block(q.s, q.b0 + t);
}

#define CHECK_CUDA(x)                                                                                    \
  do {                                                                                                   \
    const cudaError_t e_ = (x);                                                                          \
    if (e_ != cudaSuccess) {                                                                             \
      std::printf("CUDA error %s at %s:%d: %s\n", cudaGetErrorName(e_), __FILE__, __LINE__, cudaGetErrorString(e_)); \
      std::exit(4);                                                                                      \
    }                                                                                                    \
  } while (0)

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: philox_kat_cuda <tests/kat/philox4x32.txt>\n");
    return 2;
  }
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::printf("no CUDA device\n");
    return 3;
  }
  const std::vector<kat_file::kat> kats = kat_file::read(argv[1]);
  std::vector<job> jobs;
  for (const auto& k : kats) {
    job q{k.ctr, k.key, k.rounds, kat_file::stream_of(k), 0};
    const std::uint64_t block = kat_file::block_of(k), max_blocks = std::uint64_t{1} << 56;
    // The run ends on the answer's block where it can (the last thread), else starts on it.
    q.b0 = block >= span - 1 ? block - (span - 1) : 0;
    if (q.b0 > max_blocks - span) q.b0 = max_blocks - span;
    jobs.push_back(q);
  }
  const int n = static_cast<int>(jobs.size());
  job* d_jobs = nullptr;
  sow::philox4x32_ctr *d_raw = nullptr, *d_blocks = nullptr;
  CHECK_CUDA(cudaMalloc(&d_jobs, n * sizeof(job)));
  CHECK_CUDA(cudaMalloc(&d_raw, n * sizeof(sow::philox4x32_ctr)));
  CHECK_CUDA(cudaMalloc(&d_blocks, n * span * sizeof(sow::philox4x32_ctr)));
  CHECK_CUDA(cudaMemcpy(d_jobs, jobs.data(), n * sizeof(job), cudaMemcpyHostToDevice));
  kat_kernel<<<n, span>>>(d_jobs, n, d_raw, d_blocks);
  CHECK_CUDA(cudaGetLastError());
  std::vector<sow::philox4x32_ctr> raw(n), blocks(n * span);
  CHECK_CUDA(cudaMemcpy(raw.data(), d_raw, n * sizeof(sow::philox4x32_ctr), cudaMemcpyDeviceToHost));
  CHECK_CUDA(cudaMemcpy(blocks.data(), d_blocks, blocks.size() * sizeof(sow::philox4x32_ctr), cudaMemcpyDeviceToHost));
  CHECK_CUDA(cudaFree(d_jobs));
  CHECK_CUDA(cudaFree(d_raw));
  CHECK_CUDA(cudaFree(d_blocks));

  int failures = 0, checks = 0;
  auto check = [&](bool ok, const char* what, const kat_file::kat& k, const sow::philox4x32_ctr& got) {
    ++checks;
    if (!ok) {
      ++failures;
      std::printf("FAIL %s R%d %s: got %s\n", what, k.rounds, kat_file::hex4(k.ctr).c_str(), kat_file::hex4(got).c_str());
    }
  };
  for (int j = 0; j < n; ++j) {
    const auto& k = kats[j];
    const sow::philox4x32_ctr host = sow::philox4x32(k.ctr, k.key, k.rounds);
    check(kat_file::same(host, k.expected), "host", k, host);
    check(kat_file::same(raw[j], k.expected), "device", k, raw[j]);
    if (k.rounds != 10) continue;
    const std::uint64_t at = kat_file::block_of(k) - jobs[j].b0;
    check(kat_file::same(blocks[j * span + at], k.expected), "device stream block", k, blocks[j * span + at]);
    for (unsigned t = 0; t < span; ++t) {
      const sow::philox4x32_ctr want = sow::stream_block(jobs[j].s, jobs[j].b0 + t);
      check(kat_file::same(blocks[j * span + t], want), "device run vs host", k, blocks[j * span + t]);
    }
  }
  std::printf("kat lines %d\nchecks %d failures %d\n", n, checks, failures);
  return failures ? 1 : 0;
}

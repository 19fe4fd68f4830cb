// The AVX-512 kernel again, for CPUs with AVX512_BF16 (hardware bfloat16 rounding).
#define SOW_KERNEL_BF16 1
#define SOW_KERNEL_NS avx512bf16
#include "kernel_avx512.cpp"

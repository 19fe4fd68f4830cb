// The coefficient table of stream format 2's float32 inverse normal CDF (docs/stream-format.md
// section 5, where the same values are listed): c[j][k] is the coefficient of r^j on segment k.
// Made by tests/cpp/inv_phi32_fit.py (near-minimax relative fits, rounded to float32, c0 raised
// where needed so that the function is monotone across segment boundaries); checked over every
// input by tests/cpp/test_inv_phi32.cpp. Part of the stream format: never edit one value alone.
#pragma once

#include "sow/config.hpp"

namespace sow::detail {

struct inv_phi32_coefs {
  float c[6][32];
};

// One literal for the host copy and the CUDA copy. Lanes read c[j][k] with their own k: on the
// device each row c[j] is one 128-byte line, so a warp's read is one L1 transaction from global
// memory, where constant memory would serialize the warp over its distinct k.
#define SOW_INV_PHI32_TABLE \
  {                         \
    {                       \
      {                                                                                                   \
       0x1.0f04eep+2f, 0x1.0ada3ap+2f, 0x1.04e09p+2f, 0x1.008fbap+2f,                               \
       0x1.f4baep+1f, 0x1.ebc462p+1f, 0x1.dee15cp+1f, 0x1.d58bdp+1f,                                \
       0x1.c81a78p+1f, 0x1.be596ep+1f, 0x1.b0465p+1f, 0x1.a60a6ep+1f,                               \
       0x1.973d58p+1f, 0x1.8c735p+1f, 0x1.7ccd7ap+1f, 0x1.715c7cp+1f,                               \
       0x1.60b5d4p+1f, 0x1.547d18p+1f, 0x1.429fd2p+1f, 0x1.357294p+1f,                              \
       0x1.2213bap+1f, 0x1.13b22cp+1f, 0x1.fcc814p+0f, 0x1.dcdcp+0f,                                \
       0x1.ad0a64p+0f, 0x1.88bc2p+0f, 0x1.51692ap+0f, 0x1.267d4cp+0f,                               \
       0x1.c6381p-1f, 0x1.5956b8p-1f, 0x1.46496p-2f, 0x0p+0f,                                       \
      },                                                                                            \
      {                                                                                                   \
       0x1.32d9dp+13f, 0x1.d2c8eap+12f, 0x1.3daa66p+12f, 0x1.e3b656p+11f,                           \
       0x1.49ac8ap+11f, 0x1.f69086p+10f, 0x1.571bdcp+10f, 0x1.05dd6p+10f,                           \
       0x1.66456ap+9f, 0x1.11db2ap+9f, 0x1.778ed2p+8f, 0x1.1f97aap+8f,                              \
       0x1.8b812ap+7f, 0x1.2f8834p+7f, 0x1.a2da8cp+6f, 0x1.425194p+6f,                              \
       0x1.beab4ap+5f, 0x1.58e398p+5f, 0x1.e0897ep+4f, 0x1.74aadp+4f,                               \
       0x1.0578eap+4f, 0x1.97f126p+3f, 0x1.210696p+3f, 0x1.c6ab22p+2f,                              \
       0x1.46b8fap+2f, 0x1.0432e2p+2f, 0x1.7e6404p+1f, 0x1.36e72ap+1f,                              \
       0x1.db92b6p+0f, 0x1.92cd14p+0f, 0x1.519096p+0f, 0x1.40d936p+0f,                              \
      },                                                                                            \
      {                                                                                                   \
       0x1.83857p+27f, 0x1.bb1c82p+26f, 0x1.8fc8d4p+25f, 0x1.c97bdcp+24f,                           \
       0x1.9d3d54p+23f, 0x1.d949cp+22f, 0x1.ac15ep+21f, 0x1.eac4e2p+20f,                            \
       0x1.bc919ap+19f, 0x1.fe3b4cp+18f, 0x1.ceff94p+17f, 0x1.0a079ap+17f,                          \
       0x1.e3c3f8p+15f, 0x1.165ebap+15f, 0x1.fb5edp+13f, 0x1.247318p+13f,                           \
       0x1.0b3a5ep+12f, 0x1.34aba2p+11f, 0x1.1aec5p+10f, 0x1.478b2p+9f,                             \
       0x1.2d480ep+8f, 0x1.5daea2p+7f, 0x1.42dcbep+6f, 0x1.77aafcp+5f,                              \
       0x1.5bf1bap+4f, 0x1.9552e2p+3f, 0x1.76db4ep+2f, 0x1.b1ed3ep+1f,                              \
       0x1.8643aep+0f, 0x1.ab0a9ap-1f, 0x1.1a2916p-2f, -0x1.45f776p-15f,                            \
      },                                                                                            \
      {                                                                                                   \
       0x1.6f0c16p+42f, 0x1.28e264p+41f, 0x1.7a11bcp+39f, 0x1.320edep+38f,                          \
       0x1.861b06p+36f, 0x1.3c19bap+35f, 0x1.9350ecp+33f, 0x1.472712p+32f,                          \
       0x1.a1e5a8p+30f, 0x1.536368p+29f, 0x1.b2177ep+27f, 0x1.610632p+26f,                          \
       0x1.c43468p+24f, 0x1.705556p+23f, 0x1.d89f28p+21f, 0x1.81a9dcp+20f,                          \
       0x1.efd61ep+18f, 0x1.957666p+17f, 0x1.053e4p+16f, 0x1.ac4fcep+14f,                           \
       0x1.14b318p+13f, 0x1.c6f84ep+11f, 0x1.26d374p+10f, 0x1.e66eecp+8f,                           \
       0x1.3c55acp+7f, 0x1.060b8cp+6f, 0x1.565faap+4f, 0x1.1d7a34p+3f,                              \
       0x1.79af7cp+1f, 0x1.4495c2p+0f, 0x1.efcbeap-2f, 0x1.5121ecp-2f,                              \
      },                                                                                            \
      {                                                                                                   \
       0x1.1195bep+56f, 0x1.3d169ep+55f, 0x1.1a417p+52f, 0x1.46cacp+51f,                            \
       0x1.23c3bep+48f, 0x1.5167a2p+47f, 0x1.2e402ep+44f, 0x1.5d12a8p+43f,                          \
       0x1.39e2bcp+40f, 0x1.69f9d2p+39f, 0x1.46e28ap+36f, 0x1.78566p+35f,                           \
       0x1.558596p+32f, 0x1.887062p+31f, 0x1.6625f6p+28f, 0x1.9aa3aap+27f,                          \
       0x1.79397p+24f, 0x1.af6698p+23f, 0x1.8f5c9p+20f, 0x1.c753a4p+19f,                            \
       0x1.a96382p+16f, 0x1.e33684p+15f, 0x1.c874f6p+12f, 0x1.020ee4p+12f,                          \
       0x1.ee3a8p+8f, 0x1.15b838p+8f, 0x1.0e9de8p+5f, 0x1.2d64f2p+4f,                               \
       0x1.2badeap+1f, 0x1.4549cap+0f, 0x1.056c54p-3f, -0x1.5e08a4p-7f,                             \
      },                                                                                            \
      {                                                                                                   \
       0x1.ce9e9p+73f, 0x1.526364p+71f, 0x1.dbb20ep+68f, 0x1.5c3a9cp+66f,                           \
       0x1.e9e6b8p+63f, 0x1.66f1ep+61f, 0x1.f9674p+58f, 0x1.72ab44p+56f,                            \
       0x1.0533bp+54f, 0x1.7f9052p+51f, 0x1.0e9328p+49f, 0x1.8dd418p+46f,                           \
       0x1.18f91p+44f, 0x1.9db60ep+41f, 0x1.24960cp+39f, 0x1.af85ep+36f,                            \
       0x1.31a75p+34f, 0x1.c3a89cp+31f, 0x1.407a86p+29f, 0x1.da9fap+26f,                            \
       0x1.5172aap+24f, 0x1.f5115ap+21f, 0x1.650d6p+19f, 0x1.09e9acp+17f,                           \
       0x1.7be5c8p+14f, 0x1.1bf844p+12f, 0x1.96a77ep+9f, 0x1.314c38p+7f,                            \
       0x1.b5bbf8p+4f, 0x1.4abb2ep+2f, 0x1.ddf06ep-1f, 0x1.b9c378p-3f,                              \
      },                                                                                            \
    }                       \
  }

inline constexpr inv_phi32_coefs inv_phi32_host = SOW_INV_PHI32_TABLE;
#if defined(__CUDACC__)
static __device__ const inv_phi32_coefs inv_phi32_device = SOW_INV_PHI32_TABLE;
#endif

/// The table, from host or device code alike.
SOW_HD SOW_FORCEINLINE const inv_phi32_coefs& inv_phi32_table() {
#if defined(__CUDA_ARCH__)
  return inv_phi32_device;
#else
  return inv_phi32_host;
#endif
}

}  // namespace sow::detail

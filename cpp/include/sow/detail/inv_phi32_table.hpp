// The coefficient table of stream format 3's float32 inverse normal CDF (docs/stream-format.md
// section 5, where the same values are listed): c[j][q] is the coefficient of r^j on segment q,
// r = (e_q - t) 2^16. Made by tests/cpp/inv_phi32_fit.py (near-minimax relative fits of degree 7,
// rounded to float32 from the top degree down with the lower coefficients refitted, c0 raised
// where needed so that the function is monotone across segment boundaries); checked over every
// input by tests/cpp/test_inv_phi32.cpp. Part of the stream format: never edit one value alone.
#pragma once

#include "sow/config.hpp"

namespace sow::detail {

inline constexpr int inv_phi32_degree = 7;
inline constexpr int inv_phi32_segments = 32;

struct inv_phi32_coefs {
  float c[inv_phi32_degree + 1][inv_phi32_segments];
};

// One literal for the host copy and the CUDA copy. Lanes read c[j][q] with their own q: on the
// device each row c[j] is one 128-byte line, so a warp's read is one L1 transaction from global
// memory, where constant memory would serialize the warp over its distinct q.
#define SOW_INV_PHI32_TABLE \
  {                         \
    {                       \
      {  \
       0x1.8aa6ccp+2f, 0x1.8392aep+2f, 0x1.7c5e8p+2f, 0x1.750886p+2f,  \
       0x1.6d8edcp+2f, 0x1.65ef6cp+2f, 0x1.5e27ecp+2f, 0x1.5635d4p+2f,  \
       0x1.4e1658p+2f, 0x1.45c65ap+2f, 0x1.3d425cp+2f, 0x1.348674p+2f,  \
       0x1.2b8e3p+2f, 0x1.225484p+2f, 0x1.18d3a8p+2f, 0x1.0f04eep+2f,  \
       0x1.04e092p+2f, 0x1.f4bae2p+1f, 0x1.dee15ep+1f, 0x1.c81a7ap+1f,  \
       0x1.b04654p+1f, 0x1.973d5ap+1f, 0x1.7ccd7cp+1f, 0x1.60b5d4p+1f,  \
       0x1.429fd2p+1f, 0x1.2213bap+1f, 0x1.fcc814p+0f, 0x1.ad0a64p+0f,  \
       0x1.51692ap+0f, 0x1.c63812p-1f, 0x1.464962p-2f, 0x0p+0f,  \
      },  \
      {  \
       0x1.b0047cp+11f, 0x1.b7879p+10f, 0x1.bf70f4p+9f, 0x1.c7c9fcp+8f,  \
       0x1.d09d34p+7f, 0x1.d9f69cp+6f, 0x1.e3e3ep+5f, 0x1.ee74bap+4f,  \
       0x1.f9bb4cp+3f, 0x1.02e654p+3f, 0x1.0960b6p+2f, 0x1.105b4ap+1f,  \
       0x1.17e74p+0f, 0x1.20192cp-1f, 0x1.2909e8p-2f, 0x1.32d7ccp-3f,  \
       0x1.3da854p-4f, 0x1.49aa66p-5f, 0x1.5719a6p-6f, 0x1.66432p-7f,  \
       0x1.778c7p-8f, 0x1.8b7ebp-9f, 0x1.a2d7f6p-10f, 0x1.bea894p-11f,  \
       0x1.e086a4p-12f, 0x1.057768p-12f, 0x1.2104fap-13f, 0x1.46b742p-14f,  \
       0x1.7e622ap-15f, 0x1.db90b4p-16f, 0x1.518f98p-16f, 0x1.40d932p-16f,  \
      },  \
      {  \
       0x1.17f30ep+25f, 0x1.1c92fp+23f, 0x1.216e6cp+21f, 0x1.268aap+19f,  \
       0x1.2bed48p+17f, 0x1.319cdep+15f, 0x1.37a0b6p+13f, 0x1.3e0124p+11f,  \
       0x1.44c7aep+9f, 0x1.4bff3cp+7f, 0x1.53b47p+5f, 0x1.5bf5e6p+3f,  \
       0x1.64d4bcp+1f, 0x1.6e650ap-1f, 0x1.78be9ep-3f, 0x1.83fde8p-5f,  \
       0x1.904518p-7f, 0x1.9dbdc6p-9f, 0x1.ac9aeep-11f, 0x1.bd1bc2p-13f,  \
       0x1.cf8f7p-15f, 0x1.e45a42p-17f, 0x1.fbfc64p-19f, 0x1.0b8d5ap-20f,  \
       0x1.1b4428p-22f, 0x1.2da5a6p-24f, 0x1.43413cp-26f, 0x1.5c5ebap-28f,  \
       0x1.77532p-30f, 0x1.86ca08p-32f, 0x1.1abdb4p-34f, 0x1.4a7c9cp-55f,  \
      },  \
      {  \
       0x1.0a9da2p+39f, 0x1.0ee45ap+36f, 0x1.136086p+33f, 0x1.18169cp+30f,  \
       0x1.1d0b96p+27f, 0x1.224504p+24f, 0x1.27c938p+21f, 0x1.2d9f54p+18f,  \
       0x1.33cf6ep+15f, 0x1.3a62ccp+12f, 0x1.41640ep+9f, 0x1.48df7cp+6f,  \
       0x1.50e35p+3f, 0x1.59802ap+0f, 0x1.62c99cp-3f, 0x1.6cd6c6p-6f,  \
       0x1.77c352p-9f, 0x1.83b076p-12f, 0x1.90c68ep-15f, 0x1.9f3716p-18f,  \
       0x1.af3f4cp-21f, 0x1.c12bdp-24f, 0x1.d55d98p-27f, 0x1.ec5078p-30f,  \
       0x1.0351fap-32f, 0x1.129332p-35f, 0x1.24713ep-38f, 0x1.399a72p-41f,  \
       0x1.53241ep-44f, 0x1.759feap-47f, 0x1.ea23dap-50f, 0x1.4ffef2p-50f,  \
      },  \
      {  \
       0x1.c969c2p+50f, 0x1.d1fdcp+46f, 0x1.db0cb6p+42f, 0x1.e4a148p+38f,  \
       0x1.eec8b2p+34f, 0x1.f991bep+30f, 0x1.028672p+27f, 0x1.08a6ccp+23f,  \
       0x1.0f3512p+19f, 0x1.163e1p+15f, 0x1.1dd0dap+11f, 0x1.25ffp+7f,  \
       0x1.2edd38p+3f, 0x1.38849ap-1f, 0x1.43129p-5f, 0x1.4eab7p-9f,  \
       0x1.5b7adep-13f, 0x1.69b76p-17f, 0x1.79a4cep-21f, 0x1.8b98fcp-25f,  \
       0x1.a00222p-29f, 0x1.b7705p-33f, 0x1.d2a27p-37f, 0x1.f29c52p-41f,  \
       0x1.0c6434p-44f, 0x1.2398a8p-48f, 0x1.40788ep-52f, 0x1.65922cp-56f,  \
       0x1.97b5cap-60f, 0x1.e0382p-64f, 0x1.ce5288p-68f, -0x1.0274b2p-76f,  \
      },  \
      {  \
       0x1.2b713cp+69f, 0x1.2ffd68p+64f, 0x1.34bf42p+59f, 0x1.39bb08p+54f,  \
       0x1.3ef562p+49f, 0x1.447388p+44f, 0x1.4a3b5p+39f, 0x1.505344p+34f,  \
       0x1.56c2c6p+29f, 0x1.5d9232p+24f, 0x1.64cb02p+19f, 0x1.6c780cp+14f,  \
       0x1.74a5cp+9f, 0x1.7d6264p+4f, 0x1.86be98p-1f, 0x1.90cda4p-6f,  \
       0x1.9ba636p-11f, 0x1.a76302p-16f, 0x1.b423b8p-21f, 0x1.c20e36p-26f,  \
       0x1.d14ffep-31f, 0x1.e22006p-36f, 0x1.f4c106p-41f, 0x1.04c1e8p-45f,  \
       0x1.1064bcp-50f, 0x1.1d81a4p-55f, 0x1.2c54f4p-60f, 0x1.3d0b66p-65f,  \
       0x1.4f74fap-70f, 0x1.619f0cp-75f, 0x1.699c82p-80f, 0x1.7896a6p-83f,  \
      },  \
      {  \
       -0x1.0c099cp+84f, -0x1.10104ap+78f, -0x1.1445f4p+72f, -0x1.18ae3ep+66f,  \
       -0x1.1d4d3p+60f, -0x1.222748p+54f, -0x1.27418ap+48f, -0x1.2ca194p+42f,  \
       -0x1.324dbap+36f, -0x1.384d22p+30f, -0x1.3ea7e2p+24f, -0x1.456734p+18f,  \
       -0x1.4c95a6p+12f, -0x1.543f52p+6f, -0x1.5c723cp+0f, -0x1.653eap-6f,  \
       -0x1.6eb778p-12f, -0x1.78f31p-18f, -0x1.840bb2p-24f, -0x1.90209ap-30f,  \
       -0x1.9d5712p-36f, -0x1.abdbc6p-42f, -0x1.bbe46p-48f, -0x1.cdb108p-54f,  \
       -0x1.e18d5cp-60f, -0x1.f7cee6p-66f, -0x1.086568p-71f, -0x1.16575ep-77f,  \
       -0x1.257526p-83f, -0x1.33b13ap-89f, -0x1.3223b8p-95f, -0x1.4ee3dcp-102f,  \
      },  \
      {  \
       0x1.823c12p+98f, 0x1.8817ccp+91f, 0x1.8e38a6p+84f, 0x1.94a408p+77f,  \
       0x1.9b5ff8p+70f, 0x1.a27328p+63f, 0x1.a9e51cp+56f, 0x1.b1be4p+49f,  \
       0x1.ba0814p+42f, 0x1.c2cd5ap+35f, 0x1.cc1a48p+28f, 0x1.d5fcd4p+21f,  \
       0x1.e085p+14f, 0x1.ebc54p+7f, 0x1.f7d2fcp+0f, 0x1.026394p-6f,  \
       0x1.095f86p-13f, 0x1.10eea4p-20f, 0x1.19258p-27f, 0x1.221ccp-34f,  \
       0x1.2bf226p-41f, 0x1.36c9dep-48f, 0x1.42d032p-55f, 0x1.503b98p-62f,  \
       0x1.5f4f1ap-69f, 0x1.705c8ap-76f, 0x1.83c468p-83f, 0x1.99ebfep-90f,  \
       0x1.b30a4ap-97f, 0x1.ce1c64p-104f, 0x1.df9258p-111f, 0x1.5a06ccp-115f,  \
      },  \
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

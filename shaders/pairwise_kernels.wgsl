// Kernel functions of the squared distance r2, shared by the fused pairwise GEMM epilogue
// (distance.wgsl) and the unfused finishing pass (distance_finalize.wgsl).
// KERNEL codes follow PAIRWISE_KERNEL_CODES: 0 sqdist, 1 laplace, 2 gaussian, 3 gaussian-rfm;
// 4 is the Laplace AGOP weight exp(-r / L) / r, 0 for r < 1e-10 (used by agop only).
// `scale` is 1/L for laplace, the AGOP weight and gaussian-rfm, 1/(2 L^2) for gaussian.

override KERNEL: u32 = 0u;

fn apply_kernel(r2: f32, scale: f32) -> f32 {
  switch KERNEL {
    case 1u: {
      return exp(-sqrt(r2) * scale);
    }
    case 2u, 3u: {
      return exp(-r2 * scale);
    }
    case 4u: {
      let r = sqrt(r2);
      if (r < 1e-10) {
        return 0.0;
      }
      return exp(-r * scale) / r;
    }
    default: {
      return r2;
    }
  }
}

// Kernel functions of the squared distance r2, shared by the fused pairwise GEMM epilogue
// (distance.wgsl) and the unfused finishing pass (distance_finalize.wgsl).
// KERNEL codes follow PAIRWISE_KERNEL_CODES: 0 sqdist, 1 laplace, 2 gaussian, 3 gaussian-rfm.
// `scale` is 1/L for laplace and gaussian-rfm, 1/(2 L^2) for gaussian.

override KERNEL: u32 = 0u;

fn apply_kernel(r2: f32, scale: f32) -> f32 {
  switch KERNEL {
    case 1u: {
      return exp(-sqrt(r2) * scale);
    }
    case 2u, 3u: {
      return exp(-r2 * scale);
    }
    default: {
      return r2;
    }
  }
}

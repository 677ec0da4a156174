// The element types of gemm_core.wgsl's inputs: f32 A and B, staged in workgroup memory as f32
// quads. gemm_precision_f16.wgsl is the f16 version the host swaps in for matmul's precision 'f16'.
alias GemmIn = f32;
alias GemmQuad = vec4<f32>;

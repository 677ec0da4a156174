// gemm_core.wgsl on f16 inputs (matmul's precision 'f16'): A and B are read as f16 (half the
// memory traffic of f32) and staged in workgroup memory as f16 quads (half the bytes per tile);
// each quad is widened to f32 before it is multiplied, so products are exact and accumulate in f32.
enable f16;
alias GemmIn = f16;
alias GemmQuad = vec4<f16>;

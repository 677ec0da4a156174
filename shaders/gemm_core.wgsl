// Tiled GEMM main loop: acc = op(A) op(B) for one TILE_M x TILE_N tile of C per workgroup.
//
// Included by matmul.wgsl (alpha/beta epilogue) and distance.wgsl (kernel epilogue); the
// including file defines
//   fn epilogue(row: u32, col: u32, idx: u32, acc: f32)
// which receives the tile-local result for C[row, col] (idx is its element index in gC).
//
// Layout: all operands row-major. op(A) is M x K (stored M x K, or K x M when TRANS_A), op(B)
// is K x N (stored K x N, or N x K when TRANS_B); lda/ldb/ldc are the stored row lengths. The
// host binds sub-ranges of large buffers, so every index adds an element offset from the
// uniform block; workgroup_id.z selects the batch item.
//
// Each invocation owns an RM x RN register block (RM, RN in {4, 8}) laid out as RM/4 x RN/4
// quads strided by WG_M / WG_N quads, so a warp's reads of a tile row are contiguous vec4s
// (no shared-memory bank conflicts) and its stores to C are coalesced. The K loop stages a
// TILE_K slice of both operands in workgroup memory as vec4 quads along M (A) and N (B); each
// row of a staged tile is padded by one quad so that transposing stores do not all hit the same
// bank. The next slice is fetched into registers while the current one is multiplied.
//
// The input element type (GemmIn, and GemmQuad for staged quads) comes from gemm_precision.wgsl:
// f32, or f16 when the host swaps in gemm_precision_f16.wgsl. Accumulation is f32 either way.
//!include gemm_precision

struct GemmParams {
  M: u32,
  N: u32,
  K: u32,
  lda: u32,
  ldb: u32,
  ldc: u32,
  offA: u32,
  offB: u32,
  offC: u32,
  strideA: u32,
  strideB: u32,
  strideC: u32,
  alpha: f32,
  beta: f32,
  // epilogue-specific: element offsets of the row and column vectors (distance norms)
  offRow: u32,
  offCol: u32,
  // epilogue-specific: kernel scale (distance)
  scale: f32,
  pad0: u32,
  pad1: u32,
  pad2: u32,
}

@group(0) @binding(0) var<uniform> gp: GemmParams;
@group(0) @binding(1) var<storage, read> gA: array<GemmIn>;
@group(0) @binding(2) var<storage, read> gB: array<GemmIn>;
@group(0) @binding(3) var<storage, read_write> gC: array<f32>;

override TRANS_A: bool = false;
override TRANS_B: bool = false;
override TILE_M: u32 = 64u;
override TILE_N: u32 = 64u;
override TILE_K: u32 = 16u;
/** invocations along M and N; TILE_M / WG_M and TILE_N / WG_N must be 4 or 8 */
override WG_M: u32 = 16u;
override WG_N: u32 = 16u;

// Register arrays need constant sizes; these bound the per-invocation work of any config.
const MAX_Q: u32 = 2u;      // quads per invocation along M and along N (register block <= 8 x 8)
const MAX_LOADS: u32 = 4u;  // staged quads per invocation per operand per K slice

override RM4: u32 = TILE_M / WG_M / 4u;
override RN4: u32 = TILE_N / WG_N / 4u;
override QM: u32 = TILE_M / 4u;
override QN: u32 = TILE_N / 4u;
override SA: u32 = QM + 1u;
override SB: u32 = QN + 1u;
override THREADS: u32 = WG_M * WG_N;
override UNITS_A: u32 = TILE_K * QM;
override UNITS_B: u32 = TILE_K * QN;
override LOADS_A: u32 = (UNITS_A + THREADS - 1u) / THREADS;
override LOADS_B: u32 = (UNITS_B + THREADS - 1u) / THREADS;

var<workgroup> tileA: array<GemmQuad, TILE_K * SA>;
var<workgroup> tileB: array<GemmQuad, TILE_K * SB>;

// A staged unit is one quad: 4 consecutive rows of op(A) (or columns of op(B)) at one k.
// Its coordinates are chosen so that consecutive invocations read consecutive addresses of the
// stored matrix.
fn unitA(u: u32) -> vec2<u32> {
  // (kk, quad)
  if (TRANS_A) {
    return vec2<u32>(u / QM, u % QM);
  }
  return vec2<u32>(u % TILE_K, u / TILE_K);
}

fn unitB(u: u32) -> vec2<u32> {
  if (TRANS_B) {
    return vec2<u32>(u % TILE_K, u / TILE_K);
  }
  return vec2<u32>(u / QN, u % QN);
}

fn fetchA(baseA: u32, m0: u32, k0: u32, u: u32) -> GemmQuad {
  var v = GemmQuad();
  if (u < UNITS_A) {
    let c = unitA(u);
    let k = k0 + c.x;
    let m = m0 + 4u * c.y;
    if (k < gp.K) {
      for (var j = 0u; j < 4u; j++) {
        if (m + j < gp.M) {
          var idx: u32;
          if (TRANS_A) {
            idx = baseA + k * gp.lda + m + j;
          } else {
            idx = baseA + (m + j) * gp.lda + k;
          }
          v[j] = gA[idx];
        }
      }
    }
  }
  return v;
}

fn fetchB(baseB: u32, n0: u32, k0: u32, u: u32) -> GemmQuad {
  var v = GemmQuad();
  if (u < UNITS_B) {
    let c = unitB(u);
    let k = k0 + c.x;
    let n = n0 + 4u * c.y;
    if (k < gp.K) {
      for (var j = 0u; j < 4u; j++) {
        if (n + j < gp.N) {
          var idx: u32;
          if (TRANS_B) {
            idx = baseB + (n + j) * gp.ldb + k;
          } else {
            idx = baseB + k * gp.ldb + n + j;
          }
          v[j] = gB[idx];
        }
      }
    }
  }
  return v;
}

@compute @workgroup_size(WG_N, WG_M, 1)
fn main(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(local_invocation_index) tid: u32,
) {
  let m0 = wg.y * TILE_M;
  let n0 = wg.x * TILE_N;
  let baseA = gp.offA + wg.z * gp.strideA;
  let baseB = gp.offB + wg.z * gp.strideB;
  let baseC = gp.offC + wg.z * gp.strideC;
  let tx = lid.x;
  let ty = lid.y;

  var acc: array<vec4<f32>, 16>; // (4 * MAX_Q) rows x MAX_Q quads
  var ra: array<GemmQuad, MAX_LOADS>;
  var rb: array<GemmQuad, MAX_LOADS>;
  for (var i = 0u; i < LOADS_A; i++) {
    ra[i] = fetchA(baseA, m0, 0u, tid + i * THREADS);
  }
  for (var i = 0u; i < LOADS_B; i++) {
    rb[i] = fetchB(baseB, n0, 0u, tid + i * THREADS);
  }

  for (var k0 = 0u; k0 < gp.K; k0 += TILE_K) {
    for (var i = 0u; i < LOADS_A; i++) {
      let u = tid + i * THREADS;
      if (u < UNITS_A) {
        let c = unitA(u);
        tileA[c.x * SA + c.y] = ra[i];
      }
    }
    for (var i = 0u; i < LOADS_B; i++) {
      let u = tid + i * THREADS;
      if (u < UNITS_B) {
        let c = unitB(u);
        tileB[c.x * SB + c.y] = rb[i];
      }
    }
    workgroupBarrier();

    let kNext = k0 + TILE_K;
    if (kNext < gp.K) {
      for (var i = 0u; i < LOADS_A; i++) {
        ra[i] = fetchA(baseA, m0, kNext, tid + i * THREADS);
      }
      for (var i = 0u; i < LOADS_B; i++) {
        rb[i] = fetchB(baseB, n0, kNext, tid + i * THREADS);
      }
    }

    for (var kk = 0u; kk < TILE_K; kk++) {
      var a: array<vec4<f32>, MAX_Q>;
      var b: array<vec4<f32>, MAX_Q>;
      for (var i4 = 0u; i4 < RM4; i4++) {
        a[i4] = vec4<f32>(tileA[kk * SA + i4 * WG_M + ty]);
      }
      for (var j4 = 0u; j4 < RN4; j4++) {
        b[j4] = vec4<f32>(tileB[kk * SB + j4 * WG_N + tx]);
      }
      for (var i4 = 0u; i4 < RM4; i4++) {
        for (var ii = 0u; ii < 4u; ii++) {
          let av = a[i4][ii];
          for (var j4 = 0u; j4 < RN4; j4++) {
            let r = (i4 * 4u + ii) * MAX_Q + j4;
            acc[r] = acc[r] + av * b[j4];
          }
        }
      }
    }
    workgroupBarrier();
  }

  for (var i4 = 0u; i4 < RM4; i4++) {
    for (var ii = 0u; ii < 4u; ii++) {
      let row = m0 + (i4 * WG_M + ty) * 4u + ii;
      if (row < gp.M) {
        for (var j4 = 0u; j4 < RN4; j4++) {
          let v = acc[(i4 * 4u + ii) * MAX_Q + j4];
          for (var jj = 0u; jj < 4u; jj++) {
            let col = n0 + (j4 * WG_N + tx) * 4u + jj;
            if (col < gp.N) {
              epilogue(row, col, baseC + row * gp.ldc + col, v[jj]);
            }
          }
        }
      }
    }
  }
}

// f32 -> f16 for matmul's precision 'f16': dst (pairs of f16) = src rounded to f16, two elements
// per invocation, the pair past an odd count padded with 0. Magnitudes beyond f16's largest
// finite value (65504) are clamped to it: WGSL leaves the conversion of such values undefined.
enable f16;

struct ToF16Params {
  count: u32,
  offIn: u32,
  offOut: u32,
  groupsX: u32,
}

@group(0) @binding(0) var<uniform> tp: ToF16Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec2<f16>>;

const WG: u32 = 256u;
const F16_MAX: f32 = 65504.0;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let pair = (wg.y * tp.groupsX + wg.x) * WG + lid;
  let e = 2u * pair;
  if (e >= tp.count) {
    return;
  }
  var v = vec2<f32>(src[tp.offIn + e], 0.0);
  if (e + 1u < tp.count) {
    v.y = src[tp.offIn + e + 1u];
  }
  dst[tp.offOut + pair] = vec2<f16>(clamp(v, vec2<f32>(-F16_MAX), vec2<f32>(F16_MAX)));
}

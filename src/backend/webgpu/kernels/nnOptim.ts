/**
 * Host side of shaders/nn_optim.wgsl: fused SGD (with or without momentum) and Adam updates of one
 * parameter in place, over ranges that fit one binding (the parameter, its gradient and its state
 * buffers share element offsets).
 */
import type { AdamUpdateArgs, SgdUpdateArgs } from '../../types.js';
import type { GpuDevice, GpuStorage } from '../device.js';
import { assertDistinct, bindingCap, f32, foldedGroups, forEachRange, packParams, view } from './common.js';

const PER_GROUP = 1024;

interface OptFields {
  count: number;
  offP: number;
  offG: number;
  offM?: number;
  offV?: number;
  groupsX: number;
  lr: number;
  b1?: number;
  b2?: number;
  eps?: number;
  wd: number;
  bc1?: number;
  bc2?: number;
}

function optParams(p: OptFields): ArrayBuffer {
  return packParams([
    p.count, p.offP, p.offG, p.offM ?? 0, p.offV ?? 0, p.groupsX,
    f32(p.lr), f32(p.b1 ?? 0), f32(p.b2 ?? 0), f32(p.eps ?? 0), f32(p.wd), f32(p.bc1 ?? 1), f32(p.bc2 ?? 1), 0, 0, 0,
  ]);
}

const gpu = (s: object) => s as GpuStorage;

export function encodeSgdUpdate(dev: GpuDevice, a: SgdUpdateArgs): void {
  const { elements } = a;
  if (elements === 0) return;
  const p = view(gpu(a.param));
  const g = view(gpu(a.grad));
  const vel = a.momentum !== 0 && a.velocity ? view(gpu(a.velocity)) : undefined;
  if (a.momentum !== 0 && !vel) throw new RangeError('webgpu: sgdUpdate: momentum != 0 needs a velocity buffer');
  assertDistinct('sgdUpdate', p, g, ...(vel ? [vel] : []));
  if (vel) assertDistinct('sgdUpdate', vel, g);
  const pipeline = dev.pipeline('nn_optim', vel ? 'sgd' : 'sgd_plain');
  forEachRange(elements, bindingCap(dev), (start, n) => {
    const bp = dev.bindRange(p.s, start, n);
    const bg = dev.bindRange(g.s, start, n);
    const bm = vel ? dev.bindRange(vel.s, start, n) : undefined;
    const groups = foldedGroups(dev, n, PER_GROUP);
    const params = optParams({
      count: n, offP: bp.elemOffset, offG: bg.elemOffset, offM: bm?.elemOffset, groupsX: groups[0],
      lr: a.lr, b1: a.momentum, wd: a.weightDecay,
    });
    dev.dispatch('sgdUpdate', pipeline, params, bm ? [bp.binding, bg.binding, bm.binding] : [bp.binding, bg.binding], groups);
  });
}

export function encodeAdamUpdate(dev: GpuDevice, a: AdamUpdateArgs): void {
  const { elements } = a;
  if (elements === 0) return;
  const [p, g, m, v] = [a.param, a.grad, a.m, a.v].map((s) => view(gpu(s))) as [ReturnType<typeof view>, ReturnType<typeof view>, ReturnType<typeof view>, ReturnType<typeof view>];
  assertDistinct('adamUpdate', p, g, m, v);
  assertDistinct('adamUpdate', m, g, v);
  assertDistinct('adamUpdate', v, g);
  const pipeline = dev.pipeline('nn_optim', 'adam');
  forEachRange(elements, bindingCap(dev), (start, n) => {
    const [bp, bg, bm, bv] = [p, g, m, v].map((x) => dev.bindRange(x.s, start, n));
    const groups = foldedGroups(dev, n, PER_GROUP);
    const params = optParams({
      count: n, offP: bp!.elemOffset, offG: bg!.elemOffset, offM: bm!.elemOffset, offV: bv!.elemOffset, groupsX: groups[0],
      lr: a.lr, b1: a.beta1, b2: a.beta2, eps: a.eps, wd: a.weightDecay, bc1: a.bc1, bc2: a.bc2,
    });
    dev.dispatch('adamUpdate', pipeline, params, [bp!.binding, bg!.binding, bm!.binding, bv!.binding], groups);
  });
}

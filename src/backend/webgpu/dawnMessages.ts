/**
 * Dawn's messages. Dawn and the Mesa drivers under it write warnings straight to the process's
 * stderr while adapters and devices are created (e.g. "maxDynamicUniformBuffersPerPipelineLayout
 * artificially reduced", "XDG_RUNTIME_DIR is invalid"); on a machine with a Vulkan driver every
 * command would print them. ncgpu captures stderr around those calls (through the native addon)
 * and keeps the messages: `ncgpu info` lists them, and NCGPU_DAWN_MESSAGES=1 prints them as they
 * come. Anything else written to stderr in that window is passed on unchanged.
 */
import { addon } from '../cpu/addon.js';

/** lines Dawn, the Vulkan loader or Mesa write (the rest of a captured window is passed on) */
const DRIVER_LINE = /^(Warning|Error|Info|Debug)\b|^(MESA|Mesa|EGL|libEGL|MESA-LOADER|WARNING: lavapipe|radv|ANV|vk|Vulkan|VK_|XDG_RUNTIME_DIR|ICD|LOADER|llvmpipe|lavapipe|glx|dawn|Dawn)/;
const KEPT = 200;
const kept: string[] = [];

/** The driver messages captured so far in this process (the latest 200), each with its step. */
export function dawnMessages(): readonly string[] {
  return kept;
}

function record(step: string, text: string): void {
  const passOn: string[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    if (!DRIVER_LINE.test(line.trim())) {
      passOn.push(line);
      continue;
    }
    kept.push(`${step}: ${line.trim()}`);
    if (process.env.NCGPU_DAWN_MESSAGES === '1') process.stderr.write(`ncgpu: Dawn (${step}): ${line.trim()}\n`);
  }
  if (kept.length > KEPT) kept.splice(0, kept.length - KEPT);
  if (passOn.length > 0) process.stderr.write(`${passOn.join('\n')}\n`);
}

/** Runs `fn` with stderr captured; what Dawn and its drivers print is kept under `step`. */
export async function withDawnMessages<T>(step: string, fn: () => Promise<T>): Promise<T> {
  const native = addon();
  let capturing = false;
  try {
    native.captureStderr();
    capturing = true;
  } catch {
    // a capture is already running (an overlapping creation): it records these messages too
  }
  try {
    return await fn();
  } finally {
    if (capturing) record(step, native.releaseStderr());
  }
}

#!/usr/bin/env bash
# `npm run test:vulkan`: the test files that run shaders, on the Vulkan software lane (Dawn's
# Vulkan backend over Mesa lavapipe, core mode) instead of the OpenGL ES one. Installs the
# private lavapipe first when it is missing (scripts/install-lavapipe.sh). Extra arguments go to
# vitest.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(scripts/install-lavapipe.sh)"
export VK_ICD_FILENAMES LD_LIBRARY_PATH
export NCGPU_SOFTWARE_LANE=vulkan
# the files that create a software GPU context (directly or through the BACKENDS helper)
mapfile -t files < <(grep -lE "webgpu-software|BACKENDS|findSoftwareAdapter" test/*.test.ts)
npx vitest run "${files[@]}" "$@"

#!/usr/bin/env bash
# The Vulkan software lane's driver: Mesa's lavapipe from Debian bookworm-backports, unpacked into
# a private folder so the system's Mesa (and with it the OpenGL ES lane) stays as it is.
#
#   scripts/install-lavapipe.sh [DIR]      (default DIR: .lavapipe in the repository)
#
# Debian 12's own lavapipe (Mesa 22.3) lacks features Dawn requires; Mesa 25 from backports has
# them (core feature level, subgroups, shader-f16, timestamp queries). Needs apt-get and network
# access to deb.debian.org; installs nothing system-wide except the driver's runtime
# dependencies from bookworm's main suite (LLVM 15, xcb, ...), which the GLES lane mostly has
# already. Prints the two variables that select the lane:
#
#   export VK_ICD_FILENAMES=DIR/lvp_icd.json LD_LIBRARY_PATH=DIR/lib
#
# then NCGPU_SOFTWARE_LANE=vulkan (or createContext({ backend: 'webgpu-software', softwareLane: 'vulkan' })).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$(realpath -m "${1:-$root/.lavapipe}")"
lib="$dir/lib"
icd="$dir/lvp_icd.json"
if [ -e "$lib/libvulkan_lvp.so" ] && [ -e "$icd" ]; then
  echo "export VK_ICD_FILENAMES=$icd LD_LIBRARY_PATH=$lib"
  exit 0
fi
sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# a private apt state that sees bookworm-backports only: the system's sources stay untouched
mkdir -p "$work/lists/partial" "$work/debs"
echo "deb http://deb.debian.org/debian bookworm-backports main" > "$work/sources.list"
apt_private=(-o "Dir::Etc::sourcelist=$work/sources.list" -o "Dir::Etc::sourceparts=-"
             -o "Dir::State::Lists=$work/lists" -o "APT::Get::List-Cleanup=0"
             -o "APT::Sandbox::User=root" -qq)
apt-get "${apt_private[@]}" update
(cd "$work/debs" && apt-get "${apt_private[@]}" download \
  mesa-vulkan-drivers/bookworm-backports libdrm2/bookworm-backports libdrm-amdgpu1/bookworm-backports)

# the Vulkan loader (bookworm's) goes into the folder too, so no process sees a Vulkan loader
# unless it asks for this lane
(cd "$work/debs" && apt-get -qq -o "APT::Sandbox::User=root" download libvulkan1)

# the driver's other dependencies, from bookworm itself (not the backports: those would upgrade
# the GLES lane's Mesa)
deps="$(dpkg-deb -f "$work/debs"/mesa-vulkan-drivers_*.deb Depends | tr ',' '\n' | sed -E 's/\(.*\)//; s/\|.*//; s/ //g' |
        grep -vE '^(libvulkan1|libdrm2|libdrm-amdgpu1|libc6|libgcc-s1|libstdc\+\+6)$' || true)"
missing=()
for p in $deps; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

mkdir -p "$work/root" "$lib"
for deb in "$work/debs"/*.deb; do dpkg-deb -x "$deb" "$work/root"; done
cp -a "$work/root/usr/lib/x86_64-linux-gnu/"{libvulkan_lvp.so,libvulkan.so.1*,libdrm.so.2*,libdrm_amdgpu.so.1*} "$lib/"
# the driver manifest, with an absolute library path
sed -E "s#\"library_path\": *\"[^\"]*\"#\"library_path\": \"$lib/libvulkan_lvp.so\"#" \
  "$work/root/usr/share/vulkan/icd.d/lvp_icd.json" > "$icd"
echo "export VK_ICD_FILENAMES=$icd LD_LIBRARY_PATH=$lib"

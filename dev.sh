#!/usr/bin/env bash
# Set-up and entry point for developers: `./dev.sh demo` runs the demo, `./dev.sh test` the whole test
# suite. Both first install what is missing on a Debian 12 machine (apt packages, the .venv, pip packages).
set -euo pipefail
cd "$(dirname "$0")"

APT_PACKAGES=(
  python3-venv python3-dev gcc linux-libc-dev iproute2 util-linux
  janus janus-tools libjs-janus-gateway libjs-webrtc-adapter
  chromium chromium-driver postgresql iptables
  libportaudio2 libopus0 libasound2-plugins pulseaudio pulseaudio-utils espeak-ng
  xvfb fonts-inter fonts-dejavu-core
  cage xwayland systemd debootstrap mtools dosfstools fdisk e2fsprogs qemu-system-x86 ovmf
  libegl1 libgl1 libfontconfig1 libdbus-1-3 libxkbcommon0 libxkbcommon-x11-0
  libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0
  libxcb-shape0 libxcb-xinerama0 libxcb-xkb1
)

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else echo "Installing system packages needs root: run this as root or install sudo." >&2; exit 1
  fi
}

install_system_packages() {
  if ! command -v apt-get >/dev/null || ! command -v dpkg-query >/dev/null; then
    echo "This set-up is for Debian 12 (it needs apt-get). On another system install these yourself:" >&2
    echo "  ${APT_PACKAGES[*]}" >&2
    exit 1
  fi
  local missing=()
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "Installing system packages: ${missing[*]}"
    as_root apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
}

install_python_packages() {
  if [ ! -x .venv/bin/python ]; then
    /usr/bin/python3 -m venv .venv
  fi
  local stamp=.venv/.installed-from
  local want
  want=$(sha256sum pyproject.toml | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e '.[dev]'
    echo "$want" > "$stamp"
  fi
}

setup() {
  install_system_packages
  install_python_packages
  .venv/bin/python -m ui.build_translations >/dev/null  # the screens' .qm files (git-ignored)
}

case "${1:-}" in
  demo)
    shift
    setup
    exec .venv/bin/kiosk-demo "$@"
    ;;
  test)
    shift
    setup
    exec .venv/bin/python -m pytest "$@"
    ;;
  bench)
    shift
    setup
    if [ "${1:-}" = "--faults" ]; then
      shift
      exec .venv/bin/python -m bench.fault_bench "$@"
    fi
    if [ "${1:-}" = "--noise" ]; then
      shift
      exec .venv/bin/python -m bench.noise_bench "$@"
    fi
    exec .venv/bin/python -m bench.call_bench "$@"
    ;;
  setup)
    setup
    ;;
  *)
    echo "usage: ./dev.sh demo | ./dev.sh test [pytest arguments] | ./dev.sh bench [--faults | --noise] [--help] | ./dev.sh setup" >&2
    exit 2
    ;;
esac

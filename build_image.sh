#!/usr/bin/env bash
# Builds the terminal's OS: Debian 12 (minbase) for x86-64 with the kiosk installed in its own venv from a
# wheel of this checkout, the kiosk user, the systemd units enabled, the kiosk session on tty1 and provisioning
# ready to run. Output: a bootable raw disk image (GPT, EFI with systemd-boot) and a manifest, or with
# --rootfs-only the root file system as a folder (and its manifest).
#
#   sudo ./build_image.sh [--output DIR] [--rootfs-only] [--keep-rootfs] [--mirror URL] [--size-gib N]
#                         [--config DIR]
#
# --config DIR puts DIR's files (kiosk.toml and the files it names) into /etc/kiosk: a training image that
# boots straight into the kiosk. A facility's terminal gets its configuration from kiosk-provision instead.
# Runs as root (debootstrap and chroot need it). Packages come from the Debian mirror this machine's apt uses
# unless --mirror says otherwise; Python packages are built into wheels here, so the image needs no access to a
# Python package index.
set -euo pipefail
cd "$(dirname "$0")"
CHECKOUT=$PWD

OUTPUT=build/image
ROOTFS_ONLY=0
KEEP_ROOTFS=0
CONFIG_DIR=""
MIRROR=""
SIZE_GIB=4
SUITE=bookworm
# What the kiosk needs at run time, beside Python: cage, seatd and Mesa for the screen, the libraries Qt's wheel
# loads, PortAudio, libopus (the call's voice codec, with its FEC and concealment), fonts, and the network: systemd-networkd (in systemd) for DHCP, resolved for names and
# timesyncd for the clock (central refuses a request signed more than 60 s off its own time).
PACKAGES=(
  systemd systemd-sysv systemd-resolved systemd-timesyncd udev dbus libpam-systemd kmod iproute2 ca-certificates
  python3 python3-venv
  cage seatd xwayland libgl1 libegl1 libgl1-mesa-dri libegl-mesa0 libgbm1 libwayland-client0 libwayland-cursor0
  libwayland-egl1 libxkbcommon0 libfontconfig1 libdbus-1-3
  libportaudio2 libopus0 fonts-inter fonts-dejavu-core
)
BOOT_PACKAGES=(linux-image-amd64 initramfs-tools systemd-boot systemd-boot-efi)

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
  case "$1" in
    --output) OUTPUT=$2; shift 2 ;;
    --rootfs-only) ROOTFS_ONLY=1; shift ;;
    --keep-rootfs) KEEP_ROOTFS=1; shift ;;
    --config) CONFIG_DIR=$(cd "$2" && pwd); shift 2 ;;
    --mirror) MIRROR=$2; shift 2 ;;
    --size-gib) SIZE_GIB=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "build_image.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done

say() { printf '==> %s\n' "$*"; }

check_prerequisites() {
  local missing=() tool package
  [ "$(id -u)" = 0 ] || { echo "build_image.sh: run it as root (debootstrap and chroot need it)" >&2; exit 2; }
  # tool:package that provides it on Debian
  for tool in debootstrap:debootstrap chroot:coreutils mkfs.ext4:e2fsprogs mkfs.vfat:dosfstools \
      mcopy:mtools sfdisk:fdisk sha256sum:coreutils; do
    if [ "$ROOTFS_ONLY" = 1 ] && [[ "$tool" =~ ^(mkfs.vfat|mcopy|sfdisk): ]]; then continue; fi
    command -v "${tool%%:*}" >/dev/null || missing+=("${tool%%:*} (apt install ${tool##*:})")
  done
  PYTHON=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
  "$PYTHON" -m pip --version >/dev/null 2>&1 || missing+=("pip for $PYTHON (./dev.sh test sets up .venv)")
  if [ -z "$MIRROR" ]; then
    MIRROR=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
    [ -n "$MIRROR" ] || MIRROR=$(awk '$1 == "deb" && $3 ~ /^bookworm/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
    [ -n "$MIRROR" ] || missing+=("a Debian mirror (give --mirror URL: this machine's apt sources name none)")
  fi
  if [ ${#missing[@]} -gt 0 ]; then
    echo "build_image.sh: missing:" >&2
    printf '  %s\n' "${missing[@]}" >&2
    exit 2
  fi
}

WORK=""
cleanup() {
  if [ -n "$WORK" ] && [ -d "$WORK/rootfs" ]; then
    for mount in proc sys dev/pts dev; do
      mountpoint -q "$WORK/rootfs/$mount" && umount -l "$WORK/rootfs/$mount"
    done
  fi
  return 0
}
trap cleanup EXIT

in_root() { chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }

build_wheels() {
  say "building the kiosk's wheel and its dependencies' wheels"
  "$PYTHON" -m pip wheel --quiet --wheel-dir "$WORK/wheels" "$CHECKOUT"
}

bootstrap() {
  say "debootstrap ($SUITE, minbase)"
  mkdir -p "$CHECKOUT/build/cache/debs"
  debootstrap --variant=minbase --cache-dir="$CHECKOUT/build/cache/debs" "$SUITE" "$ROOT" "$MIRROR" \
    >"$WORK/debootstrap.log" 2>&1 || { tail -20 "$WORK/debootstrap.log" >&2; exit 1; }
  mount -t proc proc "$ROOT/proc"
  mount -t sysfs sysfs "$ROOT/sys"
  mount --bind /dev "$ROOT/dev"
  mount --bind /dev/pts "$ROOT/dev/pts"
  # Services must not start inside the chroot while packages are installed.
  printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
  chmod 755 "$ROOT/usr/sbin/policy-rc.d"
  cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
  local packages=("${PACKAGES[@]}")
  [ "$ROOTFS_ONLY" = 1 ] || packages+=("${BOOT_PACKAGES[@]}")
  say "installing ${#packages[@]} packages"
  in_root apt-get update -q >"$WORK/apt.log" 2>&1
  in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${packages[@]}" \
    >>"$WORK/apt.log" 2>&1 || { tail -20 "$WORK/apt.log" >&2; exit 1; }
  in_root apt-get clean
  rm -f "$ROOT/usr/sbin/policy-rc.d"
}

install_kiosk() {
  say "installing the kiosk into /opt/kiosk"
  local wheels=/var/tmp/kiosk-wheels
  mkdir -p "$ROOT$wheels"
  cp "$WORK"/wheels/*.whl "$ROOT$wheels/"
  in_root python3 -m venv /opt/kiosk
  in_root /opt/kiosk/bin/pip install --quiet --no-index --find-links "$wheels" visitation-kiosk
  rm -rf "$ROOT$wheels"
  cp "$CHECKOUT/README.md" "$ROOT/opt/kiosk/README.md"
  for command in kiosk kiosk-provision; do
    ln -sf "/opt/kiosk/bin/$command" "$ROOT/usr/local/bin/$command"
  done
}

configure_system() {
  say "the kiosk user, its units and a locked-down console"
  in_root useradd --system --user-group --home-dir /var/lib/kiosk --no-create-home --shell /usr/sbin/nologin \
    --groups video,audio,input,render kiosk
  install -d -m 0750 "$ROOT/var/lib/kiosk"
  in_root chown kiosk:kiosk /var/lib/kiosk
  install -d -m 0755 "$ROOT/etc/kiosk"
  install -m 0644 "$CHECKOUT"/systemd/*.service "$ROOT/usr/lib/systemd/system/"
  systemctl --root="$ROOT" enable kiosk.service kiosk-setup.service >/dev/null 2>&1
  systemctl --root="$ROOT" set-default graphical.target >/dev/null 2>&1
  # tty1 is the kiosk's: no login prompt there, ever. A technician's console stays on tty2 until provisioning
  # has started the kiosk, whose compositor then allows no VT switching.
  systemctl --root="$ROOT" mask getty@tty1.service ctrl-alt-del.target >/dev/null 2>&1
  printf 'kernel.sysrq = 0\n' >"$ROOT/etc/sysctl.d/90-kiosk.conf"
  configure_network
  printf 'kiosk\n' >"$ROOT/etc/hostname"
  if [ -n "$CONFIG_DIR" ]; then
    cp -r "$CONFIG_DIR"/. "$ROOT/etc/kiosk/"
    # Secrets are the kiosk user's alone, as kiosk-provision leaves them.
    local owner
    owner="$(in_root id -u kiosk):$(in_root id -g kiosk)"
    find "$ROOT/etc/kiosk" -type f \( -name '*token*' -o -name '*.key' -o -name '*pin*' \) \
      -exec chmod 0600 {} + -exec chown "$owner" {} +
  fi
}

configure_network() {
  # DHCP on any wired port; names from the DHCP server's DNS servers (resolved's stub, not the build machine's
  # resolv.conf); the time from the DHCP server's NTP servers or Debian's pool. No waiting for the network at
  # boot: the kiosk shows its screen at once and says so while central cannot be reached.
  install -d "$ROOT/etc/systemd/network"
  printf '[Match]\nType=ether\n\n[Network]\nDHCP=yes\n' >"$ROOT/etc/systemd/network/20-wired.network"
  systemctl --root="$ROOT" enable systemd-networkd.service systemd-resolved.service systemd-timesyncd.service \
    >/dev/null 2>&1
  systemctl --root="$ROOT" disable systemd-networkd-wait-online.service >/dev/null 2>&1
  ln -sfn ../run/systemd/resolve/stub-resolv.conf "$ROOT/etc/resolv.conf"
}

write_manifest() {
  local manifest=$1 image=${2:-}
  say "manifest"
  {
    printf '{\n  "app": "visitation-kiosk",\n  "version": "%s",\n' "$(in_root /opt/kiosk/bin/kiosk --version | awk '{print $2}')"
    printf '  "debian": "%s",\n' "$(cat "$ROOT/etc/debian_version")"
    printf '  "built": "%s",\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    if [ -n "$image" ]; then
      printf '  "image": "%s",\n  "image_sha256": "%s",\n' "$(basename "$image")" "$(sha256sum "$image" | cut -d' ' -f1)"
    fi
    printf '  "packages": {\n'
    in_root dpkg-query -W -f '${Package}\t${Version}\n' | awk -F'\t' '{printf "%s    \"%s\": \"%s\"", (NR > 1 ? ",\n" : ""), $1, $2} END {print ""}'
    printf '  },\n  "python_packages": {\n'
    in_root /opt/kiosk/bin/pip list --format=freeze 2>/dev/null \
      | awk -F'==' '{printf "%s    \"%s\": \"%s\"", (NR > 1 ? ",\n" : ""), $1, $2} END {print ""}'
    printf '  }\n}\n'
  } >"$manifest"
}

make_disk_image() {
  local image=$1 esp=$WORK/esp.img root_img=$WORK/root.img esp_mib=256 kernel initrd
  say "disk image (GPT: EFI system partition and the root file system)"
  kernel=$(ls "$ROOT"/boot/vmlinuz-* | sort -V | tail -1)
  initrd=$(ls "$ROOT"/boot/initrd.img-* | sort -V | tail -1)
  local root_uuid
  root_uuid=$(cat /proc/sys/kernel/random/uuid)
  cleanup  # the root file system is copied whole: nothing may be mounted in it
  mkfs.vfat -C -n KIOSK-ESP "$esp" $((esp_mib * 1024)) >/dev/null
  mmd -i "$esp" ::/EFI ::/EFI/BOOT ::/loader ::/loader/entries
  mcopy -i "$esp" "$ROOT/usr/lib/systemd/boot/efi/systemd-bootx64.efi" ::/EFI/BOOT/BOOTX64.EFI
  mcopy -i "$esp" "$kernel" ::/vmlinuz
  mcopy -i "$esp" "$initrd" ::/initrd.img
  printf 'default kiosk.conf\ntimeout 0\neditor no\n' >"$WORK/loader.conf"
  printf 'title Visitation kiosk\nlinux /vmlinuz\ninitrd /initrd.img\noptions root=PARTUUID=%s ro loglevel=4 systemd.show_status=yes console=tty2 console=ttyS0,115200\n' \
    "$root_uuid" >"$WORK/kiosk.conf"
  mcopy -i "$esp" "$WORK/loader.conf" ::/loader/loader.conf
  mcopy -i "$esp" "$WORK/kiosk.conf" ::/loader/entries/kiosk.conf
  printf 'PARTUUID=%s / ext4 defaults,noatime 0 1\ntmpfs /tmp tmpfs nosuid,nodev 0 0\n' "$root_uuid" >"$ROOT/etc/fstab"
  local root_mib=$((SIZE_GIB * 1024 - esp_mib - 2))
  mkfs.ext4 -q -L kiosk-root -d "$ROOT" "$root_img" "${root_mib}M" >/dev/null
  truncate -s "${SIZE_GIB}G" "$image"
  sfdisk --quiet "$image" <<EOF
label: gpt
start=1MiB, size=${esp_mib}MiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=esp
start=$((1 + esp_mib))MiB, size=${root_mib}MiB, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, uuid=$root_uuid, name=root
EOF
  dd if="$esp" of="$image" bs=1M seek=1 conv=notrunc status=none
  dd if="$root_img" of="$image" bs=1M seek=$((1 + esp_mib)) conv=notrunc status=none
}

main() {
  check_prerequisites
  mkdir -p "$OUTPUT"
  OUTPUT=$(cd "$OUTPUT" && pwd)
  WORK=$(mktemp -d "$OUTPUT/.work.XXXXXX")
  ROOT=$WORK/rootfs
  build_wheels
  bootstrap
  install_kiosk
  configure_system
  if [ "$ROOTFS_ONLY" = 1 ]; then
    write_manifest "$OUTPUT/manifest.json"
  else
    make_disk_image "$OUTPUT/kiosk.img"
    write_manifest "$OUTPUT/manifest.json" "$OUTPUT/kiosk.img"
  fi
  cleanup
  rm -rf "$OUTPUT/rootfs"
  if [ "$ROOTFS_ONLY" = 1 ] || [ "$KEEP_ROOTFS" = 1 ]; then
    mv "$ROOT" "$OUTPUT/rootfs"
  fi
  rm -rf "$WORK"
  say "done: $(cd "$OUTPUT" && ls -d rootfs kiosk.img manifest.json 2>/dev/null | tr '\n' ' ')in $OUTPUT"
}

main

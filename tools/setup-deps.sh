#!/usr/bin/env bash
# Installs every Debian package hyperllava needs to build, test and run.
# Idempotent: does nothing when all are present. munge and the slurm
# packages give tests/cli/test_slurm.sh its one-node cluster; their own
# services stay down without /etc/slurm/slurm.conf. iproute2 builds the
# network namespaces of tests/cli/test_cluster.sh's three hosts; gnuplot-nox
# draws the plots of launcher/hyperllava-sweep.
set -euo pipefail
PKGS=(build-essential pkg-config openmpi-bin libopenmpi-dev libhdf5-dev hdf5-tools
      libyaml-dev libssl-dev libjpeg62-turbo-dev libpng-dev libjansson-dev
      libxlsxwriter-dev zlib1g-dev python3 python3-numpy python3-h5py gnuplot-nox
      munge slurmctld slurmd slurm-client iproute2)
missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "setup-deps: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2

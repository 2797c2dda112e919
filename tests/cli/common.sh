# Shared by the shell tests: the binary, mpirun as the tests run it, and
# assertion helpers that print what went wrong.
HL_BIN=${HL_BIN:-bin/hyperllava}
export OMPI_MCA_rmaps_base_oversubscribe=1
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
# Quiet, loopback-only Open MPI for tests.
export OMPI_MCA_btl=self,vader,tcp OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_oob_tcp_if_include=lo
export OMPI_MCA_btl_vader_single_copy_mechanism=none
MPIRUN="mpirun --oversubscribe"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
pass_or_fail() { [ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }; echo "all passed"; }

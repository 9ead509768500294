#!/bin/sh
# The lab lessons (10 and 11) drop packets with iptables inside a private
# network namespace. `make test` runs this first: where iptables is missing
# and we are root (as on a fresh CI machine), it installs Debian's package;
# otherwise it says how to install it, and the lessons' tests will say the
# same when they fail.
set -eu
# Where the kernel has the statistic match as a module, root loads it now:
# whether a module may be loaded on demand from inside a user namespace
# depends on the kernel, and loading it here costs nothing.
if [ "$(id -u)" = 0 ] && command -v modprobe >/dev/null 2>&1; then
    modprobe -q xt_statistic 2>/dev/null || true
    modprobe -q nft_compat 2>/dev/null || true
fi
for dir in $(echo "$PATH" | tr ':' ' ') /usr/sbin /sbin; do
    if [ -x "$dir/iptables" ]; then
        exit 0
    fi
done
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "lab-tools: installing iptables (lessons 10 and 11 drop packets with it)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iptables >/dev/null ||
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iptables >/dev/null; }
    exit 0
fi
echo "lab-tools: iptables is missing; lessons 10 and 11 need it:" \
    "sudo apt-get install iptables (Debian, Ubuntu) or sudo dnf install iptables (Fedora)" >&2

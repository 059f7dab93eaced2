# scripts/lib/network.sh - network profiles in scripts/reproduce (--network PROFILE): what
# this machine can emulate, the tc shaping of lo and its undoing, the generator's flags.
# Source it after scripts/lib.sh and scripts/lib/reproduce.sh; it runs nothing.
#
# How a profile is emulated (docs/RESULTS.md, "Network profiles"):
#   kernel     root, tc with htb, tbf and u32, and netem: on lo, an htb root whose filters
#              send only the builds' ports through the profile (sport: the download,
#              dport: the upload) to netem (half the RTT each way) and tbf (the rate). All
#              other traffic on lo (Postgres, Redis, other servers) passes unclassified.
#              Shaped only while the load generator runs; undone after each load, on exit
#              and on Ctrl-C (net_unshape from scripts/reproduce's finish).
#   generator  otherwise (no root, or no netem): the load generator limits each of its
#              connections to the profile's rates (apibench run --network); no RTT is
#              added, and the report says so. A profile is never silently replaced.
# APIBENCH_NETWORK_SHAPER=kernel uses tc for the rate even without netem (RTT then not
# emulated); =generator forces the fallback.

NET_HANDLE=ab01                 # the htb root this run puts on lo (hex)
NET_PROFILE=loopback NET_SHAPES=0 NET_METHOD=none
NET_RUN_ARGS=(--network loopback)
NET_RATE_CAPPED=0 NET_PROFILE_SPEC=loopback

# net_probe - what this machine's kernel can do, tried in a throwaway network namespace
# (its own lo: the shared one is never touched). Sets NET_TBF and NET_NETEM to "yes" or
# to the reason they cannot be used.
net_probe() {
    local out
    NET_TBF="no (not root)" NET_NETEM="no (not root)"
    ab_is_root || return 0
    command -v tc >/dev/null 2>&1 || { NET_TBF="no (tc is not installed)" NET_NETEM=$NET_TBF; return 0; }
    command -v unshare >/dev/null 2>&1 || { NET_TBF="no (unshare is not installed)" NET_NETEM=$NET_TBF; return 0; }
    if out=$(unshare -n sh -c "tc qdisc add dev lo root handle $NET_HANDLE: htb default 0 &&
            tc class add dev lo parent $NET_HANDLE: classid $NET_HANDLE:1 htb rate 10gbit quantum 200000 &&
            tc qdisc add dev lo parent $NET_HANDLE:1 handle ab11: tbf rate 1mbit burst 8kb latency 1s &&
            tc filter add dev lo parent $NET_HANDLE: protocol ip prio 1 u32 match ip sport 1 0xffff flowid $NET_HANDLE:1" 2>&1); then
        NET_TBF=yes
    else
        NET_TBF="no (tc htb/tbf/u32: ${out//$'\n'/ })"
    fi
    if out=$(unshare -n tc qdisc add dev lo root netem delay 1ms 2>&1); then
        NET_NETEM=yes
    else
        NET_NETEM="no (tc netem: ${out//$'\n'/ })"
    fi
}

# net_setup PROFILE - loads PROFILE (apibench network), chooses how to emulate it, sets
# NET_RUN_ARGS (apibench run's flags) and records it all in run.info (network_*).
net_setup() {
    local spec=$1 shaper=${APIBENCH_NETWORK_SHAPER:-auto} vars
    vars=$("$BIN/apibench" network "$spec") || return 1
    eval "$vars"
    NET_PROFILE_SPEC=$spec
    rp_info network_profile "$NET_PROFILE"
    rp_info network_description "$NET_DESCRIPTION"
    rp_info network_down_kbit "$NET_DOWN_KBIT"
    rp_info network_up_kbit "$NET_UP_KBIT"
    rp_info network_rtt_ms "$NET_RTT_MS"
    NET_RUN_ARGS=(--network "$spec")
    if [ "$NET_SHAPES" -eq 0 ]; then
        NET_METHOD=none
        rp_info network_rate_by none
        rp_info network_rtt "none added"
        return 0
    fi
    net_probe
    # tc on lo shapes nothing between this machine and another one (--target)
    if [ -n "${opt_target:-}" ] && [[ ! "$opt_target" =~ ^https?://(127\.[0-9.]+|localhost)(:|$) ]]; then
        NET_TBF="no (--target is another machine: lo does not carry its traffic)" NET_NETEM=$NET_TBF
    fi
    rp_info network_kernel "tbf: $NET_TBF; netem: $NET_NETEM"
    case "$shaper" in
        auto) if [ "$NET_TBF" = yes ] && [ "$NET_NETEM" = yes ]; then NET_METHOD=kernel; else NET_METHOD=generator; fi ;;
        kernel) [ "$NET_TBF" = yes ] || { rp_log "network: APIBENCH_NETWORK_SHAPER=kernel, but tbf: $NET_TBF"; return 1; }
                NET_METHOD=kernel ;;
        generator) NET_METHOD=generator ;;
        *) rp_log "network: bad APIBENCH_NETWORK_SHAPER '$shaper' (auto, kernel or generator)"; return 1 ;;
    esac
    if [ "$NET_METHOD" = kernel ]; then
        local what=rate
        [ "$NET_NETEM" = yes ] && [ "$NET_RTT_MS" != 0 ] && what=rate,rtt
        NET_RUN_ARGS+=(--network-shaped "$what")
        rp_info network_rate_by "kernel: tc tbf on lo, ${NET_DOWN_KBIT} kbit/s from the builds' ports (sport), ${NET_UP_KBIT} kbit/s to them (dport), one link shared by the generator's connections; generator asks for ${NET_MSS}-byte segments"
        if [ "$what" = rate,rtt ]; then
            rp_info network_rtt "emulated: tc netem delay $(awk -v r="$NET_RTT_MS" 'BEGIN { print r / 2 }') ms each way on the same ports"
        else
            rp_info network_rtt "RTT $NET_RTT_MS ms: not emulated (netem: $NET_NETEM)"
        fi
    elif [ "$NET_DOWN_KBIT" = 0 ]; then
        rp_info network_rate_by "none: the profile limits no rate"
        rp_info network_rtt "RTT $NET_RTT_MS ms: not emulated (netem: $NET_NETEM)"
    else
        rp_info network_rate_by "generator: ${NET_DOWN_KBIT} kbit/s down, ${NET_UP_KBIT} kbit/s up per connection (each of the generator's connections on a link of its own; tc tbf: $NET_TBF)"
        if [ "$NET_RTT_MS" = 0 ]; then
            rp_info network_rtt "none in the profile"
        else
            rp_info network_rtt "RTT $NET_RTT_MS ms: not emulated (netem: $NET_NETEM)"
        fi
    fi
    rp_log "network: $NET_DESCRIPTION; rate by $NET_METHOD; $(grep '^network_rtt=' "$RUN/run.info" | cut -d= -f2-)"
}

# net_burst KBIT - tbf's bucket for a rate: 3 KB (two segments: a body's bytes are paced,
# not passed at once), or what the kernel's timer needs at high rates (rate / 250 per s).
net_burst() {
    awk -v k="$1" 'BEGIN { b = k * 1000 / 8 / 250; if (b < 3072) b = 3072; printf "%d", b }'
}

# net_leaf CLASS KBIT HALF_RTT_MS - the qdiscs under class CLASS of the root: netem with
# the delay (when netem works and the profile has an RTT), then tbf with the rate (when
# the profile has one). Prints tc's errors.
net_leaf() {
    local parent=$NET_HANDLE:$1
    if [ "$NET_NETEM" = yes ] && [ "$3" != 0 ]; then
        tc qdisc add dev lo parent "$parent" handle "ab1$1": netem delay "${3}ms"
        parent=ab1$1:1
    fi
    [ "$2" = 0 ] ||
        tc qdisc add dev lo parent "$parent" handle "ab2$1": tbf rate "${2}kbit" burst "$(net_burst "$2")" latency 2s
}

# net_lo_root - the first line of `tc qdisc show dev lo` (lo's root qdisc). Read whole, not
# through `| grep -q` or `| head`: under pipefail, tc killed by SIGPIPE once the reader
# has its line would turn a match into a failure.
net_lo_root() {
    local all
    all=$(tc qdisc show dev lo 2>&1) || true
    printf '%s\n' "${all%%$'\n'*}"
}

# net_shape PORT... - (kernel method) shapes the traffic of PORT... on lo. Refuses a lo
# that already has a root qdisc (someone else's). Returns 1, having undone what it did,
# when tc fails.
net_shape() {
    [ "$NET_METHOD" = kernel ] || return 0
    local port half out errfile root
    root=$(net_lo_root)
    if [[ "$root" != "qdisc noqueue"* ]]; then
        rp_log "network: lo already has a root qdisc ($root): not shaping it"
        return 1
    fi
    half=$(awk -v r="$NET_RTT_MS" 'BEGIN { print r / 2 }')
    # in this shell, not a command substitution's subshell: a signal's trap (net_unshape,
    # then exit) runs between two tc commands, and none runs after it
    errfile=$(mktemp)
    {
        # unclassified traffic goes to htb's direct queue, unshaped (a long one: lo is busy)
        tc qdisc add dev lo root handle "$NET_HANDLE": htb default 0 direct_qlen 100000
        tc class add dev lo parent "$NET_HANDLE": classid "$NET_HANDLE:1" htb rate 10gbit quantum 200000
        tc class add dev lo parent "$NET_HANDLE": classid "$NET_HANDLE:2" htb rate 10gbit quantum 200000
        # each direction: class -> [netem, half the RTT] -> [tbf, the rate]
        net_leaf 1 "$NET_DOWN_KBIT" "$half"
        net_leaf 2 "$NET_UP_KBIT" "$half"
        for port in "$@"; do
            tc filter add dev lo parent "$NET_HANDLE": protocol ip prio 1 u32 match ip sport "$port" 0xffff flowid "$NET_HANDLE:1"
            tc filter add dev lo parent "$NET_HANDLE": protocol ip prio 1 u32 match ip dport "$port" 0xffff flowid "$NET_HANDLE:2"
        done
    } 2>"$errfile" >/dev/null || true # (set -e: errors are read from errfile)
    out=$(grep -v 'quantum of class' "$errfile" || true)
    rm -f "$errfile"
    if [ -n "$out" ]; then
        rp_log "network: tc failed: ${out//$'\n'/ }"
        net_unshape
        return 1
    fi
}

# net_unshape - removes this run's root qdisc from lo (only ours: its handle), if any;
# safe to call at any time (finish, Ctrl-C), also when a subshell did the shaping.
net_unshape() {
    [ "$NET_METHOD" = kernel ] || return 0
    if [[ "$(net_lo_root)" == "qdisc htb $NET_HANDLE: root"* ]]; then
        tc qdisc del dev lo root 2>/dev/null || rp_log "network: cannot remove the qdisc on lo: $(net_lo_root)"
    fi
}

# net_shape_targets - net_shape on the port the load generator targets: the build under
# test, or the balancer in front of its instances (rp_load_url, --instances K).
net_shape_targets() {
    local url=${TARGETS[0]:-}
    [ "$NET_METHOD" = kernel ] || return 0
    if declare -F rp_load_url >/dev/null; then url=$(rp_load_url); fi
    net_shape "${url##*:}"
}

# net_run CMD... - runs CMD (a load generator) with the builds' ports shaped (kernel
# method), and unshaped afterwards, whatever CMD returns. Returns CMD's status.
net_run() {
    local rc=0
    net_shape_targets || return 1
    "$@" || rc=$?
    net_unshape
    return "$rc"
}

# net_cap_rate RUN_JSON - once, under a profile that limits the rate: lowers COMMON_RATE
# to the rate at which responses use at most half the download rate (apibench network
# --max-rate), so that the link is not the bottleneck at the common rate for the identity
# builds. The size is the headline body as the identity builds send it (generator/
# body.info: the mix's largest response), else RUN_JSON's mean (a warm-up). Records it.
net_cap_rate() {
    [ "$NET_SHAPES" -eq 1 ] && [ "$NET_RATE_CAPPED" -eq 0 ] && [ "$NET_DOWN_KBIT" != 0 ] || return 0
    local bytes max from
    bytes=$(sed -n 's/^identity_bytes=//p' "$RUN/generator/body.info" 2>/dev/null)
    from="the identity headline body"
    if [ -z "$bytes" ]; then
        bytes=$(rp_json "$1" 'd["bytes_received"] / d["completed"] if d["completed"] else ""')
        from="mean, $RP_BUILD's warm-up"
    fi
    [ -n "$bytes" ] || { rp_log "network: no response size to size the link; common rate left at $COMMON_RATE req/s"; return 0; }
    NET_RATE_CAPPED=1
    max=$("$BIN/apibench" network "$NET_PROFILE_SPEC" --max-rate "$bytes")
    bytes=$(printf '%.0f' "$bytes")
    rp_info network_bytes_per_response "$bytes ($from)"
    if awk -v r="$COMMON_RATE" -v m="$max" 'BEGIN { exit !(m != "inf" && r > m) }'; then
        rp_log "network: common rate $COMMON_RATE req/s would fill more than half of the $NET_DOWN_KBIT kbit/s link with $bytes-byte responses: lowered to $max req/s"
        rp_info network_rate_cap "lowered from $COMMON_RATE to $max req/s: $bytes-byte responses use at most half the download rate"
        COMMON_RATE=$max
        rp_info common_rate "$COMMON_RATE"
        PHASE_S=$(rp_phase_for_rate "$COMMON_RATE")
        rp_info phase_s "$PHASE_S"
    else
        rp_info network_rate_cap "none needed: $COMMON_RATE req/s of $bytes-byte responses use at most half the download rate"
    fi
}

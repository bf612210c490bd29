# lab/topo.sh: the namespace lab's topology (DESIGN §11, issues #4 and #5).
# shellcheck shell=bash
# Source it after lib.sh and after lab_init. Bash only, run as root.
#
#   +--------------------------------------------------------------------+
#   | P inet: bridge br0 = "the internet"; no address, no route, no NAT  |
#   +-----+-----------------+-----------------+-------------------+------+
#         | p-srv           | p-nat1          | p-nat2            | p-open
#   +-----+------------+ +--+-------------+ +-+---------------+ +-+--------------+
#   | P srv  eth0      | | P nat1   wan   | | P nat2   wan    | | P open  wan    |
#   | 203.0.113.10/24  | | 198.51.100.1   | | 198.51.100.2    | | 198.51.100.3   |
#   | 203.0.113.11/24  | | nftables NAT   | | nftables NAT    | | routes only,   |
#   +------------------+ | (port-restr.)  | | (symmetric)     | | proxy ARP      |
#                        | lan 10.0.1.1/24| | lan 10.0.2.1/24 | | lan 198.51.100.|
#                        +--+-------------+ +-+---------------+ |   129/25       |
#                           | h-gcs           | h-drone         +-+--------------+
#                        +--+-------------+ +-+---------------+   | h-pub
#                        | P gcs   eth0   | | P drone  eth0   | +-+--------------+
#                        | 10.0.1.2/24    | | 10.0.2.2/24     | | P pub   eth0   |
#                        | default via .1 | | default via .1  | | 198.51.100.130 |
#                        +----------------+ +-----------------+ +----------------+
#
#   P is the per-run prefix $LAB_PREFIX (lab_init sets wh-$$-; a caller may set
#   another, starting with "wh-", right after lab_init). Every namespace is
#   named P<name>; lab_cleanup (lib.sh) and lab_teardown delete them all, and
#   veth pairs vanish with their namespaces.
#
# The lab is a closed world: no namespace has a link to the host's own network
# namespace. Public addresses come from the documentation ranges only
# (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24): every public side holds
# on-link routes for exactly those three ranges and no default route, so a
# packet to any other address has no route; and the internet bridge drops
# (and counts, see lab_stray) any frame that is not IPv4 or ARP between them.
# LANs behind NATs use private ranges (10/8, 172.16/12, 192.168/16); the LAN
# of a `none` router uses a documentation range (its hosts are public). IPv6
# is disabled everywhere.
#
# Functions (NAME is a short node name, [a-z0-9_], at most 13 characters):
#   lab_internet                       the internet bridge (made on first use)
#   lab_server NAME IP...              a public host with one or more addresses (eth0)
#   lab_nat NAME TYPE PUBLIC_IP LAN_CIDR [hairpin]
#                                      a router; TYPE none | full-cone | restricted-cone |
#                                      port-restricted-cone | symmetric | symmetric-seq;
#                                      hairpin (cone types): LAN hosts reach each other
#                                      through their public mappings
#   lab_nat_inner NAME TYPE PARENT WAN_IP LAN_CIDR
#                                      a NAT behind NAT PARENT (double NAT, e.g. behind a
#                                      carrier-grade NAT), its wan WAN_IP in PARENT's LAN
#   lab_host NAME NAT LAN_IP           a host behind router NAT (eth0, default via NAT)
#   lab_two_sites [DRONE_NAT [GCS_NAT]]
#                                      srv (203.0.113.10/.11), drone1 10.0.1.2 behind dnat
#                                      (198.51.100.1), gcs1 10.0.2.2 behind gnat
#                                      (198.51.100.2); NAT types port-restricted-cone
#                                      unless given
#   lab_uplink NAME NAT LAN_IP         one more uplink for host NAME, behind another
#                                      router (eth1, eth2...): sockets bound to LAN_IP
#                                      leave through it (source routing), for multipath
#   lab_uplink_relink NAME NAT LAN_IP IFACE
#                                      after `ip link del IFACE` in NAME (an uplink of
#                                      lab_uplink unplugged), the link again: same name and
#                                      address behind NAT, a new index and MAC, and its
#                                      table 100+N default route (the ip rule outlived it)
#   lab_nat_public NAT                 print the router's public address
#   lab_ns NAME                        print the namespace name (P<name>)
#   lab_exec NAME CMD...               run CMD inside the namespace
#   lab_start_in NAME PROC CMD...      lab_start PROC with CMD inside the namespace
#   lab_loss NAME IFACE PERCENT [in|out|both]   random loss on a link (0 removes it)
#   lab_cut NAME IFACE [in|out|both]   drop everything on a link (ARP too)
#   lab_heal NAME IFACE                undo lab_cut (loss stays until lab_loss ... 0)
#   lab_block NAME IFACE IP            drop what goes to or comes from IP on a link
#   lab_unblock NAME IFACE             undo lab_block
#   lab_rate NAME IFACE KBIT [BURST]   tbf rate limit leaving IFACE (0 removes it)
#   lab_delay NAME MS                  NAME's link to the internet delays every frame by
#                                      MS each way (user space: tests/prog/delaywire);
#                                      again: another delay
#   lab_stray                          packets the internet dropped for leaving the
#                                      documentation ranges (IPv4 or ARP), or not IPv4/ARP
#   lab_netns_left                     print this run's namespaces still present
#   lab_teardown                       stop started processes, delete the namespaces,
#                                      fail if any is left
# Interfaces: eth0 on servers and hosts, wan and lan (a bridge) on routers,
# p-NAME (internet side of NAME's link) in the internet, h-HOST (the LAN side of
# HOST's link) on its router. Impair either end of a link.

declare -gA LAB_NAT_TYPE=() LAB_NAT_PUBLIC=() LAB_NAT_NET=() LAB_NAT_PLEN=() LAB_PUBLIC_USED=()
declare -gA LAB_HOST_NATS=() LAB_NAT64=()
LAB_TAYGA=${LAB_TAYGA:-$LAB_ROOT/build/tayga/usr/sbin/tayga}
LAB_DOC_NETS="192.0.2 198.51.100 203.0.113"
# symmetric-seq hands out LAB_SEQ_PORTS ports from LAB_SEQ_BASE in turn.
LAB_SEQ_BASE=40000
LAB_SEQ_PORTS=2000

lab_ns() {
	echo "${LAB_PREFIX:?lab_init first}$1"
}

# lab_ns_loopback NAME on|off: a namespace NAME with its loopback up and
# nothing else, IPv6 on (::1 there) or off (the topology's namespaces have
# it off; lab_ipv6 NAME on turns it on later).
lab_ns_loopback() {
	ip netns add "$(lab_ns "$1")"
	ip -n "$(lab_ns "$1")" link set lo up
	lab_ipv6 "$1" "$2"
}

# lab_ipv6 NAME on|off: IPv6 on or off in namespace NAME; on waits for ::1.
lab_ipv6() {
	local v=1 ns
	ns=$(lab_ns "$1")
	[ "$2" = off ] || v=0
	lab_exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=$v \
		net.ipv6.conf.default.disable_ipv6=$v net.ipv6.conf.lo.disable_ipv6=$v
	[ "$v" = 1 ] || wait_until 3 eval '[ -n "$(ip -n "$ns" -6 addr show dev lo | grep "::1/128")" ]' ||
		fail "no ::1 in namespace $1 (is IPv6 compiled out of this kernel?)"
}

lab_exec() {
	local name=$1
	shift
	ip netns exec "$(lab_ns "$name")" "$@"
}

# lab_both_ways COUNT "NAME ID BIND TO"...: apps (bench_flow) at once, each
# in namespace NAME, sending COUNT datagrams at 200/s from BIND to TO (its
# wormhole flow port) and expecting COUNT from the other end of its flow;
# fails unless each receives all COUNT, none twice. Results in
# $LAB_DIR/app-ID.json.
lab_both_ways() {
	local count=$1 ns id bind to ok=0 pids=() ids=() got dup i
	shift
	for i in "$@"; do
		read -r ns id bind to <<<"$i"
		lab_exec "$ns" "$LAB_BF" --bind "$bind" --to "$to" --id "$id" --count "$count" \
			--rate 200 --expect "$count" --delay 1000 --timeout 8000 \
			>"$LAB_DIR/app-$id.json" 2>&1 &
		pids+=($!)
		ids+=("$id")
	done
	for i in "${pids[@]}"; do wait "$i" || ok=1; done
	for id in "${ids[@]}"; do
		got=$(lab_json "$LAB_DIR/app-$id.json" 'j["received"]')
		dup=$(lab_json "$LAB_DIR/app-$id.json" 'j["dup"]')
		echo "  $(lab_at) $id's app received $got of $count, $dup twice"
		[ "$got" = "$count" ] && [ "$dup" = 0 ] ||
			fail "$id's app received $got of $count ($dup twice)"
	done
	[ "$ok" = 0 ] || fail "an app failed"
}

# lab_etc NAME FILE: stdin becomes /etc/FILE for what runs in namespace NAME
# from then on (`ip netns exec` binds /etc/netns/NS/FILE over /etc/FILE,
# e.g. hosts and resolv.conf). The file keeps its inode when written again,
# so a process already running sees the new text. lab_cleanup removes it.
lab_etc() {
	local dir
	dir=/etc/netns/$(lab_ns "$1")
	mkdir -p "$dir"
	[ -e "$dir/$2" ] || : >"$dir/$2"
	cat >"$dir/$2"
}

# lab_frags NAME: IP fragments NAME's kernel has made so far (Ip FragCreates
# of /proc/net/snmp). A sender's own fragments are made after every netfilter
# hook: an nft counter cannot see them.
lab_frags() {
	lab_exec "$1" awk '$1 == "Ip:" && !h { for (i = 2; i <= NF; i++) if ($i == "FragCreates") c = i; h = 1; next }
		$1 == "Ip:" && h { print $c; exit }' /proc/net/snmp
}

# lab_start_in NAME PROC CMD...: like lab_start, inside namespace NAME.
# `ip netns exec` execs CMD in place, so the recorded PID is CMD's own.
lab_start_in() {
	local name=$1 proc=$2
	shift 2
	lab_start "$proc" ip netns exec "$(lab_ns "$name")" "$@"
}

lab_nat_public() {
	echo "${LAB_NAT_PUBLIC[$1]:?lab_nat_public: no router $1}"
}

lab_netns_left() {
	ip netns list 2>/dev/null | awk '{print $1}' | grep "^${LAB_PREFIX:?}" || true
}

# --- checks and address arithmetic -----------------------------------------

topo_die() {
	echo "topo: $*" >&2
	return 1
}

topo_check_name() {
	[[ $1 =~ ^[a-z0-9_]{1,13}$ && $1 != inet ]] ||
		topo_die "bad node name \"$1\" (want [a-z0-9_], 1 to 13 characters)" || return 1
	! ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$(lab_ns "$1")" ||
		topo_die "node \"$1\" exists already"
}

topo_ip2int() {
	local a b c d
	[[ $1 =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$ ]] ||
		topo_die "bad IPv4 address \"$1\"" || return 1
	# 10#: "010" is ten, not octal eight.
	a=$((10#${BASH_REMATCH[1]})) b=$((10#${BASH_REMATCH[2]}))
	c=$((10#${BASH_REMATCH[3]})) d=$((10#${BASH_REMATCH[4]}))
	((a < 256 && b < 256 && c < 256 && d < 256)) || topo_die "bad IPv4 address \"$1\"" || return 1
	echo $(((a << 24) | (b << 16) | (c << 8) | d))
}

topo_int2ip() {
	echo "$((($1 >> 24) & 255)).$((($1 >> 16) & 255)).$((($1 >> 8) & 255)).$(($1 & 255))"
}

# topo_in_net IP NET_INT PLEN: is IP inside NET/PLEN?
topo_in_net() {
	local ip mask
	ip=$(topo_ip2int "$1") || return 1
	mask=$(((0xffffffff << (32 - $3)) & 0xffffffff))
	(((ip & mask) == $2))
}

# A public address must come from the documentation ranges (RFC 5737).
topo_check_public() {
	local net
	topo_ip2int "$1" >/dev/null || return 1
	for net in $LAB_DOC_NETS; do
		[[ $1 == "$net".* ]] && return 0
	done
	topo_die "\"$1\" is not a documentation address (192.0.2/24, 198.51.100/24, 203.0.113/24)"
}

# topo_claim_public IP NAME: each public address belongs to one node.
topo_claim_public() {
	topo_check_public "$1" || return 1
	[ -z "${LAB_PUBLIC_USED[$1]:-}" ] || topo_die "$1 is taken by ${LAB_PUBLIC_USED[$1]}" || return 1
	LAB_PUBLIC_USED[$1]=$2
}

# topo_check_lan CIDR TYPE: prints "NET_INT PLEN"; private for NATs, public for none.
topo_check_lan() {
	local cidr=$1 type=$2 ip plen net
	[[ $cidr =~ ^([0-9.]+)/([0-9]{1,2})$ ]] || topo_die "bad LAN \"$cidr\" (want A.B.C.D/N)" || return 1
	ip=${BASH_REMATCH[1]} plen=${BASH_REMATCH[2]}
	((plen >= 8 && plen <= 29)) || topo_die "LAN \"$cidr\": prefix must be 8..29" || return 1
	net=$(topo_ip2int "$ip") || return 1
	net=$((net & ((0xffffffff << (32 - plen)) & 0xffffffff)))
	if [ "$type" = none ]; then
		topo_check_public "$ip" || return 1
		((plen >= 24)) || topo_die "LAN \"$cidr\" must lie inside one documentation /24" || return 1
	elif ! topo_in_net "$ip" "$(topo_ip2int 10.0.0.0)" 8 &&
		! topo_in_net "$ip" "$(topo_ip2int 172.16.0.0)" 12 &&
		! topo_in_net "$ip" "$(topo_ip2int 192.168.0.0)" 16; then
		topo_die "LAN \"$cidr\" behind a NAT must be private (10/8, 172.16/12, 192.168/16)"
		return 1
	fi
	echo "$net $plen"
}

# --- building blocks -----------------------------------------------------------

# topo_ns_new NAME: an empty namespace with lo up and IPv6 off (no router
# solicitations, DAD or MLD: nothing is sent that the lab did not ask for).
topo_ns_new() {
	local ns
	ns=$(lab_ns "$1")
	ip netns add "$ns"
	# rp_filter off: a host with several uplinks answers on the one its
	# socket is bound to, not the one its main table would pick.
	lab_exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1 net.ipv4.ip_forward=0 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
	ip -n "$ns" link set lo up
}

# topo_bridge_plain NAME: bridged frames must not enter this namespace's
# netfilter hooks (br_netfilter), or the bridge would conntrack them.
topo_bridge_plain() {
	lab_exec "$1" sh -c 'f=/proc/sys/net/bridge/bridge-nf-call-iptables
		[ ! -e "$f" ] || echo 0 >"$f"'
}

lab_internet() {
	local inet
	inet=$(lab_ns inet)
	if ip netns list | awk '{print $1}' | grep -qx "$inet"; then
		return 0
	fi
	[[ $LAB_PREFIX =~ ^wh-[a-zA-Z0-9-]{1,20}$ ]] || topo_die "bad LAB_PREFIX \"$LAB_PREFIX\"" || return 1
	topo_ns_new inet
	ip -n "$inet" link add br0 type bridge stp_state 0 forward_delay 0
	ip -n "$inet" link set br0 up
	topo_bridge_plain inet
	topo_guard_rules | lab_exec inet nft -f -
}

# The internet's guard: the bridge forwards only IPv4 and ARP between
# documentation addresses. Anything else is dropped and counted in "stray",
# which lab_stray prints: a test can show that nothing tried to leave the
# documentation ranges (it should always read 0).
topo_guard_rules() {
	cat <<'NFT'
table bridge wh_guard {
	set doc {
		type ipv4_addr
		flags interval
		elements = { 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24 }
	}
	counter stray { }
	chain forward {
		type filter hook forward priority filter; policy accept;
		ether type arp arp saddr ip @doc arp daddr ip @doc accept
		ether type ip ip saddr @doc ip daddr @doc accept
		counter name stray drop
	}
}
NFT
}

# lab_stray: packets the internet's guard dropped (see topo_guard_rules).
lab_stray() {
	lab_exec inet nft list counter bridge wh_guard stray | awk '$1 == "packets" { print $2 }'
}

# topo_attach NAME IFACE IP...: link NAME to the internet bridge (p-NAME there,
# IFACE in NAME), give IFACE the addresses (/24) and on-link routes to the three
# documentation ranges, and nothing else: no default route.
topo_attach() {
	local name=$1 iface=$2 ns ip net
	shift 2
	ns=$(lab_ns "$name")
	ip -n "$(lab_ns inet)" link add "p-$name" type veth peer name "$iface" netns "$ns"
	ip -n "$(lab_ns inet)" link set "p-$name" master br0 up
	for ip in "$@"; do
		ip -n "$ns" addr add "$ip/24" dev "$iface"
	done
	ip -n "$ns" link set "$iface" up
	for net in $LAB_DOC_NETS; do
		# The /24 of an own address is already a connected route.
		[[ " $* " == *" $net."* ]] || ip -n "$ns" route add "$net.0/24" dev "$iface"
	done
}

lab_server() {
	local name=$1 ip
	shift
	[ $# -ge 1 ] || topo_die "usage: lab_server NAME IP..." || return 1
	topo_check_name "$name" || return 1
	for ip in "$@"; do
		topo_check_public "$ip" || return 1
		[ -z "${LAB_PUBLIC_USED[$ip]:-}" ] || topo_die "$ip is taken by ${LAB_PUBLIC_USED[$ip]}" || return 1
	done
	for ip in "$@"; do
		topo_claim_public "$ip" "$name"
	done
	lab_internet
	topo_ns_new "$name"
	topo_attach "$name" eth0 "$@"
}

# lab_cloud_server NAME PUBLIC=PRIVATE...: a server host as a cloud provider
# gives it (AWS Elastic IP, GCP or Azure external IP): NAME has only the
# private addresses (10.99.0.0/24, default route via 10.99.0.1), and node
# "cloud" holds the public ones on the internet and maps each to its
# private address one to one, ports unchanged, both ways (dnat in, snat
# out). NAME never sees a public address.
lab_cloud_server() {
	local name=$1 pair pub priv pubs=() ns cns rules=""
	shift
	[ $# -ge 1 ] || topo_die "usage: lab_cloud_server NAME PUBLIC=PRIVATE..." || return 1
	topo_check_name "$name" && topo_check_name cloud || return 1
	for pair in "$@"; do
		[[ $pair =~ ^([0-9.]+)=(10\.99\.0\.([0-9]{1,3}))$ ]] && ((BASH_REMATCH[3] >= 2 && BASH_REMATCH[3] <= 254)) ||
			topo_die "lab_cloud_server: bad pair \"$pair\" (want PUBLIC=10.99.0.N, N 2..254)" || return 1
		pub=${BASH_REMATCH[1]} priv=${BASH_REMATCH[2]}
		topo_claim_public "$pub" cloud || return 1
		pubs+=("$pub")
		rules+="		ip daddr $pub dnat to $priv
"
	done
	lab_internet
	topo_ns_new cloud
	topo_ns_new "$name"
	topo_attach cloud wan "${pubs[@]}"
	ns=$(lab_ns "$name") cns=$(lab_ns cloud)
	ip -n "$cns" link add "h-$name" type veth peer name eth0 netns "$ns"
	ip -n "$cns" addr add 10.99.0.1/24 dev "h-$name"
	ip -n "$cns" link set "h-$name" up
	for pair in "$@"; do
		ip -n "$ns" addr add "${pair#*=}/24" dev eth0
	done
	ip -n "$ns" link set eth0 up
	ip -n "$ns" route add default via 10.99.0.1
	lab_exec cloud sysctl -qw net.ipv4.ip_forward=1
	{
		echo "table ip wh_cloud {"
		echo "	chain prerouting {"
		echo "		type nat hook prerouting priority dstnat; policy accept;"
		printf '%s' "$rules"
		echo "	}"
		echo "	chain postrouting {"
		echo "		type nat hook postrouting priority srcnat; policy accept;"
		for pair in "$@"; do
			echo "		oifname \"wan\" ip saddr ${pair#*=} snat to ${pair%%=*}"
		done
		echo "	}"
		echo "}"
	} | lab_exec cloud nft -f -
}

# --- NAT behaviours (RFC 4787) ---------------------------------------------------
#
# Every NAT type is one nftables table, wh_nat, in its router. Mapping and
# filtering are built from conntrack plus dynamic sets that outbound UDP fills
# (in the learn chain, after srcnat has chosen the mapping):
#   @eim        mapped public port -> internal address . port
#   @rev        internal address . port -> mapped public port
#   @contacted  mapped public port . remote address the inside sent to
# Entries live 120 s after the last outbound packet (Linux' assured-UDP
# conntrack timeout), so a mapping outlives a quiet minute like a real NAT.
#
# Mapping of the cone types, in three rules (first match wins):
#   1. an internal endpoint that already has a mapping (@rev) gets the same
#      public port again, whatever the destination: endpoint-independent
#      mapping (RFC 4787 §4.1, REQ-1);
#   2. a new endpoint whose source port is already some other endpoint's
#      public port (@eim) gets a random free port instead;
#   3. otherwise a plain `snat to PUBLIC`, which keeps the source port (port
#      preservation, §4.2.1) as the conntrack tuple is unique.
# Plain conntrack snat is EIM by itself only while LAN hosts use distinct
# ports: nf_nat reuses a source's existing mapping when the tuple is unique,
# but a second host on the same local port keeps that port too towards a
# destination the first one has not used, and once it talks to one the first
# host has used, the tuple clashes and it gets a new port: its mapping has
# changed (checked in this lab: 43000 to one server, 45167 to another).
# Rules 1 and 2 stop that; test_lab_nat checks it with two hosts on one port.
# @rev also keeps the mapping for its 120 s when conntrack has forgotten an
# unanswered flow after 30 s (REQ-5: mappings live at least 2 minutes).
# Conntrack's own UDP timeouts stay Linux' defaults (30 s unanswered, 120 s
# once answered both ways): what keepalives must beat.
# No hairpinning by default: a LAN packet to the router's own public address
# ends at the router (port unreachable), it is not looped back to another LAN
# host. With hairpin (cone types; RFC 4787 REQ-9, RFC 6888 REQ-9 for
# carrier-grade NATs), a LAN packet to a mapped public port goes to that
# port's internal endpoint, from the sender's own mapping (its public
# address and port, as an outside host would see it); the filter lets every
# LAN host in (conntrack handles the answers both ways).

# topo_seq_elements: "0 : 40000, 1 : 40001, ..." for the seqport map.
topo_seq_elements() {
	seq 0 $((LAB_SEQ_PORTS - 1)) |
		awk -v base="$LAB_SEQ_BASE" '{ printf "%s%d : %d", (NR > 1 ? ", " : ""), $1, base + $1 }'
}

# topo_nat_rules TYPE PUBLIC_IP LAN_CIDR [hairpin]: the wh_nat table for a
# NAT type.
topo_nat_rules() {
	local type=$1 pub=$2 lan=$3 snat inbound="" learn="" seqmap=""
	case $type in
	full-cone | restricted-cone | port-restricted-cone)
		# EIM with port preservation (the three rules above).
		snat="oifname \"wan\" ip saddr $lan ip saddr . udp sport @rev snat ip to $pub : ip saddr . udp sport map @rev
		oifname \"wan\" ip saddr $lan udp sport @eim snat ip to $pub : 1024-65535 random
		oifname \"wan\" ip saddr $lan snat ip to $pub"
		;;
	symmetric)
		# Address-and-port-dependent mapping: every new conntrack (a new
		# destination IP:port) gets a random public port (fully-random uses a
		# fresh random start for each port search; no port preservation).
		snat="oifname \"wan\" ip saddr $lan snat ip to $pub fully-random"
		;;
	symmetric-seq)
		# Address-and-port-dependent mapping with sequential allocation: the
		# counter of numgen inc moves on once per new UDP conntrack (nat chains
		# see only the first packet of a connection), and @seqport turns it
		# into 40000, 40001, ... 41999, then wraps. (The map is needed: a bare
		# "numgen ... offset 40000" reaches the nat expression in host byte
		# order, giving ports that step by 256.) Other protocols: plain snat.
		seqmap="map seqport {
		typeof numgen inc mod $LAB_SEQ_PORTS : udp sport
		elements = { $(topo_seq_elements) }
	}"
		snat="oifname \"wan\" ip saddr $lan meta l4proto udp snat ip to $pub : numgen inc mod $LAB_SEQ_PORTS map @seqport
		oifname \"wan\" ip saddr $lan snat ip to $pub"
		;;
	esac
	case $type in
	full-cone)
		# Endpoint-independent filtering (RFC 4787 §5, "full cone"): any UDP
		# packet to a mapped public port goes to its internal endpoint,
		# whoever sends it.
		inbound="iifname \"wan\" udp dport @eim dnat ip to udp dport map @eim"
		;;
	restricted-cone)
		# Address-dependent filtering (RFC 4787 §5): a packet to a mapped port
		# is let in only from an address that internal endpoint has sent to,
		# from any port of that address.
		inbound="iifname \"wan\" udp dport . ip saddr @contacted dnat ip to udp dport map @eim"
		learn="oifname \"wan\" meta l4proto udp ct direction original update @contacted { ct reply proto-dst . ip daddr }"
		;;
	esac
	# Port-restricted cone and symmetric need no inbound rule: conntrack lets
	# in exactly the replies from the remote IP:port a mapping was made for
	# (address-and-port-dependent filtering); any other packet to the public
	# address is addressed to the router itself and dropped by its input chain.
	if [ "${4:-}" = hairpin ]; then
		inbound+="
		iifname \"lan\" ip daddr $pub udp dport @eim dnat ip to udp dport map @eim"
		snat+="
		oifname \"lan\" ip saddr $lan ct status dnat ip saddr . udp sport @rev snat ip to $pub : ip saddr . udp sport map @rev
		oifname \"lan\" ip saddr $lan ct status dnat snat ip to $pub"
	fi
	cat <<NFT
table ip wh_nat {
	map eim {
		type inet_service : ipv4_addr . inet_service
		flags dynamic, timeout
		timeout 120s
	}
	map rev {
		type ipv4_addr . inet_service : inet_service
		flags dynamic, timeout
		timeout 120s
	}
	set contacted {
		type inet_service . ipv4_addr
		flags dynamic, timeout
		timeout 120s
	}
	$seqmap
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		$inbound
	}
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		$snat
	}
	# After srcnat: the conntrack entry now holds the mapping. Learn it from
	# packets the inside sends (direction original), never from inbound ones.
	# (Symmetric types fill @eim and @rev too, for ruleset dumps; no rule of
	# theirs reads them.)
	chain learn {
		type filter hook postrouting priority srcnat + 10; policy accept;
		oifname "wan" meta l4proto udp ct direction original update @eim { ct reply proto-dst : ct original ip saddr . ct original proto-src }
		oifname "wan" meta l4proto udp ct direction original update @rev { ct original ip saddr . ct original proto-src : ct reply proto-dst }
		$learn
	}
	# The router itself answers nothing from outside but ICMP (no port
	# unreachables that would reveal the filtering: a real NAT stays silent).
	chain input {
		type filter hook input priority filter; policy accept;
		iifname "wan" ct state established,related accept
		iifname "wan" meta l4proto icmp accept
		iifname "wan" drop
	}
	# From outside only replies (conntrack) and what the cone rules let in.
	chain forward {
		type filter hook forward priority filter; policy accept;
		iifname "wan" ct state established,related accept
		iifname "wan" ct status dnat accept
		iifname "wan" drop
	}
}
NFT
}

lab_nat() {
	local name=$1 type=$2 pub=$3 cidr=$4 hairpin=${5:-} netplen net plen ns gw
	[ $# -eq 4 ] || [ $# -eq 5 ] || topo_die "usage: lab_nat NAME TYPE PUBLIC_IP LAN_CIDR [hairpin]" || return 1
	case $type in
	none | full-cone | restricted-cone | port-restricted-cone | symmetric | symmetric-seq) ;;
	*) topo_die "lab_nat $name: unknown type \"$type\"" || return 1 ;;
	esac
	case $hairpin:$type in
	:* | hairpin:*-cone) ;;
	hairpin:*) topo_die "lab_nat $name: hairpin is for the cone types, not \"$type\"" || return 1 ;;
	*) topo_die "lab_nat $name: want \"hairpin\" or nothing after the LAN, not \"$hairpin\"" || return 1 ;;
	esac
	topo_check_name "$name" || return 1
	topo_check_public "$pub" || return 1
	netplen=$(topo_check_lan "$cidr" "$type") || return 1
	read -r net plen <<<"$netplen"
	! topo_in_net "$pub" "$net" "$plen" || topo_die "lab_nat $name: $pub is inside its LAN" || return 1
	topo_claim_public "$pub" "$name" || return 1
	gw=$(topo_int2ip $((net + 1)))
	ns=$(lab_ns "$name")
	lab_internet
	topo_ns_new "$name"
	topo_attach "$name" wan "$pub"
	topo_router_lan "$name" "$gw" "$plen"
	if [ "$type" = none ]; then
		# Plain routing: hosts have public addresses. The other public sides
		# see the whole /24 as on-link, so this router answers ARP for its
		# LAN's addresses on wan (proxy ARP), at once (proxy_delay 0).
		lab_exec "$name" sysctl -qw net.ipv4.conf.wan.proxy_arp=1 \
			net.ipv4.neigh.wan.proxy_delay=0
	else
		topo_nat_rules "$type" "$pub" "$(topo_int2ip "$net")/$plen" "$hairpin" |
			lab_exec "$name" nft -f -
		# Hairpinned packets leave by the LAN they came from: no ICMP
		# redirect pointing a LAN host at another one.
		[ -z "$hairpin" ] || lab_exec "$name" sysctl -qw net.ipv4.conf.all.send_redirects=0 \
			net.ipv4.conf.lan.send_redirects=0
	fi
	LAB_NAT_TYPE[$name]=$type
	LAB_NAT_PUBLIC[$name]=$pub
	LAB_NAT_NET[$name]=$net
	LAB_NAT_PLEN[$name]=$plen
}

# topo_router_lan NAME GW PLEN: router NAME's LAN bridge (lan, GW/PLEN) and
# forwarding on.
topo_router_lan() {
	local ns
	ns=$(lab_ns "$1")
	ip -n "$ns" link add lan type bridge stp_state 0 forward_delay 0
	ip -n "$ns" addr add "$2/$3" dev lan
	ip -n "$ns" link set lan up
	topo_bridge_plain "$1"
	lab_exec "$1" sysctl -qw net.ipv4.ip_forward=1
}

# lab_nat64 NAME TYPE PUBLIC_IP: a carrier's NAT64 (RFC 6146) for IPv6-only
# hosts (lab_host6), as an LTE network without IPv4 runs it: tayga (make deps
# unpacks it into build/tayga) gives each IPv6 host an address of
# 10.64.64.128/25 and translates between the prefix 2001:db8:ffff::/96 (the
# IPv4 internet: 2001:db8:ffff::cb00:710a is 203.0.113.10, as a DNS64 server
# synthesizes it) and IPv4, and a NAT of TYPE (lab_nat; LAN 10.64.64.0/24)
# maps those addresses to PUBLIC_IP, ports and all. Its IPv6 LAN is
# 2001:db8:64::/64, the router at ::1. IPv6 is on only on that LAN and the
# translator (nothing IPv6 reaches the internet bridge).
lab_nat64() {
	local name=$1 type=$2 pub=$3 ns conf
	[ $# -eq 3 ] || topo_die "usage: lab_nat64 NAME TYPE PUBLIC_IP" || return 1
	[ -x "$LAB_TAYGA" ] || topo_die "lab_nat64: $LAB_TAYGA missing (make deps unpacks it)" || return 1
	# A container may have the tun driver without its device node.
	[ -c /dev/net/tun ] || { mkdir -p /dev/net && mknod -m 600 /dev/net/tun c 10 200; } ||
		topo_die "lab_nat64: no /dev/net/tun (tayga needs the tun driver)" || return 1
	lab_nat "$name" "$type" "$pub" 10.64.64.0/24 || return 1
	ns=$(lab_ns "$name")
	ip -n "$ns" link add lan6 type bridge stp_state 0 forward_delay 0
	conf=$LAB_DIR/tayga-$name.conf
	mkdir -p "$LAB_DIR/tayga-$name"
	cat >"$conf" <<CONF
tun-device nat64
ipv4-addr 10.64.64.126
prefix 2001:db8:ffff::/96
dynamic-pool 10.64.64.128/25
data-dir $LAB_DIR/tayga-$name
CONF
	lab_exec "$name" "$LAB_TAYGA" --config "$conf" --mktun >/dev/null
	lab_exec "$name" sysctl -qw net.ipv6.conf.lan6.disable_ipv6=0 \
		net.ipv6.conf.nat64.disable_ipv6=0 net.ipv6.conf.all.forwarding=1
	ip -n "$ns" addr add 2001:db8:64::1/64 dev lan6 nodad
	ip -n "$ns" link set lan6 up
	ip -n "$ns" link set nat64 up
	ip -n "$ns" route add 10.64.64.126/32 dev nat64
	ip -n "$ns" route add 10.64.64.128/25 dev nat64
	ip -n "$ns" -6 route add 2001:db8:ffff::/96 dev nat64
	lab_start_in "$name" "tayga-$name" "$LAB_TAYGA" --config "$conf" --nodetach
	LAB_NAT64[$name]=1
}

# lab_host6 NAME NAT64 IPV6: an IPv6-only host (no IPv4 but its loopback) at
# IPV6 in NAT64's LAN (2001:db8:64::/64), default route via the router.
lab_host6() {
	local name=$1 nat=$2 ip=$3
	[ $# -eq 3 ] || topo_die "usage: lab_host6 NAME NAT64 IPV6" || return 1
	[ -n "${LAB_NAT64[$nat]:-}" ] || topo_die "lab_host6 $name: no NAT64 \"$nat\"" || return 1
	topo_check_name "$name" || return 1
	topo_ns_new "$name"
	lab_ipv6 "$name" on
	topo_veth_to_lan "$name" "$nat" lan6 eth0 "$ip/64" nodad
	LAB_HOST_NATS[$name]=" $nat" # lab_uplink adds an IPv4 uplink (eth1...)
	ip -n "$(lab_ns "$name")" -6 route add default via 2001:db8:64::1
}

# lab_nat_inner NAME TYPE PARENT WAN_IP LAN_CIDR: a NAT behind NAT PARENT (a
# home or LTE router behind a carrier-grade NAT: double NAT), its wan at
# WAN_IP in PARENT's LAN, default route via PARENT. TYPE is a NAT type (not
# none). Hosts behind it (lab_host) reach the internet through both NATs;
# two inner routers may use the same LAN (each has its own namespace).
lab_nat_inner() {
	local name=$1 type=$2 parent=$3 wan=$4 cidr=$5 netplen net plen pgw
	[ $# -eq 5 ] || topo_die "usage: lab_nat_inner NAME TYPE PARENT WAN_IP LAN_CIDR" || return 1
	case $type in
	full-cone | restricted-cone | port-restricted-cone | symmetric | symmetric-seq) ;;
	*) topo_die "lab_nat_inner $name: unknown type \"$type\"" || return 1 ;;
	esac
	[ -n "${LAB_NAT_TYPE[$parent]:-}" ] && [ "${LAB_NAT_TYPE[$parent]}" != none ] ||
		topo_die "lab_nat_inner $name: no NAT \"$parent\"" || return 1
	topo_check_name "$name" || return 1
	netplen=$(topo_check_lan "$cidr" "$type") || return 1
	read -r net plen <<<"$netplen"
	! topo_in_net "$wan" "$net" "$plen" || topo_die "lab_nat_inner $name: $wan is inside its LAN" || return 1
	topo_ns_new "$name"
	pgw=$(topo_host_link "$name" "$parent" "$wan" wan) || return 1
	ip -n "$(lab_ns "$name")" route add default via "$pgw"
	topo_router_lan "$name" "$(topo_int2ip $((net + 1)))" "$plen"
	topo_nat_rules "$type" "$wan" "$(topo_int2ip "$net")/$plen" | lab_exec "$name" nft -f -
	LAB_NAT_TYPE[$name]=$type
	LAB_NAT_PUBLIC[$name]=$wan
	LAB_NAT_NET[$name]=$net
	LAB_NAT_PLEN[$name]=$plen
}

# topo_host_link NAME NAT IP IFACE: the veth from HOST's IFACE to NAT's LAN
# bridge (h-NAME there), with IP in the NAT's LAN; prints the gateway. Runs in
# a command substitution: the caller records LAB_HOST_NATS.
topo_host_link() {
	local name=$1 nat=$2 ip=$3 iface=$4 net plen
	[ -n "${LAB_NAT_TYPE[$nat]:-}" ] || topo_die "$name: no router \"$nat\"" || return 1
	net=${LAB_NAT_NET[$nat]} plen=${LAB_NAT_PLEN[$nat]}
	topo_in_net "$ip" "$net" "$plen" && [ "$ip" != "$(topo_int2ip $((net + 1)))" ] ||
		topo_die "$name: $ip is not a free address in $nat's LAN" || return 1
	topo_veth_to_lan "$name" "$nat" lan "$iface" "$ip/$plen"
	topo_int2ip $((net + 1))
}

# topo_veth_to_lan NAME ROUTER BRIDGE IFACE ADDR/PLEN [nodad]: a veth from
# NAME's IFACE (ADDR/PLEN, up; nodad: an IPv6 address usable at once) to
# ROUTER's BRIDGE (h-NAME there).
topo_veth_to_lan() {
	local ns
	ns=$(lab_ns "$1")
	ip -n "$(lab_ns "$2")" link add "h-$1" type veth peer name "$4" netns "$ns"
	ip -n "$(lab_ns "$2")" link set "h-$1" master "$3" up
	ip -n "$ns" addr add "$5" dev "$4" ${6:+nodad}
	ip -n "$ns" link set "$4" up
}

lab_host() {
	local name=$1 nat=$2 ip=$3 gw
	[ $# -eq 3 ] || topo_die "usage: lab_host NAME NAT LAN_IP" || return 1
	[ -n "${LAB_NAT_TYPE[$nat]:-}" ] || topo_die "lab_host $name: no router \"$nat\"" || return 1
	topo_check_name "$name" || return 1
	topo_ns_new "$name"
	gw=$(topo_host_link "$name" "$nat" "$ip" eth0) || return 1
	LAB_HOST_NATS[$name]=" $nat"
	ip -n "$(lab_ns "$name")" route add default via "$gw"
}

# lab_two_sites [DRONE_NAT [GCS_NAT]]: the lab most tests use. srv
# (203.0.113.10 and .11), drone1 10.0.1.2 behind dnat (198.51.100.1) and gcs1
# 10.0.2.2 behind gnat (198.51.100.2); both NATs port-restricted-cone unless
# their types are given (see lab_nat).
lab_two_sites() {
	lab_server srv 203.0.113.10 203.0.113.11 &&
		lab_nat dnat "${1:-port-restricted-cone}" 198.51.100.1 10.0.1.0/24 &&
		lab_host drone1 dnat 10.0.1.2 &&
		lab_nat gnat "${2:-port-restricted-cone}" 198.51.100.2 10.0.2.0/24 &&
		lab_host gcs1 gnat 10.0.2.2
}

# lab_relay_sites: beside lab_two_sites, a pair that stays on the relay:
# drone2 10.0.3.2 behind nc (198.51.100.3) and gcs2 10.0.4.2 behind nd
# (198.51.100.4), both NATs symmetric.
lab_relay_sites() {
	lab_nat nc symmetric 198.51.100.3 10.0.3.0/24 &&
		lab_host drone2 nc 10.0.3.2 &&
		lab_nat nd symmetric 198.51.100.4 10.0.4.0/24 &&
		lab_host gcs2 nd 10.0.4.2
}

# lab_uplink NAME NAT LAN_IP: ethN (N = uplinks so far) behind NAT. Its
# default route sits in table 100+N, chosen by `ip rule from LAN_IP`, so a
# socket bound to LAN_IP uses this uplink; unbound traffic keeps eth0.
lab_uplink() {
	local name=$1 nat=$2 ip=$3 n gw ns
	[ $# -eq 3 ] || topo_die "usage: lab_uplink NAME NAT LAN_IP" || return 1
	[ -n "${LAB_HOST_NATS[$name]:-}" ] || topo_die "lab_uplink: no host \"$name\"" || return 1
	[[ "${LAB_HOST_NATS[$name]} " != *" $nat "* ]] ||
		topo_die "lab_uplink: $name is behind $nat already" || return 1
	n=$(wc -w <<<"${LAB_HOST_NATS[$name]}")
	ns=$(lab_ns "$name")
	gw=$(topo_host_link "$name" "$nat" "$ip" "eth$n") || return 1
	LAB_HOST_NATS[$name]+=" $nat"
	ip -n "$ns" route add default via "$gw" dev "eth$n" table $((100 + n))
	ip -n "$ns" rule add from "$ip" table $((100 + n))
}

# lab_uplink_relink NAME NAT LAN_IP IFACE: re-plug uplink IFACE (ethN) of
# host NAME after it was deleted: the veth to NAT's LAN again, IFACE and
# LAN_IP as before (the kernel gives it a new index), and the default route
# of table 100+N. Routes the caller added itself are its own to re-add.
lab_uplink_relink() {
	local name=$1 nat=$2 ip=$3 iface=$4 n ns gw
	[ $# -eq 4 ] || topo_die "usage: lab_uplink_relink NAME NAT LAN_IP IFACE" || return 1
	[[ $iface =~ ^eth([1-9][0-9]*)$ ]] ||
		topo_die "lab_uplink_relink: \"$iface\" is not an uplink (eth1, eth2...)" || return 1
	n=${BASH_REMATCH[1]}
	[[ "${LAB_HOST_NATS[$name]:-} " == *" $nat "* ]] ||
		topo_die "lab_uplink_relink: $name has no uplink behind $nat" || return 1
	ns=$(lab_ns "$name")
	! ip -n "$ns" link show "$iface" >/dev/null 2>&1 ||
		topo_die "lab_uplink_relink: $name still has $iface" || return 1
	gw=$(topo_host_link "$name" "$nat" "$ip" "$iface") || return 1
	ip -n "$ns" route add default via "$gw" dev "$iface" table $((100 + n))
}

# --- impairments ------------------------------------------------------------------
#
# Loss and cuts are netdev-family nftables tables on the interface itself
# (ingress for "in", egress for "out"), so they hit every packet crossing the
# link, forwarded or local, before conntrack or NAT see it. One table per kind
# and interface: wh_loss_<if> and wh_cut_<if>. The kernel has no netem: delay
# is not available here.

topo_ident() {
	echo "${1//[^a-zA-Z0-9_]/_}"
}

topo_table_del() {
	if lab_exec "$1" nft list table netdev "$2" >/dev/null 2>&1; then
		lab_exec "$1" nft delete table netdev "$2"
	fi
}

# topo_link_table NAME IFACE TABLE DIR RULE: a netdev table applying RULE to
# the chosen directions of IFACE.
topo_link_table() {
	local name=$1 iface=$2 table=$3 dir=$4 rule=$5 chains=""
	case $dir in
	in | out | both) ;;
	*) topo_die "direction must be in, out or both, not \"$dir\"" || return 1 ;;
	esac
	ip -n "$(lab_ns "$name")" link show "$iface" >/dev/null ||
		topo_die "$name has no interface \"$iface\"" || return 1
	if [ "$dir" != out ]; then
		chains+="chain in { type filter hook ingress device \"$iface\" priority filter; $rule; }"$'\n'
	fi
	if [ "$dir" != in ]; then
		chains+="chain out { type filter hook egress device \"$iface\" priority filter; $rule; }"$'\n'
	fi
	topo_table_del "$name" "$table"
	printf 'table netdev %s {\n%s}\n' "$table" "$chains" | lab_exec "$name" nft -f -
}

lab_loss() {
	local name=$1 iface=$2 pct=$3 dir=${4:-both} table
	[[ $pct =~ ^[0-9]+$ ]] && ((pct <= 100)) || topo_die "lab_loss: bad percent \"$pct\"" || return 1
	table=wh_loss_$(topo_ident "$iface")
	if ((pct == 0)); then
		topo_table_del "$name" "$table"
		return
	fi
	# numgen random mod 100 is uniform in 0..99: "< pct" drops pct % of packets.
	topo_link_table "$name" "$iface" "$table" "$dir" "numgen random mod 100 < $pct drop"
}

lab_cut() {
	local name=$1 iface=$2 dir=${3:-both}
	topo_link_table "$name" "$iface" "wh_cut_$(topo_ident "$iface")" "$dir" "drop"
}

lab_heal() {
	topo_table_del "$1" "wh_cut_$(topo_ident "$2")"
}

# lab_block NAME IFACE IP [PCT]: drop every packet (or PCT % of them) to or
# from IP on the link (a cut of one path, e.g. a direct path between two
# NATs, leaving the relay; or a lossy one).
lab_block() {
	local name=$1 iface=$2 ip=$3 pct=${4:-100} match=""
	[[ $ip =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]] || topo_die "lab_block: bad IPv4 \"$ip\"" || return 1
	[[ $pct =~ ^[0-9]+$ ]] && ((pct >= 1 && pct <= 100)) ||
		topo_die "lab_block: bad percent \"$pct\"" || return 1
	((pct == 100)) || match="numgen random mod 100 < $pct "
	topo_link_table "$name" "$iface" "wh_block_$(topo_ident "$iface")" both \
		"ip saddr $ip ${match}drop; ip daddr $ip ${match}drop"
}

lab_unblock() {
	topo_table_del "$1" "wh_block_$(topo_ident "$2")"
}

# lab_rate NAME IFACE KBIT [BURST]: token bucket (tc tbf) on packets leaving
# IFACE; shape both ends of a link for both directions. Bucket: BURST bytes, by
# default 20 ms at the rate, at least two full-size packets; queue: 50 ms,
# beyond that packets are dropped. tbf splits a GSO packet larger than the
# bucket into its segments: a small BURST (3200, two packets) makes loss
# downstream (lab_loss) hit single packets, as on a radio link, not whole GSO
# trains.
lab_rate() {
	local name=$1 iface=$2 kbit=$3 burst=${4:-} ns
	[[ $kbit =~ ^[0-9]+$ ]] || topo_die "lab_rate: bad rate \"$kbit\"" || return 1
	[[ -z $burst || $burst =~ ^[0-9]+$ ]] || topo_die "lab_rate: bad burst \"$burst\"" || return 1
	ns=$(lab_ns "$name")
	if ((kbit == 0)); then
		if tc -n "$ns" qdisc show dev "$iface" root | grep -q '^qdisc tbf'; then
			tc -n "$ns" qdisc del dev "$iface" root
		fi
		return
	fi
	[ -n "$burst" ] || burst=$((kbit * 1000 / 8 / 50))
	((burst >= 3200)) || burst=3200
	tc -n "$ns" qdisc replace dev "$iface" root tbf rate "${kbit}kbit" burst "$burst" latency 50ms ||
		topo_die "lab_rate: tc tbf failed (no sch_tbf in this kernel?)"
}

# lab_delay NAME MS: frames between NAME and the internet take MS ms longer,
# each way (the kernel here has no netem). In the internet namespace, p-NAME
# leaves the bridge; a veth pair q-NAME/r-NAME takes its place (r-NAME on the
# bridge), and delaywire forwards every frame between p-NAME and q-NAME after
# MS ms. The guard still sees every frame on the bridge; lab_rate inet p-NAME
# still shapes what goes to NAME. Called again, it changes the delay (a new
# delaywire; frames in the old one's queue are lost). lab_cleanup stops it.
lab_delay() {
	local name=$1 ms=$2 inet dw
	[[ $ms =~ ^[0-9]+$ ]] && ((ms <= 10000)) || topo_die "lab_delay: bad delay \"$ms\" ms" || return 1
	inet=$(lab_ns inet)
	dw=${DELAYWIRE:-$LAB_ROOT/build/release/tests/delaywire}
	[ -x "$dw" ] || topo_die "lab_delay: $dw missing (make build-tests builds it)" || return 1
	ip -n "$inet" link show "p-$name" >/dev/null 2>&1 || topo_die "lab_delay: no link p-$name" || return 1
	if ip -n "$inet" link show "q-$name" >/dev/null 2>&1; then
		lab_stop "delay-$name" || true
		lab_start_in inet "delay-$name" "$dw" "p-$name" "q-$name" --delay-ms "$ms"
		return
	fi
	ip -n "$inet" link set "p-$name" nomaster
	ip -n "$inet" link add "q-$name" type veth peer name "r-$name"
	ip -n "$inet" link set "r-$name" master br0 up
	ip -n "$inet" link set "q-$name" up
	lab_start_in inet "delay-$name" "$dw" "p-$name" "q-$name" --delay-ms "$ms"
}

# --- teardown ------------------------------------------------------------------------

# topo_alive PID: running and not yet a zombie (kill -0 succeeds on zombies).
topo_alive() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[ "${stat%% *}" != Z ]
}

topo_gone() {
	! topo_alive "$1"
}

# lab_teardown: stop every process lab_start recorded (SIGTERM, SIGKILL after
# 2 s, each by its PID), delete this run's namespaces, and fail if one is left.
lab_teardown() {
	local proc pid ns
	for proc in "${!LAB_PIDS[@]}"; do
		pid=${LAB_PIDS[$proc]}
		kill -TERM "$pid" 2>/dev/null || true
		wait_until 2 topo_gone "$pid" || kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		unset "LAB_PIDS[$proc]"
	done
	for ns in $(lab_netns_left); do
		ip netns del "$ns"
	done
	LAB_NAT_TYPE=() LAB_NAT_PUBLIC=() LAB_NAT_NET=() LAB_NAT_PLEN=() LAB_PUBLIC_USED=()
	LAB_HOST_NATS=()
	ns=$(lab_netns_left)
	[ -z "$ns" ] || topo_die "namespaces left after teardown: $ns"
}

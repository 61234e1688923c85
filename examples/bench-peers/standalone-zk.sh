# Sourced by the bench-peers scripts. `standalone_zk WORK [CFG_LINE...]` starts one
# standalone ZooKeeper 3.8 (Debian's package) on a free loopback port, with its data
# and log in WORK and any extra zoo.cfg lines given, waits until it serves, and sets
# `zk_pid` and `connect` (127.0.0.1:PORT). The caller stops it (kill "$zk_pid").
# A caller that sets the array `zk_wrap` (e.g. `zk_wrap=(taskset -c 0)`) has the
# server's JVM started under that command.
zk_wrap=()
standalone_zk() {
    local work=$1 port reply=
    shift
    port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    mkdir -p "$work/data"
    printf '%s\n' tickTime=2000 "dataDir=$work/data" "clientPort=$port" clientPortAddress=127.0.0.1 \
        maxClientCnxns=0 admin.enableServer=false '4lw.commands.whitelist=*' "$@" >"$work/zoo.cfg"
    "${zk_wrap[@]}" java -Xmx512m -cp /usr/share/java/zookeeper.jar:/usr/share/java/slf4j-nop.jar:/usr/share/java/netty-codec.jar:/usr/share/java/netty-resolver.jar \
        org.apache.zookeeper.server.quorum.QuorumPeerMain "$work/zoo.cfg" >"$work/zk.log" 2>&1 &
    zk_pid=$!
    for _ in $(seq 1 120); do
        # Serving, not just running: `srvr` names the mode only then.
        reply=$( (exec 3<>"/dev/tcp/127.0.0.1/$port" && printf srvr >&3 && timeout 1 cat <&3) 2>/dev/null || true)
        if grep -q '^Mode:' <<<"$reply"; then break; fi
        sleep 0.5
    done
    if ! grep -q '^Mode:' <<<"$reply"; then
        echo "ZooKeeper did not start:" >&2
        tail "$work/zk.log" >&2
        return 1
    fi
    connect=127.0.0.1:$port
    echo "# standalone ZooKeeper at $connect ($(grep '^Zookeeper version' <<<"$reply" | cut -d, -f1))"
}

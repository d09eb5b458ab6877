#!/usr/bin/env bash
# A real S3-compatible server on loopback: single-node Ceph (one monitor, one memstore OSD, radosgw
# with cephx auth) from Debian's packages (infra/s3/install.sh installs them).
#
#   infra/s3/ceph-s3.sh start <state-dir> [s3-port]   prints one JSON line:
#       {"endpoint","accessKeyId","secretAccessKey","region","stateDir","monPort","pids"}
#   infra/s3/ceph-s3.sh stop <state-dir>              kills every daemon it started, waits for
#                                                     their ports to close
#
# Everything binds to 127.0.0.1 only. Ports: the S3 port is the argument (0 or absent: a random
# free one), the monitor's is random, the OSD binds in [CEPH_S3_OSD_PORT_MIN, _MAX] (Ceph takes
# the first free ones). Data lives in the OSD's memory (memstore, CEPH_S3_DEVICE_BYTES, 512 MiB by
# default) and is gone after stop; start wipes the state dir's previous contents.
# Limits: CEPH_S3_TIMEOUT seconds (default 120) for each readiness wait.
set -euo pipefail

readonly HOST=127.0.0.1
readonly PY=/usr/bin/python3 # ceph-common depends on it (the ceph CLI is Python)
TIMEOUT=${CEPH_S3_TIMEOUT:-120}
DEVICE_BYTES=${CEPH_S3_DEVICE_BYTES:-536870912}
OSD_PORT_MIN=${CEPH_S3_OSD_PORT_MIN:-6800}
OSD_PORT_MAX=${CEPH_S3_OSD_PORT_MAX:-7300}
DAEMONS=(mon osd rgw)
declare -A CEPH_NAME=([mon]=mon.a [osd]=osd.0 [rgw]=client.rgw.local)

die() {
  echo "ceph-s3: $*" >&2
  exit 1
}

usage() {
  die "usage: $0 start <state-dir> [s3-port] | stop <state-dir>"
}

free_port() {
  "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Random [A-Za-z0-9] string of length $2 from alphabet $1.
random_string() {
  LC_ALL=C tr -dc "$1" </dev/urandom | head -c "$2" || true
}

ceph_cli() {
  # A monitor that is gone makes the CLI retry forever: bound each call.
  timeout 20 ceph -c "$CONF" --connect-timeout 10 "$@"
}

pid_of() {
  cat "$STATE/run/$1.pid" 2>/dev/null || true
}

alive() {
  local pid
  pid=$(pid_of "$1")
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null
}

fail_with_log() {
  local name=$1 msg=$2 log
  {
    echo "ceph-s3: $msg"
    for log in "$STATE/log/$name.stderr" "$STATE/log/${CEPH_NAME[$name]}.log"; do
      [[ -s $log ]] || continue
      echo "--- last lines of $log ---"
      tail -n 20 "$log"
    done
  } >&2
  stop_all >/dev/null 2>&1 || true
  exit 1
}

# wait_for <daemon> <what> <command...>: polls every 0.2 s until the command succeeds; fails fast
# with the daemon's log tail when the daemon dies, or after $TIMEOUT seconds.
wait_for() {
  local name=$1 what=$2
  shift 2
  local deadline=$((SECONDS + TIMEOUT))
  until "$@" >/dev/null 2>&1; do
    alive "$name" || fail_with_log "$name" "$name exited while waiting for $what"
    ((SECONDS < deadline)) || fail_with_log "$name" "timed out after ${TIMEOUT}s waiting for $what"
    sleep 0.2
  done
}

# launch <daemon> <command...>: runs a daemon in the foreground of its own session (one process
# group, so stop reaches any child), stderr to its log, pid in run/<daemon>.pid.
launch() {
  local name=$1
  shift
  # fd 3 is the caller's stdout (the JSON line): a daemon holding it would keep that pipe open.
  setsid "$@" -f >>"$STATE/log/$name.stderr" 2>&1 </dev/null 3>&- &
  echo $! >"$STATE/run/$name.pid"
}

# SIGKILL, not SIGTERM: memstore keeps nothing worth flushing (start wipes the state dir), and a
# graceful radosgw shutdown takes about 4 s. Each daemon leads its own process group.
stop_all() {
  local name pid pids=()
  for name in "${DAEMONS[@]}"; do
    pid=$(pid_of "$name")
    [[ -n $pid ]] || continue
    # Only signal a pid that is still one of ours (a Ceph daemon started with this config).
    if grep -qF "$CONF" "/proc/$pid/cmdline" 2>/dev/null; then
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
  done
  # The kernel closes a process's sockets when it is reaped; wait for that.
  local deadline=$((SECONDS + 10))
  for pid in "${pids[@]}"; do
    while [[ -e /proc/$pid ]] && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null; do
      ((SECONDS < deadline)) || die "pid $pid survived SIGKILL for 10 s"
      sleep 0.05
    done
  done
  rm -f "$STATE"/run/*.pid
}

write_conf() {
  cat >"$CONF" <<EOF
[global]
fsid = $FSID
mon_host = v2:$HOST:$MON_PORT
public_addr = $HOST
cluster_addr = $HOST
ms_bind_msgr1 = false
ms_bind_port_min = $OSD_PORT_MIN
ms_bind_port_max = $OSD_PORT_MAX
# cephx everywhere: with 'auth none' radosgw hangs for 300 s at start.
auth_cluster_required = cephx
auth_service_required = cephx
auth_client_required = cephx
keyring = $STATE/keyring/\$name.keyring
run_dir = $STATE/run
admin_socket = $STATE/run/\$name.asok
log_file = $STATE/log/\$name.log
mon_cluster_log_file = $STATE/log/cluster.log
crash_dir = $STATE/crash
log_to_stderr = false
err_to_stderr = true
# Single node: one copy of everything, placement across OSDs rather than hosts.
osd_pool_default_size = 1
osd_pool_default_min_size = 1
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
osd_crush_chooseleaf_type = 0
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
mon_data_avail_warn = 1
mon_data_avail_crit = 0
# One monitor: commit map changes at once instead of batching them for a second each (radosgw
# creates its pools one by one at first start).
paxos_propose_interval = 0.05
paxos_min_wait = 0.01

[mon]
mon_data = $STATE/mon/\$id
mon_allow_pool_delete = true

[osd]
osd_data = $STATE/osd/\$id
osd_objectstore = memstore
memstore_device_bytes = $DEVICE_BYTES
osd_memory_target = 268435456
osd_op_num_shards = 1
osd_op_num_threads_per_shard = 1

[client.rgw.local]
rgw_frontends = beast endpoint=$HOST:$S3_PORT
rgw_data = $STATE/rgw
rgw_thread_pool_size = 32
rgw_enable_usage_log = false
EOF
}

cmd_start() {
  trap 'echo "ceph-s3: start failed at line $LINENO: $BASH_COMMAND" >&2' ERR
  [[ -n ${S3_PORT:-} && $S3_PORT != 0 ]] || S3_PORT=$(free_port)
  [[ $S3_PORT =~ ^[0-9]+$ ]] || die "port must be a number, got '$S3_PORT'"
  for bin in ceph-mon ceph-osd radosgw ceph ceph-authtool monmaptool radosgw-admin; do
    command -v "$bin" >/dev/null || die "$bin not found: run infra/s3/install.sh"
  done
  [[ -e $CONF ]] && stop_all
  rm -rf "${STATE:?}"/{mon,osd,rgw,keyring,run,log,crash,monmap,ceph.conf}
  mkdir -p "$STATE"/{mon/a,osd/0,rgw,keyring,run,log,crash}
  # stdout carries only the JSON line (fd 3); the setup tools' chatter goes to a log.
  exec 3>&1 >>"$STATE/log/setup.log"

  FSID=$(cat /proc/sys/kernel/random/uuid)
  MON_PORT=$(free_port)
  write_conf

  # Keys: the monitor's, and client.admin's (imported into the monitor's keyring so it exists at
  # first start).
  local kr=$STATE/keyring
  ceph-authtool --create-keyring "$kr/mon.a.keyring" --gen-key -n mon. --cap mon 'allow *'
  ceph-authtool --create-keyring "$kr/client.admin.keyring" --gen-key -n client.admin \
    --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *'
  ceph-authtool "$kr/mon.a.keyring" --import-keyring "$kr/client.admin.keyring"
  monmaptool --create --fsid "$FSID" --addv a "[v2:$HOST:$MON_PORT]" "$STATE/monmap" >/dev/null
  ceph-mon -c "$CONF" --mkfs -i a --monmap "$STATE/monmap" --keyring "$kr/mon.a.keyring" \
    >>"$STATE/log/mon.stderr" 2>&1 || fail_with_log mon "ceph-mon --mkfs failed"

  launch mon ceph-mon -c "$CONF" -i a
  wait_for mon "the monitor to answer on $HOST:$MON_PORT" ceph_cli mon stat

  local osd_uuid
  osd_uuid=$(cat /proc/sys/kernel/random/uuid)
  ceph_cli osd new "$osd_uuid" 0 || fail_with_log mon "'ceph osd new' failed"
  ceph_cli auth get-or-create osd.0 mon 'allow profile osd' mgr 'allow profile osd' osd 'allow *' \
    -o "$kr/osd.0.keyring" || fail_with_log mon "creating the key of osd.0 failed"
  ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$osd_uuid" >>"$STATE/log/osd.stderr" 2>&1 ||
    fail_with_log osd "ceph-osd --mkfs failed"
  launch osd ceph-osd -c "$CONF" -i 0
  wait_for osd "osd.0 to be up" osd_up

  ceph_cli auth get-or-create client.rgw.local mon 'allow rw' osd 'allow rwx' \
    -o "$kr/client.rgw.local.keyring" || fail_with_log mon "creating the key of radosgw failed"
  launch rgw radosgw -c "$CONF" -n client.rgw.local
  # Anonymous ListBuckets answers 200 once radosgw has created its pools and serves requests.
  wait_for rgw "radosgw to answer on $HOST:$S3_PORT" \
    curl -sf -o /dev/null --max-time 5 "http://$HOST:$S3_PORT/"

  local access secret
  access=$(random_string 'A-Z0-9' 20)
  secret=$(random_string 'A-Za-z0-9' 40)
  timeout 60 radosgw-admin -c "$CONF" -n client.admin user create --uid=dragflow \
    --display-name=dragflow --access-key="$access" --secret-key="$secret" >/dev/null ||
    fail_with_log rgw "radosgw-admin user create failed"

  printf >&3 '{"endpoint":"http://%s:%s","accessKeyId":"%s","secretAccessKey":"%s","region":"us-east-1","stateDir":%s,"monPort":%s,"pids":{"mon":%s,"osd":%s,"rgw":%s}}\n' \
    "$HOST" "$S3_PORT" "$access" "$secret" "$("$PY" -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$STATE")" \
    "$MON_PORT" "$(pid_of mon)" "$(pid_of osd)" "$(pid_of rgw)"
}

osd_up() {
  ceph_cli osd stat -f json | grep -q '"num_up_osds":1'
}

cmd_stop() {
  [[ -d $STATE ]] || exit 0
  stop_all
}

[[ $# -ge 2 ]] || usage
action=$1
mkdir -p "$2"
STATE=$(cd "$2" && pwd)
CONF=$STATE/ceph.conf
S3_PORT=${3:-}
case $action in
start)
  # A randomly picked port can be taken by someone else before the daemon binds it: then start
  # again on other ports (an explicitly given S3 port is never changed).
  for attempt in 1 2 3; do
    (cmd_start) && exit 0
    [[ -z $S3_PORT || $S3_PORT == 0 ]] && grep -qs 'Address already in use' "$STATE"/log/*.stderr || exit 1
    echo "ceph-s3: a picked port was taken meanwhile (attempt $attempt of 3), starting again" >&2
  done
  exit 1
  ;;
stop) cmd_stop ;;
*) usage ;;
esac

#!/bin/bash
# The render farm on a real Slurm: starts a one-node Slurm cluster on this machine (munged, slurmctld, slurmd, all
# state, sockets, ports and logs private to a temporary folder, so nothing of the system's is touched), then
#  1. renders Tests/Fixtures/workflow/tiny.yaml as a 2-task array plus an assembly through
#     `kinora farm slurm --submit`, and checks the final file decodes to the same video and audio frames
#     (ffmpeg's framemd5) as a single-process render of the same workflow;
#  2. kills a shard mid-way (scancel), checks `kinora farm status` shows it stopped, resubmits it and checks it
#     resumes from its cached stages, then finishes that farm and checks its file the same way.
# Needs root (the daemons run as root) and what scripts/setup.sh installs (slurm-wlm, munge, ffmpeg, the Piper
# voice). Builds kinora if $KINORA (the binary to test) is not set. Takes about two minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
repository=$(pwd)

fail() {
    echo "test-slurm: FAILED: $*" >&2
    exit 1
}

[ "$(id -u)" -eq 0 ] || fail "run as root: the test starts munged, slurmctld and slurmd"
for tool in munged slurmctld slurmd sbatch squeue scontrol scancel sinfo ffmpeg python3; do
    command -v "$tool" >/dev/null || fail "$tool is missing: run scripts/setup.sh (Debian: slurm-wlm, munge)"
done
if [ -z "${KINORA:-}" ]; then
    swift build --product kinora >/dev/null
    KINORA=$repository/.build/debug/kinora
fi
kinora=$(readlink -f "$KINORA")

work=$(mktemp -d /tmp/kinora-slurm.XXXXXX)
daemons=()
cleanup() {
    status=$?
    for pid in "${daemons[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${daemons[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [ "$status" -ne 0 ]; then
        for log in "$work"/*.log "$work"/*.out "$work"/cache*/farm/*/logs/*.log; do
            [ -f "$log" ] && { echo "--- $log"; tail -n 30 "$log"; }
        done
        echo "test-slurm: its files stay in $work" >&2
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT

# --- the cluster -------------------------------------------------------------------------------------------------
host=$(hostname -s)
cpus=$(nproc)
read -r controller_port node_port < <(python3 -c '
import socket
sockets = [socket.socket() for _ in range(2)]
for s in sockets: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in sockets))')

dd if=/dev/urandom of="$work/munge.key" bs=1024 count=1 status=none
chmod 400 "$work/munge.key"
munged --foreground --force --key-file="$work/munge.key" --socket="$work/munge.socket" \
    --pid-file="$work/munged.pid" --log-file="$work/munged.log" --seed-file="$work/munged.seed" \
    >"$work/munged.out" 2>&1 &
daemons+=($!)

mkdir -p "$work/state" "$work/spool"
# Two stand-in GPUs (Slurm wants a device file for each; nothing opens them), so the shards' --gres=gpu:1 is
# scheduled as on a GPU node.
cat > "$work/gres.conf" <<EOF
NodeName=$host Name=gpu File=/dev/null
NodeName=$host Name=gpu File=/dev/zero
EOF
cat > "$work/slurm.conf" <<EOF
ClusterName=kinora-test
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$controller_port
SlurmdPort=$node_port
AuthType=auth/munge
AuthInfo=socket=$work/munge.socket
CredType=cred/munge
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
ReturnToService=2
MinJobAge=600
KillWait=5
GresTypes=gpu
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus Gres=gpu:2 State=UNKNOWN
PartitionName=farm Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$work/slurm.conf
# slurmd reads gres.conf from the folder of slurm.conf.
slurmctld -D -i -f "$SLURM_CONF" >"$work/slurmctld.out" 2>&1 &
daemons+=($!)
slurmd -D -f "$SLURM_CONF" >"$work/slurmd.out" 2>&1 &
daemons+=($!)

for _ in $(seq 1 60); do
    state=$(sinfo -h -n "$host" -o %T 2>/dev/null || true)
    [ "$state" = "idle" ] && break
    sleep 1
done
[ "$state" = "idle" ] || fail "the node did not come up idle (sinfo says '$state')"
echo "test-slurm: a one-node Slurm with $cpus CPUs runs on $host (ports $controller_port, $node_port)"

# --- helpers -----------------------------------------------------------------------------------------------------
# Waits until none of the jobs given is pending or running (at most 300 s), then fails unless each (every task of an
# array) ended COMPLETED.
wait_for_jobs() {
    local deadline=$((SECONDS + 300))
    while [ -n "$(squeue -h -j "$(IFS=,; echo "$*")" 2>/dev/null)" ]; do
        [ "$SECONDS" -lt "$deadline" ] || fail "jobs $* still queued or running after 300 s"
        sleep 1
    done
    local job
    for job in "$@"; do
        local states
        states=$(scontrol show job "$job" | grep -oE 'JobState=[A-Z_]+' | sort -u | tr '\n' ' ')
        [ "$states" = "JobState=COMPLETED " ] || fail "job $job ended $states"
    done
}

# The checksums of the decoded frames of one stream kind (v or a) of a file.
frames() {
    ffmpeg -v error -i "$1" -map "0:$2" -f framemd5 - | grep -v '^#'
}

same_frames() {
    local stream
    for stream in v a; do
        [ -n "$(frames "$1" "$stream")" ] || fail "$1 has no $stream frames"
        diff <(frames "$1" "$stream") <(frames "$2" "$stream") >/dev/null \
            || fail "$1 and $2 decode to different $stream frames"
    done
}

# A field of a farm record (JSON) as text.
field() {
    python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get(sys.argv[2]))' "$1" "$2"
}

# --- the workflow and the reference render -------------------------------------------------------------------------
films=$work/films
mkdir -p "$films/music"
cp Tests/Fixtures/workflow/tiny.yaml "$films/"
cp examples/music/pad.ogg "$films/music/"
workflow=$films/tiny.yaml
"$kinora" render "$workflow" --cache-dir "$work/single-cache" -o "$work/single.mp4" --progress none >/dev/null
echo "test-slurm: rendered $workflow in one process"

# --- 1. a 2-task array and the assembly ------------------------------------------------------------------------------
submitted=$("$kinora" farm slurm "$workflow" --tasks 2 --gpus-per-task 1 --cache-dir "$work/cache" --submit)
echo "$submitted"
array=$(grep -oE 'shards as job [0-9]+' <<<"$submitted" | grep -oE '[0-9]+$') || fail "no array job id printed"
assembly=$(grep -oE 'assembly as job [0-9]+' <<<"$submitted" | grep -oE '[0-9]+$') || fail "no assembly job id"
wait_for_jobs "$array" "$assembly"
[ -f "$films/tiny.mp4" ] || fail "the assembly wrote no $films/tiny.mp4"
same_frames "$films/tiny.mp4" "$work/single.mp4"
status=$("$kinora" farm status "$workflow" --cache-dir "$work/cache")
echo "$status"
grep -q "2 of 2 shards done; assembled." <<<"$status" || fail "farm status does not show the farm done"
grep -q "JobState=COMPLETED" < <(scontrol show job "${array}_1") || fail "array task 1 did not complete"
echo "test-slurm: the 2-shard farm on Slurm made the same frames as the single render"

# --- 2. a shard killed mid-way, resubmitted ----------------------------------------------------------------------
rm "$films/tiny.mp4"
"$kinora" farm slurm "$workflow" --tasks 2 --gpus-per-task 1 --cache-dir "$work/cache-killed" >/dev/null
farm=$work/cache-killed/farm/tiny-final
record=$farm/shard-1-of-2.json
first=$(sbatch --parsable --array=0 "$farm/shards.sbatch")
# Cancel it once it has finished a stage or two and is still running.
deadline=$((SECONDS + 120))
until [ -f "$record" ] && [ "$(field "$record" stagesDone)" -ge 2 ]; do
    [ "$SECONDS" -lt "$deadline" ] || fail "shard 1/2 recorded no two finished stages in 120 s"
    sleep 0.2
done
scancel "$first"
while [ -n "$(squeue -h -j "$first")" ]; do sleep 0.5; done
[ "$(field "$record" state)" = "running" ] || fail "shard 1/2 finished before it could be killed"
done_before=$(field "$record" stagesDone)
total=$(field "$record" stagesTotal)
[ "$done_before" -lt "$total" ] || fail "shard 1/2 had done all its stages when it was killed"
status=$("$kinora" farm status "$workflow" --cache-dir "$work/cache-killed")
grep -q "shard 1/2   stopped" <<<"$status" || fail "farm status does not show the killed shard stopped: $status"
echo "test-slurm: shard 1/2 cancelled after $done_before of its $total stages"

again=$(sbatch --parsable --array=0 "$farm/shards.sbatch")
wait_for_jobs "$again"
[ "$(field "$record" state)" = "done" ] || fail "the resubmitted shard 1/2 did not finish"
hits=$(python3 -c 'import json, sys; print(sum(s["cacheHit"] for s in json.load(open(sys.argv[1]))["stages"]))' \
    "$farm/shard-1-of-2.report.json")
[ "$hits" -ge "$done_before" ] || fail "the resubmitted shard took $hits stages from the cache, not $done_before"
computed=$(field "$record" stagesComputed)
[ "$((hits + computed))" -eq "$total" ] || fail "the resubmitted shard took $hits and computed $computed of $total"
echo "test-slurm: resubmitted, shard 1/2 took $hits stages from the cache and computed $computed"

second=$(sbatch --parsable --array=1 "$farm/shards.sbatch")
assembled=$(sbatch --parsable --dependency="afterok:$second" "$farm/assemble.sbatch")
wait_for_jobs "$second" "$assembled"
same_frames "$films/tiny.mp4" "$work/single.mp4"
echo "test-slurm: passed"

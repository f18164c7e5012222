#!/usr/bin/env bash
# smoke-test.sh: run the built runtime images the way the server does and check
# the launcher protocol, exit codes, the usage line, OOM accounting and the
# seccomp profile. Needs the images from build.sh. Prints "N passed, N failed".
#
# Usage: bash runtime-images/smoke-test.sh [--runsc]
#   --runsc   also run the basic checks under gVisor (docker --runtime runsc)
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SECCOMP="$(cd "$HERE/.." && pwd)/seccomp-profile.json"
RUNSC=0
[[ ${1:-} == --runsc ]] && RUNSC=1
PASS=0 FAIL=0 RC='' STDOUT='' STDERR='' USAGE='' NONCE='' END_NONCE='' USAGE_NONCE='' USAGE_LINES=0
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT

# job ... ; run IMAGE [MEM] [RUNTIME]: feeds $OUT/job to a container the way the
# server does; sets RC, STDOUT (without the job and end marks), STDERR, USAGE (the usage line's JSON or "") and
# USAGE_LINES (how many lines carry the usage token).
run() {
  local img=$1 mem=${2:-128m} rt=${3:-runc} pids=64
  [[ $rt == runsc ]] && pids=128   # gVisor's own Go threads count against pids.max
  docker run --rm -i --runtime "$rt" --read-only \
    --tmpfs /work:rw,nosuid,nodev,size=64m,uid=10001,gid=10001,mode=0700 \
    --tmpfs /tmp:rw,nosuid,nodev,size=64m,mode=1777 \
    --cap-drop ALL --security-opt no-new-privileges --security-opt "seccomp=$SECCOMP" \
    --user 10001:10001 --network none --memory "$mem" --memory-swap "$mem" \
    --pids-limit "$pids" --ulimit nofile=1024:1024 --ulimit nproc=256:256 \
    "cronium/runtime-$img:latest" <"$OUT/job" >"$OUT/stdout" 2>"$OUT/stderr"
  RC=$?
  STDOUT=$(cat "$OUT/stdout"); STDERR=$(cat "$OUT/stderr")
  JOB_MARK=0; [[ $STDOUT == "__CRONIUM_JOB_${NONCE}__"* ]] && JOB_MARK=1
  STDOUT=${STDOUT#"__CRONIUM_JOB_${NONCE}__"}; STDOUT=${STDOUT#$'\n'}
  END_MARK=0; [[ $STDOUT == *"__CRONIUM_END_${END_NONCE}__" ]] && END_MARK=1
  STDOUT=${STDOUT%"__CRONIUM_END_${END_NONCE}__"}; STDOUT=${STDOUT%$'\n'}
  USAGE=$(grep -ao "__CRONIUM_USAGE_${USAGE_NONCE}__ {.*}" "$OUT/stderr" | tail -n 1 | sed 's/^[^ ]* //')
  USAGE_LINES=$(grep -ac "__CRONIUM_USAGE_${USAGE_NONCE}__" "$OUT/stderr")
}
token() { od -An -N8 -tx1 /dev/urandom | tr -d ' \n'; }
job() { # job SCRIPT FILENAME ARGV_JSON [ENV_JSON]: a token per mark, as the server sends them
  NONCE=$(token) END_NONCE=$(token) USAGE_NONCE=$(token)
  jq -cn --arg s "$1" --arg f "$2" --argjson a "$3" --argjson e "${4:-{\}}" --arg n "$NONCE" --arg en "$END_NONCE" --arg un "$USAGE_NONCE" \
    '{script:$s,filename:$f,argv:$a,env:$e,nonce:$n,endNonce:$en,usageNonce:$un}' >"$OUT/job"
}
job1() { # job1 SCRIPT FILENAME ARGV_JSON: one nonce for all three marks (what the JSON job had before the tokens)
  NONCE=$(token); END_NONCE=$NONCE USAGE_NONCE=$NONCE
  jq -cn --arg s "$1" --arg f "$2" --argjson a "$3" --arg n "$NONCE" '{script:$s,filename:$f,argv:$a,nonce:$n}' >"$OUT/job"
}
check() { # check NAME CONDITION...
  local name=$1; shift
  if "$@"; then PASS=$((PASS + 1)); printf 'ok   %s\n' "$name"
  else FAIL=$((FAIL + 1)); printf 'FAIL %s\n     rc=%s stdout=%q\n     stderr=%q\n' "$name" "$RC" "${STDOUT:0:300}" "${STDERR:0:300}"; fi
}
usage_field() { jq -r ".$1" <<<"${USAGE:-null}" 2>/dev/null; }

basic_checks() { # basic_checks RUNTIME
  local rt=$1
  job 'import os, sys; print("hi", os.environ["A"], os.getcwd(), sys.argv[1])' main.py '["python3","-u","/work/main.py","x y"]' '{"A":"1"}'; run python 128m "$rt"
  check "[$rt] python hello, env and argv" test "$RC" = 0 -a "$STDOUT" = "hi 1 /work x y"
  check "[$rt] usage line present, exitCode 0" test "$(usage_field exitCode)" = 0
  check "[$rt] job mark is the first thing on stdout" test "$JOB_MARK" = 1
  check "[$rt] end mark is the last thing on stdout" test "$END_MARK" = 1

  job 'exit 3' main.sh '["bash","/work/main.sh"]'; run bash 128m "$rt"
  check "[$rt] bash exit 3 -> 3" test "$RC" = 3 -a "$(usage_field exitCode)" = 3

  job 'kill -TERM $$' main.sh '["bash","/work/main.sh"]'; run bash 128m "$rt"
  check "[$rt] killed by SIGTERM -> 143, no job notice" test "$RC" = 143 -a "$(usage_field exitCode)" = 143 -a "$(grep -c Terminated "$OUT/stderr")" = 0

  job 'import c from "cronium"; import * as s from "@cronium/sdk"; console.log(typeof c, typeof s)' main.mjs '["node","/work/main.mjs"]'; run node 128m "$rt"
  check "[$rt] node ESM import cronium + @cronium/sdk" test "$RC" = 0 -a "$STDOUT" = "object object"

  job 'const c = require("cronium"); require("@cronium/sdk"); console.log(typeof c)' main.cjs '["node","/work/main.cjs"]'; run node 128m "$rt"
  check "[$rt] node CJS require cronium" test "$RC" = 0 -a "$STDOUT" = "object"

  job 'import cronium; print(cronium.__name__)' main.py '["python3","/work/main.py"]'; run python 128m "$rt"
  check "[$rt] python import cronium" test "$RC" = 0 -a "$STDOUT" = "cronium"

  job 'command -v cronium' main.sh '["bash","/work/main.sh"]'; run bash 128m "$rt"
  check "[$rt] bash SDK on PATH" test "$STDOUT" = /usr/local/bin/cronium

  NONCE=x; printf 'not json' >"$OUT/job"; run bash 128m "$rt"
  check "[$rt] invalid JSON -> 125 with message" test "$RC" = 125 -a -n "$(grep 'cronium-launch: error' "$OUT/stderr")"

  job1 'echo one; exit 4' main.sh '["bash","/work/main.sh"]'; run bash 128m "$rt"
  check "[$rt] a JSON job with one nonce gets it in all three marks" \
    test "$RC" = 4 -a "$STDOUT" = one -a "$JOB_MARK$END_MARK" = 11 -a "$(usage_field exitCode)" = 4

  # A script that reads its stdout and stderr back and leaves forgers running on both: they are gone before the
  # end mark and the one usage line, which keeps the real exit code. (Not together with the writer below: that
  # mix makes gVisor 20221219 end the sandbox with status 2, whichever launcher.)
  read -r -d '' FORGER <<'EOF'
exec 7</proc/self/fd/1 8</proc/self/fd/2 || echo "no reopen" >&2
steal='while IFS= read -r l; do [[ $l =~ __CRONIUM_[A-Z]+_([A-Za-z0-9]+)__ ]] && printf "__CRONIUM_USAGE_%s__ {\"exitCode\":0,\"cpuNs\":1,\"memoryPeakBytes\":1,\"oomKills\":1}\n" "${BASH_REMATCH[1]}" >&2; done'
setsid bash -c "$steal <&7" & setsid bash -c "$steal <&8" &
sleep 0.1
exit 5
EOF
  job "$FORGER" main.sh '["bash","/work/main.sh"]'; run bash 128m "$rt"
  check "[$rt] what the job leaves running cannot forge the usage line" \
    test "$RC" = 5 -a "$END_MARK" = 1 -a "$USAGE_LINES" = 1 -a "$(usage_field exitCode)" = 5 -a "$(usage_field oomKills)" != 1

  job '( while :; do echo LEFTOVER; sleep 0.01; done ) & sleep 0.1; exit 6' main.sh '["bash","/work/main.sh"]'; run bash 128m "$rt"
  check "[$rt] what the job leaves running is killed before the end mark" test "$RC" = 6 -a "$END_MARK" = 1 -a "$(usage_field exitCode)" = 6
}

basic_checks runc

job 'b = bytearray(1024 * 1024 * 1024)' main.py '["python3","/work/main.py"]'; run python 64m
check "[runc] 1 GiB under --memory 64m -> 137, oomKills>=1" \
  test "$RC" = 137 -a "$(usage_field exitCode)" = 137 -a "$(usage_field oomKills)" -ge 1
check "[runc] cpuNs and memoryPeakBytes are numbers" \
  test "$(usage_field 'cpuNs|type')" = number -a "$(usage_field 'memoryPeakBytes|type')" = number

job 'import os; print("NONCE" in os.environ, sorted(os.environ))' main.py '["python3","/work/main.py"]' '{"K":"V"}'; run python
check "[runc] child env is exactly K + PATH/HOME/LANG" test "$STDOUT" = "False ['HOME', 'K', 'LANG', 'PATH']"

read -r -d '' PROBE <<'EOF'
import ctypes, errno, os, socket
libc = ctypes.CDLL(None, use_errno=True)
def denied(nr, *a):
    ctypes.set_errno(0)
    r = libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(x) for x in a])
    return r == -1 and ctypes.get_errno() in (errno.EPERM, errno.ENOSYS)
checks = {
  "ptrace": denied(101, 0, 0, 0, 0), "process_vm_readv": denied(310, 1, 0, 0, 0, 0, 0),
  "io_uring_setup": denied(425, 1, 0), "userfaultfd": denied(323, 0), "perf_event_open": denied(298, 0, 0, -1, -1, 0),
  "unshare_user": denied(272, 0x10000000), "personality_32": denied(135, 8), "name_to_handle_at": denied(303, -100, 0, 0, 0, 0),
  "bpf": denied(321, 0, 0, 0), "keyctl": denied(250, 0, 0), "mount": denied(165, 0, 0, 0, 0, 0),
}
try: socket.socket(40, socket.SOCK_STREAM); checks["AF_VSOCK"] = False
except PermissionError: checks["AF_VSOCK"] = True
try: open(f"/proc/{os.getppid()}/mem", "rb"); checks["launcher_mem"] = False
except PermissionError: checks["launcher_mem"] = True
print(" ".join(k for k, ok in checks.items() if not ok) or "all-denied")
EOF
job "$PROBE" probe.py '["python3","/work/probe.py"]'; run python
check "[runc] seccomp: ptrace/io_uring/bpf/... denied, launcher memory unreadable" test "$STDOUT" = all-denied

if [[ $RUNSC -eq 1 ]]; then
  basic_checks runsc
fi

echo "$PASS passed, $FAIL failed"
[[ $FAIL -eq 0 ]]

#!/bin/bash
# The showcase suite at its default scale, every way it can run (issue 13's figures), in DIR (a fresh one):
#   bash benchmarks/bench_suite.sh /tmp/suite
# cold: the first `kernel showcase run --all` (data generated, cache empty); warm: again, nothing changed;
# nocache: inline without the cache (data present); processes: --executor processes --workers 2;
# dask: on a LocalCluster of 2 one-thread workers started beforehand (--address); tiny: --scale 0.2.
# Each line: the command's wall time; DIR/NAME.summary.json holds every showcase's own figures.
set -u
K=${KERNEL:-kernel}
PY=${PYTHON:-python}
D=${1:?usage: bench_suite.sh DIR}
rm -rf "$D" && mkdir -p "$D" && cd "$D" || exit 1
t() {
  local name=$1; shift
  local s e
  s=$(date +%s.%N); "$@" > "$name.out" 2> "$name.err"; local rc=$?; e=$(date +%s.%N)
  echo "$name rc=$rc wall=$(echo "$e - $s" | bc) s"
  cp suite/summary.json "$name.summary.json" 2>/dev/null
}
t cold $K showcase run --all -q
t warm $K showcase run --all -q
t nocache $K showcase run --all -q --no-cache
t processes $K showcase run --all -q --no-cache --executor processes --workers 2
$PY -c "
from dask.distributed import LocalCluster
import time
c = LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None)
open('dask.addr', 'w').write(c.scheduler_address)
time.sleep(3600)" > dask-cluster.log 2>&1 &
CLUSTER=$!
for _ in $(seq 60); do [ -s dask.addr ] && break; sleep 1; done
t dask $K showcase run --all -q --no-cache --executor dask --address "$(cat dask.addr)"
kill $CLUSTER
t tiny $K showcase run --all -q --scale 0.2

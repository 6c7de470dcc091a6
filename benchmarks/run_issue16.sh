#!/usr/bin/env bash
# Every row of issue 16's table, in one run, peers beside famtrial, the load average before each part.
#
#     bash benchmarks/run_issue16.sh [LOG]        # default log: benchmarks/logs/issue16_<UTC time>.log
#
# Parts (each script's docstring says what it times): the exact conditional logit at trial size and
# 25,000 parents against R survival::clogit (bench_clogit.py); month (two-way) fixed effects against
# pyfixest's feglm and R's exact clogit with factor(month), and the large month-effects panels
# (bench_twfe.py twfe --large); the cost's growth in months; the first call in a fresh environment;
# the fit under a competing process; `famtrial reproduce` cold (empty numba cache), warm and
# --skip-inference, and randomization inference by executor (bench_ri.py); the monthly series against
# a statsmodels loop (bench_monthly.py). Needs R with survival and pyfixest installed. Takes about
# 15 minutes on 2 idle cores.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p benchmarks/logs
log=${1:-benchmarks/logs/issue16_$(date -u +%Y%m%dT%H%MZ).log}
export OPENBLAS_NUM_THREADS=1
part() {
    echo
    echo "## $1"
    echo "# $(date -u +%H:%M:%S) UTC, load average $(cut -d' ' -f1-3 /proc/loadavg)"
}
{
    echo "# issue 16 benchmarks, commit $(git rev-parse --short HEAD), $(nproc) cores, $(python --version 2>&1)"
    part "exact conditional logit, linear trend, cluster SE (R survival exact beside)"
    python benchmarks/bench_clogit.py --sizes 2537 25000 --skip-statsmodels
    part "month fixed effects: famtrial vs pyfixest feglm vs R exact clogit + factor(month)"
    python benchmarks/bench_twfe.py twfe --sizes 2537 25000 --r-max 2537 --large
    part "growth in months"
    python benchmarks/bench_twfe.py months
    part "first call in a fresh environment"
    python benchmarks/bench_twfe.py first-call
    part "contention: a competing 2-thread process"
    python benchmarks/bench_twfe.py contention
    part "famtrial reproduce, cold (empty numba cache)"
    cache=$(mktemp -d)
    out=$(mktemp -d)
    /usr/bin/time -f "cold reproduce: %e s wall, %U s user + %S s sys" \
        env NUMBA_CACHE_DIR="$cache" famtrial reproduce --out "$out" --quiet 2>&1 | grep -v "^note:"
    rm -rf "$cache" "$out"
    part "randomization inference by executor; warm reproduce and --skip-inference"
    python benchmarks/bench_ri.py --executors
    part "monthly series vs a statsmodels loop"
    python benchmarks/bench_monthly.py
    echo
    echo "# done $(date -u +%H:%M:%S) UTC, load average $(cut -d' ' -f1-3 /proc/loadavg)"
} 2>&1 | tee "$log"

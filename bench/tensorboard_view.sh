#!/usr/bin/env bash
# The first view of `make tensorboard`, as a browser shows it: TensorBoard on the study's
# configuration runs (the Makefile's --logdir_spec), CUSTOM SCALARS opened in headless Chromium
# (Debian's chromium) and a screenshot; then, from TensorBoard's own HTTP API, each margin chart of
# the layout and how many runs (all selected on a first view) carry its tag: the chart's "Matches (N)".
# (The dashboard renders in shadow DOM, which --dump-dom does not serialise.)
#   bench/tensorboard_view.sh [STUDY_DIR=multirun] [SCREENSHOT=tensorboard_first_view.png]
set -euo pipefail
study=${1:-multirun}
shot=${2:-tensorboard_first_view.png}
port=${PORT:-6123}
spec=$(.venv/bin/python -m lenet_ablate.tensorboard --logdir-spec "$study")
.venv/bin/tensorboard --logdir_spec "$spec" --port "$port" --host localhost >/dev/null 2>&1 &
tb=$!
trap 'kill $tb' EXIT
for _ in $(seq 120); do curl -sf "http://localhost:$port/data/runs" >/dev/null && break; sleep 0.5; done
url="http://localhost:$port/#custom_scalars"
browser=(chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1600,2000
         --virtual-time-budget=30000)
"${browser[@]}" --screenshot="$shot" "$url" 2>/dev/null
echo "screenshot: $shot"
.venv/bin/python - "$port" <<'PY'
import json, sys, urllib.request
base = f"http://localhost:{sys.argv[1]}/data"
get = lambda path: json.load(urllib.request.urlopen(base + path))
layout, tags = get("/plugin/custom_scalars/layout"), get("/plugin/scalars/tags")
for category in layout["category"]:
    for chart in category["chart"]:
        tag = chart["margin"]["series"][0]["value"]
        runs = sum(tag in run_tags for run_tags in tags.values())
        print(f"{category['title']:28s} {chart['title']:12s} Matches ({runs})")
PY

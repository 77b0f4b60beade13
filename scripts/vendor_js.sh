#!/usr/bin/env bash
# Vendor the browser libraries the governance pages draw with, from the npm registry, into
# include/scrollintel/web/static/vendor/ (package data, served same-origin by the web app; nothing
# is fetched from a CDN at run time). Run it again to refresh the files after changing a version
# below; it rewrites static/vendor/README.md with versions and SHA-256 checksums.
#
#   scripts/vendor_js.sh            fetch the pinned versions and replace the vendored files
#   scripts/vendor_js.sh --check    fetch again and fail if a vendored file differs (exit 1)
#
# Needs npm (any recent version). The tarballs are checked against the registry's integrity hash
# by `npm pack`; nothing is installed and no package script runs.
set -euo pipefail
cd "$(dirname "$0")/.."

CYTOSCAPE_VERSION="3.34.4"
CYTOSCAPE_DAGRE_VERSION="4.0.1"
# cytoscape-dagre's dist bundles dagre and graphlib; their licenses ship next to it.
DAGRE_VERSION="3.0.0"
GRAPHLIB_VERSION="4.0.6"

VENDOR_DIR="include/scrollintel/web/static/vendor"
check=0
if [ "${1:-}" = "--check" ]; then check=1; elif [ $# -gt 0 ]; then echo "usage: $0 [--check]" >&2; exit 2; fi

command -v npm >/dev/null 2>&1 || { echo "npm not found: install Node.js (it ships npm) to vendor the JS libraries" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# unpack NAME VERSION: npm pack the package into $work and unpack it into $work/NAME/.
unpack() {
  local name="$1" version="$2" tarball dest
  tarball="$(cd "$work" && npm pack --silent "${name}@${version}" | tail -n 1)"
  dest="$work/${name//\//__}"
  mkdir -p "$dest"
  tar -xzf "$work/$tarball" -C "$dest" --strip-components=1
  echo "$dest"
}

cytoscape="$(unpack cytoscape "$CYTOSCAPE_VERSION")"
cytoscape_dagre="$(unpack cytoscape-dagre "$CYTOSCAPE_DAGRE_VERSION")"
dagre="$(unpack @dagrejs/dagre "$DAGRE_VERSION")"
graphlib="$(unpack @dagrejs/graphlib "$GRAPHLIB_VERSION")"

out="$work/out"
mkdir -p "$out/cytoscape" "$out/cytoscape-dagre"
cp "$cytoscape/dist/cytoscape.min.js" "$cytoscape/LICENSE" "$out/cytoscape/"
cp "$cytoscape_dagre/dist/cytoscape-dagre.min.js" "$cytoscape_dagre/LICENSE" "$out/cytoscape-dagre/"
cp "$dagre/LICENSE" "$out/cytoscape-dagre/LICENSE.dagre"
cp "$graphlib/LICENSE" "$out/cytoscape-dagre/LICENSE.graphlib"

# The pages' content security policy forbids eval: refuse a library that needs it.
if grep -l -E 'new Function\(|[^.a-zA-Z_]eval\(' "$out"/*/*.js; then
  echo "a vendored file above uses eval or new Function, which the pages' CSP forbids" >&2
  exit 1
fi

checksums() { (cd "$1" && find . -type f ! -name README.md -printf '%P\n' | LC_ALL=C sort | xargs sha256sum); }

{
  cat <<EOF
# Vendored browser libraries

Served same-origin by the governance web app (\`/scrollintel/static/vendor/...\`, behind Airflow's
authentication); the pages' content security policy allows scripts from the app only. Written by
\`scripts/vendor_js.sh\` from the npm registry: do not edit these files by hand; change a version in
the script and run it again (\`scripts/vendor_js.sh --check\` verifies the files against the registry).

| package | version | files | license |
| --- | --- | --- | --- |
| [cytoscape](https://www.npmjs.com/package/cytoscape) | ${CYTOSCAPE_VERSION} | \`cytoscape/cytoscape.min.js\` | MIT (\`cytoscape/LICENSE\`) |
| [cytoscape-dagre](https://www.npmjs.com/package/cytoscape-dagre) | ${CYTOSCAPE_DAGRE_VERSION} | \`cytoscape-dagre/cytoscape-dagre.min.js\` | MIT (\`cytoscape-dagre/LICENSE\`) |
| [@dagrejs/dagre](https://www.npmjs.com/package/@dagrejs/dagre) | ${DAGRE_VERSION} (bundled in cytoscape-dagre) | - | MIT (\`cytoscape-dagre/LICENSE.dagre\`) |
| [@dagrejs/graphlib](https://www.npmjs.com/package/@dagrejs/graphlib) | ${GRAPHLIB_VERSION} (bundled in cytoscape-dagre) | - | MIT (\`cytoscape-dagre/LICENSE.graphlib\`) |

SHA-256:

\`\`\`
EOF
  checksums "$out"
  echo '```'
} > "$out/README.md"

if [ "$check" -eq 1 ]; then
  if diff -r "$out" "$VENDOR_DIR" >/dev/null; then
    echo "vendored JS matches the registry (cytoscape ${CYTOSCAPE_VERSION}, cytoscape-dagre ${CYTOSCAPE_DAGRE_VERSION})"
    exit 0
  fi
  diff -rq "$out" "$VENDOR_DIR" >&2 || true
  echo "vendored JS differs from the registry: run scripts/vendor_js.sh" >&2
  exit 1
fi

rm -rf "$VENDOR_DIR"
mkdir -p "$(dirname "$VENDOR_DIR")"
cp -r "$out" "$VENDOR_DIR"
echo "vendored into $VENDOR_DIR:"
checksums "$VENDOR_DIR"

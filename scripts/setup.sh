# Shared by scripts/serve and scripts/test (sourced, not run): install what is
# missing, from Debian's packages and PyPI, so both work on a fresh machine.

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "scripts: '$*' needs root, and sudo is not installed: run it as root" >&2
        return 1
    fi
}

apt_updated=""
apt_install() {
    echo "scripts: installing $* with apt-get" >&2
    if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

# The trading page is built with npm (exchange/web/build.py runs `npm ci`).
ensure_node() {
    if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
        apt_install nodejs npm
    fi
}

# The project in .venv, with the given extras ("" for none).
ensure_venv() {
    [ -x .venv/bin/python ] || python3 -m venv .venv
    .venv/bin/pip install -q -e ".$1"
}

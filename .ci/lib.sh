# Shared by .ci/run (tests) and .ci/up (the whole thing on the embedded default). Source it; do not run it.
# Everything heavy is cached under ${FEEDBACK_CACHE:-~/.cache/feedback-loop} so repeated runs are fast.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${FEEDBACK_CACHE:-$HOME/.cache/feedback-loop}
VENV=$CACHE/venv
PYTHON=${PYTHON:-python3}
export PIP_DISABLE_PIP_VERSION_CHECK=1

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

apt_install() {
  # Install Debian packages that are missing (as root, or through sudo where available).
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing Debian packages: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq >&2 || true
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >&2
}

ensure_venv() {
  # The project venv, reinstalled when pyproject.toml or the checkout's location changes.
  mkdir -p "$CACHE"
  local stamp
  stamp="$VENV/.installed-$( (sha256sum "$ROOT/pyproject.toml"; echo "$ROOT") | sha256sum | cut -c1-16)"
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating the virtualenv in $VENV"
    "$PYTHON" -m venv "$VENV"
  fi
  if [ ! -f "$stamp" ]; then
    say "installing feedback-loop and its dependencies into $VENV (first run takes a few minutes)"
    "$VENV/bin/pip" install -q -e "$ROOT[test]" >&2
    rm -f "$VENV"/.installed-*
    touch "$stamp"
  fi
}

ensure_postgres() {
  # PostgreSQL on 127.0.0.1:5432 with trust auth (the machine's own; started or installed if needed).
  if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then return 0; fi
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then apt_install postgresql; fi
  say "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main start >&2 || true
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  if ! psql -h 127.0.0.1 -U postgres -d test -c 'select 1' >/dev/null 2>&1; then
    # A fresh install: trust auth on loopback and a `test` database, as on the CI machines.
    local conf
    conf=$(ls /etc/postgresql/*/main/pg_hba.conf | tail -n1)
    sed -i 's/^\(host\s\+all\s\+all\s\+127.0.0.1\/32\s\+\).*/\1trust/' "$conf"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main reload >&2 || true
    su postgres -c "psql -c \"DO \\\$\\\$ BEGIN CREATE ROLE root SUPERUSER LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END \\\$\\\$\"" >&2 || true
    su postgres -c "createdb -O root test" >&2 || true
  fi
  pg_isready -q -h 127.0.0.1 -p 5432
}

ensure_redis() {
  # Redis on 127.0.0.1:6379 (started or installed if needed).
  if redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then return 0; fi
  command -v redis-server >/dev/null || apt_install redis-server
  say "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >&2
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && return 0; sleep 0.5; done
  return 1
}

ensure_browser() {
  # Debian's Chromium for the Playwright tests (browser downloads are not possible here).
  [ -x /usr/bin/chromium ] || apt_install chromium
}

ensure_widget_deps() {
  # esbuild and axe-core for the widget build and its accessibility scan.
  command -v npm >/dev/null || apt_install nodejs npm
  if [ ! -d "$ROOT/widgets/node_modules" ] || [ "$ROOT/widgets/package-lock.json" -nt "$ROOT/widgets/node_modules" ]; then
    say "installing widget build dependencies (npm ci)"
    (cd "$ROOT/widgets" && npm ci --no-audit --no-fund --loglevel=error >&2 && touch node_modules)
  fi
}

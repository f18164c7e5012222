# Sourced by cronium-launch: this image's pre-started interpreter (see zygote.py).
ZYGOTE=(python3 -u /usr/local/lib/cronium/python/zygote.py)
# zygote_fits: whether the job (ARGV, ENVV) runs exactly as it would cold. Python reads PYTHON*, the locale
# (LANG, LC_*, LANGUAGE), TZ and OPENSSL_* when it starts or imports the SDK: a job that sets any of them
# starts a fresh interpreter instead. The one exception is the server's own PYTHONPATH for a dependency
# bundle, which zygote.py puts on sys.path where Python would have (or re-executes Python if it cannot be exact).
zygote_fits() {
  local kv
  ((${#ARGV[@]} >= 3)) && [[ ${ARGV[0]} == python3 && ${ARGV[1]} == -u && ${ARGV[2]} == "$WORK/$FILENAME" ]] || return 1
  for kv in "${ENVV[@]}"; do
    [[ $kv == PYTHONPATH=/opt/cronium/deps/python ]] && continue
    [[ $kv == @(PYTHON*|LC_*|LANG=*|LANGUAGE=*|TZ=*|OPENSSL_*) ]] && return 1
  done
  return 0
}

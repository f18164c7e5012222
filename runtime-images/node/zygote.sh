# Sourced by cronium-launch: this image's pre-started interpreter (see zygote.cjs).
ZYGOTE=(node /usr/local/lib/cronium/node/zygote.cjs)
# zygote_fits: whether the job (ARGV, ENVV) runs exactly as it would cold. Node reads NODE_* (but the
# server's own NODE_OPTIONS, the proxy preload, which the zygote loads itself), UV_*, the locale (LANG,
# LC_*, LANGUAGE), TZ, OPENSSL_* and SSL_CERT_* when it starts: a job that sets any of them starts a
# fresh node instead.
zygote_fits() {
  local kv
  ((${#ARGV[@]} >= 2)) && [[ ${ARGV[0]} == node && ${ARGV[1]} == "$WORK/$FILENAME" ]] || return 1
  for kv in "${ENVV[@]}"; do
    [[ $kv == NODE_OPTIONS=--require=/usr/local/lib/cronium/node/proxy-preload.cjs ]] && continue
    [[ $kv == @(NODE_*|UV_*|LC_*|LANG=*|LANGUAGE=*|TZ=*|OPENSSL_*|SSL_CERT_*) ]] && return 1
  done
  return 0
}

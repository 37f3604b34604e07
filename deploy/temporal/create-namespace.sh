#!/bin/sh
# One-shot job of docker-compose.yml (image temporalio/admin-tools): waits for the Temporal frontend, creates the
# namespace idcflow uses (the plain server image, unlike auto-setup, creates none) and waits until the server
# answers for it, so that the `migrate` service can register idcflow's search attributes on it right away.
# With TEMPORAL_TLS_CA, TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY (an admin's certificate: CN=idcflow-admin) it speaks
# mutual TLS, checking the frontend's certificate for TEMPORAL_TLS_SERVER_NAME.
set -eu
: "${TEMPORAL_ADDRESS:?}" "${TEMPORAL_NAMESPACE:?}"
retention=7d # how long Temporal keeps closed workflows; idcflow keeps its operations' history in PostgreSQL

# Like Temporal's own compose examples, talk to the frontend by its IPv4 address: the server listens on 0.0.0.0 only.
host=${TEMPORAL_ADDRESS%:*}
port=${TEMPORAL_ADDRESS##*:}
ip=$(getent ahostsv4 "$host" 2>/dev/null | awk 'NR == 1 { print $1 }') || ip=
address=${ip:+$ip:$port}
address=${address:-$TEMPORAL_ADDRESS}

temporal_() { # the CLI against the frontend, with the admin's certificate when one is given
  if [ -n "${TEMPORAL_TLS_CERT:-}" ]; then
    temporal "$@" --address "$address" --tls-ca-path "${TEMPORAL_TLS_CA:?}" --tls-cert-path "$TEMPORAL_TLS_CERT" \
      --tls-key-path "${TEMPORAL_TLS_KEY:?}" --tls-server-name "${TEMPORAL_TLS_SERVER_NAME:-$host}"
  else
    temporal "$@" --address "$address"
  fi
}

retry() { # retry <what> <command…>: up to 60 tries, 2 s apart
  what=$1
  shift
  tries=0
  until "$@" >/dev/null 2>&1; do
    tries=$((tries + 1))
    if [ "$tries" -ge 60 ]; then
      echo "$what: no success after $tries tries" >&2
      "$@" # once more, with its error shown
      exit 1
    fi
    sleep 2
  done
}

retry "Temporal at $address healthy" temporal_ operator cluster health
if temporal_ operator namespace describe --namespace "$TEMPORAL_NAMESPACE" >/dev/null 2>&1; then
  echo "Namespace $TEMPORAL_NAMESPACE exists"
else
  temporal_ operator namespace create --namespace "$TEMPORAL_NAMESPACE" --retention "$retention"
  echo "Created namespace $TEMPORAL_NAMESPACE (retention $retention)"
fi
retry "Namespace $TEMPORAL_NAMESPACE served" temporal_ operator search-attribute list --namespace "$TEMPORAL_NAMESPACE"

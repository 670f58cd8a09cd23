#!/bin/sh
# Writes a bridge torrc from the environment and execs tor (so that tor is PID 1's only child
# and receives the container's SIGTERM). Variables: see docs/deploy.md.
set -eu

: "${OR_PORT:=9001}" "${PT_PORT:=8443}" "${DUST_MODEL:=http}" "${NICKNAME:=DustBridge}"
: "${PUBLIC_ADDRESS:=}" "${CONTACT_INFO:=}" "${PUBLISH_DESCRIPTOR:=1}" "${DUST_LOG_LEVEL:=}"

case "$OR_PORT$PT_PORT" in *[!0-9]*) echo "OR_PORT and PT_PORT must be numbers" >&2; exit 2 ;; esac

DATA=/var/lib/tor
TORRC="$DATA/torrc"

options="model=$DUST_MODEL"
if [ -n "$PUBLIC_ADDRESS" ]; then
  # The address clients dial: it goes into the bridge line and is bound into the Dust handshake.
  case "$PUBLIC_ADDRESS" in
    *:*:*) options="$options public-address=[$PUBLIC_ADDRESS]:$PT_PORT" ;;  # IPv6
    *) options="$options public-address=$PUBLIC_ADDRESS:$PT_PORT" ;;
  esac
fi

pt="/usr/local/bin/dust"
if [ -n "$DUST_LOG_LEVEL" ]; then pt="$pt -enableLogging -logLevel $DUST_LOG_LEVEL"; fi

{
  echo "DataDirectory $DATA"
  echo "BridgeRelay 1"
  echo "ORPort $OR_PORT"
  echo "ExtORPort auto"
  echo "ServerTransportPlugin dust exec $pt"
  echo "ServerTransportListenAddr dust 0.0.0.0:$PT_PORT"
  echo "ServerTransportOptions dust $options"
  echo "Nickname $NICKNAME"
  if [ -n "$CONTACT_INFO" ]; then echo "ContactInfo $CONTACT_INFO"; fi
  if [ -n "$PUBLIC_ADDRESS" ]; then echo "Address $PUBLIC_ADDRESS"; fi
  echo "PublishServerDescriptor $PUBLISH_DESCRIPTOR"
  echo "SocksPort 0"
  echo "Log notice stdout"
} > "$TORRC"

echo "dust-bridge: torrc written to $TORRC; the bridge line will be in $DATA/pt_state/dust_bridgeline.txt" >&2
exec tor -f "$TORRC" "$@"

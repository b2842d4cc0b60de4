#!/bin/bash
# Runs the softphone against real peers (baresip, kamailio) inside a private network
# namespace, as /work/shared/peers/sip/README.md shows. Run it as:
#     unshare -n bash live-peers.sh OUT SOFTPHONE SHARED [PJ_PYTHON]
# OUT gets one folder per scenario with JSON event logs and WAV recordings; the Swift
# tests (LivePeerTests) check them. Needs: baresip-core, kamailio, python3; PJ_PYTHON is
# a python with pjsua2 (pip pjsua2-python) for the iLBC calls, skipped when empty.
set -u
OUT=$1 SOFTPHONE=$2 SHARED=$3 PJPY=${4:-}
PEERS="$SHARED/peers/sip"
PIDS=()
# kamailio ignores SIGTERM here: escalate, and take its worker children with it
stop_pid() { local p=$1 c; for c in $(ps -o pid= --ppid "$p" 2>/dev/null); do kill -9 "$c" 2>/dev/null; done; kill -9 "$p" 2>/dev/null; }
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; sleep 0.5; for p in "${PIDS[@]}"; do stop_pid "$p"; done; wait 2>/dev/null; }
trap cleanup EXIT
ip link set lo up
export SWIFT_BACKTRACE=enable=no
SIG48="$OUT/signal-48k.wav"       # written by the test before this script runs
mkdir -p "$OUT"

# --- 1. softphone calls baresip: Opus over UDP/IPv4
D="$OUT/to-baresip-opus"; mkdir -p "$D"
"$PEERS/baresip/baresip-peer.sh" "$D/bob" 127.0.0.1:5080 127.0.0.1 \
  '<sip:bob@127.0.0.1:5080>;regint=0;answermode=auto;audio_codecs=opus/48000/2,pcmu,pcma' "$SIG48" 20 > "$D/baresip.log" 2>&1 & PIDS+=($!)
sleep 1.5
timeout 30 "$SOFTPHONE" call sip:bob@127.0.0.1:5080 --listen 127.0.0.1:5200 --codec opus --rtp-ports 31000-31100 \
  --play "$SIG48" --record "$D/heard.wav" --duration 5 --json > "$D/events.jsonl" 2> "$D/stderr.log"
echo $? > "$D/exit"
sleep 1; kill "${PIDS[-1]}" 2>/dev/null; wait "${PIDS[-1]}" 2>/dev/null
cp "$D"/bob/rec/*-dec.wav "$D/peer-heard.wav" 2>/dev/null

# --- 2. softphone calls baresip: PCMU over TCP/IPv6, then puts it on hold (re-INVITE, sendonly)
D="$OUT/to-baresip-pcmu-v6-tcp"; mkdir -p "$D"
"$PEERS/baresip/baresip-peer.sh" "$D/bob" '[::1]:5082' ::1 \
  '<sip:bob@[::1]:5082>;regint=0;answermode=auto;audio_codecs=pcmu' "$SIG48" 20 > "$D/baresip.log" 2>&1 & PIDS+=($!)
sleep 1.5
timeout 30 "$SOFTPHONE" call 'sip:bob@[::1]:5082;transport=tcp' --listen '[::1]:5202' --codec pcmu --rtp-ports 31100-31200 \
  --play "$SIG48" --record "$D/heard.wav" --duration 6.5 --hold-after 4.7 --json > "$D/events.jsonl" 2> "$D/stderr.log"
echo $? > "$D/exit"
sleep 1; kill "${PIDS[-1]}" 2>/dev/null; wait "${PIDS[-1]}" 2>/dev/null
cp "$D"/bob/rec/*-dec.wav "$D/peer-heard.wav" 2>/dev/null

# --- 3. baresip calls the softphone (answer --auto), PCMU over UDP/IPv4
D="$OUT/from-baresip-pcmu"; mkdir -p "$D"
timeout 30 "$SOFTPHONE" answer --auto --listen 127.0.0.1:5204 --rtp-ports 31200-31300 --codec pcmu,opus \
  --play "$SIG48" --record "$D/heard.wav" --calls 1 --run-for 25 --json > "$D/events.jsonl" 2> "$D/stderr.log" & SP=$!; PIDS+=($SP)
sleep 1.5
"$PEERS/baresip/baresip-peer.sh" "$D/alice" 127.0.0.1:5084 127.0.0.1 \
  '<sip:alice@127.0.0.1:5084>;regint=0;audio_codecs=pcmu' "$SIG48" 9 -e '/dial sip:bob@127.0.0.1:5204' > "$D/baresip.log" 2>&1
wait $SP; echo $? > "$D/exit"
cp "$D"/alice/rec/*-dec.wav "$D/peer-heard.wav" 2>/dev/null

# --- 4. kamailio with digest: two softphones register, call through it, and send MESSAGE
D="$OUT/kamailio"; mkdir -p "$D/kamrun"
cp -r "$PEERS/kamailio/db" "$D/db"
kamailio -f "$PEERS/kamailio/kamailio.cfg" -A "DBURL=\"text://$D/db\"" -DD -E -Y "$D/kamrun" > "$D/kamailio.log" 2>&1 & KAM=$!; PIDS+=($KAM)
sleep 2
timeout 40 "$SOFTPHONE" answer --auto --user bob --password bob-secret --registrar sip:127.0.0.1:5160 --expires 60 \
  --listen 127.0.0.1:5210 --rtp-ports 31300-31400 --codec pcmu --play "$SIG48" --record "$D/bob-heard.wav" \
  --calls 1 --run-for 30 --json > "$D/bob.jsonl" 2> "$D/bob.stderr" & BOB=$!; PIDS+=($BOB)
sleep 2
# alice's account once as flat TOML, once as JSON (flags still override the file)
cat > "$D/alice.toml" <<TOML
# alice at the test registrar
user = "alice"
password = "alice-secret"
registrar = "sip:127.0.0.1:5160"
listen = "127.0.0.1:5212"
codecs = ["pcmu"]
TOML
printf '{"user": "alice", "password": "alice-secret", "registrar": "sip:127.0.0.1:5160", "listen": "127.0.0.1:5299", "codecs": ["pcmu"], "rtp_ports": "31400-31500"}\n' > "$D/alice.json"
timeout 30 "$SOFTPHONE" message sip:bob@127.0.0.1:5160 "hello bob via kamailio" --account "$D/alice.toml" \
  --json > "$D/message.jsonl" 2> "$D/message.stderr"
echo $? > "$D/message.exit"
timeout 30 "$SOFTPHONE" call sip:bob@127.0.0.1:5160 --account "$D/alice.json" --listen 127.0.0.1:5214 \
  --play "$SIG48" --record "$D/alice-heard.wav" --duration 5 --json > "$D/alice.jsonl" 2> "$D/alice.stderr"
echo $? > "$D/call.exit"
wait $BOB; echo $? > "$D/bob.exit"
# registration over TCP/IPv6 (digest), a wrong password (exit 5), OPTIONS to the proxy
timeout 20 "$SOFTPHONE" register --user carol --password carol-secret --registrar 'sip:[::1]:5160;transport=tcp' \
  --listen '[::1]:5216' --transport tcp --json > "$D/carol-tcp6.jsonl" 2> "$D/carol-tcp6.stderr"
echo $? > "$D/carol-tcp6.exit"
timeout 20 "$SOFTPHONE" register --user dave --password not-his --registrar sip:127.0.0.1:5160 \
  --listen 127.0.0.1:5218 --json > "$D/dave-wrong.jsonl" 2> "$D/dave-wrong.stderr"
echo $? > "$D/dave-wrong.exit"
timeout 20 "$SOFTPHONE" options sip:127.0.0.1:5160 --listen 127.0.0.1:5219 --json > "$D/options.jsonl" 2> "$D/options.stderr"
echo $? > "$D/options.exit"
# a call to nobody: kamailio answers 404 after the proxy challenge (exit code 2)
timeout 20 "$SOFTPHONE" call sip:nobody@127.0.0.1:5160 --account "$D/alice.toml" --listen 127.0.0.1:5217 \
  --json > "$D/nobody.jsonl" 2> "$D/nobody.stderr"
echo $? > "$D/nobody.exit"
stop_pid "$KAM"

# --- 5. what a UAS must answer, on UDP and TCP at one port
D="$OUT/uas"; mkdir -p "$D"
timeout 20 "$SOFTPHONE" answer --auto --listen '[::1]:5220' --run-for 8 --json > "$D/events.jsonl" 2> "$D/stderr.log" & PIDS+=($!)
sleep 1.5
python3 - "$D/probes.txt" <<'PY'
import socket, sys
def req(method, branch, extra=""):
    return (f"{method} sip:bob@[::1]:5220 SIP/2.0\r\nVia: SIP/2.0/{{T}} [::1]:5299;branch=z9hG4bK{branch}\r\n"
            f"From: <sip:probe@[::1]>;tag=p1\r\nTo: <sip:bob@[::1]>\r\nCall-ID: {branch}@probe\r\n"
            f"CSeq: 1 {method}\r\nMax-Forwards: 70\r\n{extra}Content-Length: 0\r\n\r\n")
probes = [("OPTIONS", req("OPTIONS", "o1")), ("SUBSCRIBE", req("SUBSCRIBE", "s1", "Event: presence\r\n")),
          ("FOO", req("FOO", "f1")), ("GARBAGE", "INVITE  sip:bob@[::1] SIP/2.0\r\nVia: SIP/2.0/{T} [::1]:5299;branch=z9hG4bKg1\r\n"
          "From: <sip:probe@[::1]>;tag=p1\r\nTo: <sip:bob@[::1]>\r\nCall-ID: g1@probe\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"),
          ("REQUIRE", req("OPTIONS", "r1", "Require: 100rel-nonsense\r\n"))]
out = open(sys.argv[1], "w")
for transport in ("UDP", "TCP"):
    for name, text in probes:
        data = text.replace("{T}", transport).replace("branch=z9hG4bK", "branch=z9hG4bK" + transport).encode()
        try:
            if transport == "UDP":
                s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.settimeout(3)
                s.sendto(data, ("::1", 5220)); reply = s.recv(65535)
            else:
                s = socket.create_connection(("::1", 5220), timeout=3); s.sendall(data); reply = s.recv(65535)
            first = reply.split(b"\r\n")[0].decode()
            out.write(f"{transport} {name} {first}\n")
        except Exception as e:
            out.write(f"{transport} {name} ERROR {e}\n")
        s.close()
PY

# --- 6. iLBC with PJSIP (pjsua2), both directions, both modes (RFC 3952: 30 unless both say 20)
SIG8="$OUT/signal-8k.wav"
if [ -n "$PJPY" ]; then
  PJ="$PEERS/pjsua2/pj_peer.py"
  # softphone calls pjsua2; NAME SOFTPHONE-MODE PJ-MODE SIP-PORT PJ-PORT RTP-RANGE
  to_pj() {
    local D="$OUT/ilbc-to-pj-$1"; mkdir -p "$D"
    "$PJPY" "$PJ" --ip 127.0.0.1 --port "$5" --user bob --codecs iLBC/8000 --ilbc-mode "$3" \
      --play "$OUT/signal-8k-lead.wav" --record "$D/peer-heard.wav" --duration 14 > "$D/pj.log" 2>&1 & local P=$!; PIDS+=($P)
    sleep 1.5
    timeout 30 "$SOFTPHONE" call "sip:bob@127.0.0.1:$5" --listen "127.0.0.1:$4" --codec ilbc --ilbc-mode "$2" \
      --rtp-ports "$6" --play "$SIG48" --record "$D/heard.wav" --duration 8 --json > "$D/events.jsonl" 2> "$D/stderr.log"
    echo $? > "$D/exit"
    sleep 0.5; kill $P 2>/dev/null; wait $P 2>/dev/null
  }
  # pjsua2 calls `softphone answer`; same arguments
  from_pj() {
    local D="$OUT/ilbc-from-pj-$1"; mkdir -p "$D"
    timeout 30 "$SOFTPHONE" answer --auto --listen "127.0.0.1:$4" --codec ilbc,pcmu --ilbc-mode "$2" --rtp-ports "$6" \
      --play "$SIG48" --record "$D/heard.wav" --calls 1 --run-for 20 --json > "$D/events.jsonl" 2> "$D/stderr.log" & local SP=$!; PIDS+=($SP)
    sleep 1.5
    "$PJPY" "$PJ" --ip 127.0.0.1 --port "$5" --user alice --codecs iLBC/8000 --ilbc-mode "$3" \
      --play "$SIG8" --record "$D/peer-heard.wav" --call "sip:bob@127.0.0.1:$4" --duration 7 > "$D/pj.log" 2>&1
    wait $SP; echo $? > "$D/exit"
  }
  to_pj 30 30 30 5230 5300 31600-31700
  to_pj 20 20 20 5232 5302 31700-31800
  to_pj 20-vs-30 20 30 5234 5300 31800-31900
  from_pj 30 30 20 5236 5302 31900-32000
  from_pj 20 20 20 5238 5300 32000-32100
else
  echo "no pjsua2 python given" > "$OUT/pj-skipped"
fi

# --- 7. two softphones, iLBC, 10 % of the voice packets dropped in each direction
D="$OUT/ilbc-loss"; mkdir -p "$D"
timeout 30 "$SOFTPHONE" answer --auto --listen 127.0.0.1:5240 --codec ilbc --ilbc-mode 20 --rtp-loss 10 \
  --rtp-ports 32100-32200 --play "$SIG48" --record "$D/bob-heard.wav" --calls 1 --run-for 20 --json > "$D/bob.jsonl" 2> "$D/bob.stderr" & SP=$!; PIDS+=($SP)
sleep 1.5
timeout 30 "$SOFTPHONE" call sip:bob@127.0.0.1:5240 --listen 127.0.0.1:5242 --codec ilbc --ilbc-mode 20 --rtp-loss 10 \
  --rtp-ports 32200-32300 --play "$SIG48" --record "$D/alice-heard.wav" --duration 5 --json > "$D/alice.jsonl" 2> "$D/alice.stderr"
echo $? > "$D/call.exit"
wait $SP; echo $? > "$D/bob.exit"

echo done > "$OUT/finished"

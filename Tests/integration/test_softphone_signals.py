"""`softphone call` and `softphone answer` stopped by a signal (Ctrl-C, SIGTERM from a supervisor)
end their calls as a user would expect: the caller hangs up with a BYE (the callee sees a remote
hang-up), both recordings are complete WAV files, and the processes exit on their own."""
import json
import os
import signal
import socket
import subprocess
import time
import wave

from conftest import ROOT


def softphone():
    out = subprocess.run(['swift', 'build', '--show-bin-path'], cwd=ROOT, capture_output=True, text=True, check=True)
    return os.path.join(out.stdout.strip(), 'softphone')


def free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def events(text):
    return [json.loads(l) for l in text.splitlines() if l.startswith('{')]


def frames(path):
    with wave.open(path) as w:
        return w.getnframes()


def wait_for_line(proc, word, timeout=30):
    end = time.time() + timeout
    seen = []
    while time.time() < end:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if word in line:
            return seen
    raise AssertionError(f'no {word!r} in {seen}')


def test_sigterm_hangs_up_and_closes_the_recordings(tmp_path):
    sp = softphone()
    port = free_udp_port()
    callee_wav, caller_wav = str(tmp_path / 'callee.wav'), str(tmp_path / 'caller.wav')
    answer = subprocess.Popen([sp, 'answer', '--auto', '--listen', f'127.0.0.1:{port}', '--record', callee_wav,
                               '--tone', '330', '--json'], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_line(answer, '"listening"')
        call = subprocess.Popen([sp, 'call', f'sip:bob@127.0.0.1:{port}', '--duration', '120', '--tone', '440',
                                 '--record', caller_wav, '--codec', 'ilbc', '--json'],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        seen = wait_for_line(call, '"answered"')
        time.sleep(2)
        call.send_signal(signal.SIGTERM)
        rest, _ = call.communicate(timeout=40)
        caller = events(''.join(seen) + rest)
        assert call.returncode == 0, caller
        ended = [e for e in caller if e['event'] == 'ended']
        assert ended and ended[0]['reason'] == 'local-hangup', caller
        assert frames(caller_wav) >= 8000, 'the caller recorded under a second of a two-second call'
        # The callee got the BYE: its call ended as a remote hang-up, its recording is complete.
        callee = events(''.join(wait_for_line(answer, '"ended"')))
        end = [e for e in callee if e['event'] == 'ended'][0]
        assert end['reason'] == 'remote-hangup', callee
        assert frames(callee_wav) >= 8000
        # And the answerer stops on SIGTERM too, at once and cleanly.
        answer.send_signal(signal.SIGTERM)
        answer.communicate(timeout=20)
        assert answer.returncode == 0
    finally:
        for p in (answer,):
            if p.poll() is None:
                p.kill()

"""Ctrl-C (SIGINT) during a long docquant call: KeyboardInterrupt within a batch or two,
nothing partial written. Each case runs in a child Python so the signal reaches only it."""
import signal
import subprocess
import sys
import textwrap
import time

import pytest

# A child started from a shell without job control (`cmd &` in a script, nohup) inherits SIGINT
# ignored, and Python then installs no KeyboardInterrupt handler: the test would measure its
# launcher, not docquant. Each child restores Python's default handler first.
RESTORE_SIGINT = "import signal; signal.signal(signal.SIGINT, signal.default_int_handler)\n"

PREDICT = RESTORE_SIGINT + """
import sys, docquant
clf = docquant.Classifier(sys.argv[1], threads=1)
texts = ["a long and winding review of a film that goes on and on " * 8] * 20000
print("ready", flush=True)
try:
    clf.predict(texts)
except KeyboardInterrupt:
    print("KeyboardInterrupt", flush=True)
    sys.exit(42)
print("finished", flush=True)
"""

QUANTIZE = RESTORE_SIGINT + """
import sys, docquant
def progress(line):
    if line.startswith("fp32 baseline") or line.startswith("calibration data"):
        print("ready", flush=True)
try:
    # Long on purpose: the baseline evaluated (not cached), then per-tensor trials that cannot
    # meet a zero loss (int8 stays below fp32 on sst2_dev) until every node is fp32.
    docquant.quantize(sys.argv[1] + "/onnx", sys.argv[1] + "/setfit", sys.argv[2], sys.argv[3], progress=progress,
                      cache=False, activations="per_tensor", absolute=0.0)
except KeyboardInterrupt as e:
    print("KeyboardInterrupt", *getattr(e, "__notes__", []), flush=True)
    sys.exit(42)
print("finished", flush=True)
"""


def interrupt(script, *args, after=1.0):
    """Runs `script` in a child Python, sends SIGINT `after` seconds after it prints "ready";
    returns (exit code, stdout, seconds from the signal to the child's exit)."""
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(script), *map(str, args)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "ready", child.stderr.read()
    time.sleep(after)
    child.send_signal(signal.SIGINT)
    sent = time.monotonic()
    out, err = child.communicate(timeout=60)
    return child.returncode, out + err, time.monotonic() - sent


def test_ctrl_c_stops_predict(int8_folder):
    code, output, seconds = interrupt(PREDICT, int8_folder)
    assert code == 42, output
    assert "KeyboardInterrupt" in output
    print(f"predict stopped {seconds:.2f}s after SIGINT")
    assert seconds < 5


def test_ctrl_c_stops_quantize_and_writes_nothing(sst2_fixture, data, tmp_path):
    out = tmp_path / "q"
    code, output, seconds = interrupt(QUANTIZE, sst2_fixture, data / "sst2_dev.csv", out, after=2.0)
    assert code == 42, output
    assert "no output folder was written" in output
    print(f"quantize stopped {seconds:.2f}s after SIGINT")
    assert seconds < 10
    assert list(tmp_path.iterdir()) == [], "a staged or partial output folder was left"

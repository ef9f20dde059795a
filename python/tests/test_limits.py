"""Issue 29: limits the C++ core enforces for every caller, and two runs of one process on one
output folder. Each case crashed, hung or was silently accepted before."""
import math
import threading

import pytest

import docquant


@pytest.mark.parametrize("threads", [10**6, 50000, -1])
def test_classifier_threads_out_of_range(int8_folder, threads):
    # 10**6 threads made ONNX Runtime's session creation crash the interpreter (SIGSEGV).
    with pytest.raises(docquant.UsageError, match=r"threads must be 0 \(one per core\) to \d+"):
        docquant.Classifier(int8_folder, threads=threads)


@pytest.mark.parametrize("option, value, message", [
    ("threads", -1, r"--threads must be 0 \(one per core\) to \d+ .*not -1"),
    ("batch_size", 0, "--batch_size must be 1 to 4096, not 0"),
    ("timeout", -5, "--timeout must be 0 .*not -5"),
    ("timeout", math.nan, "--timeout must be 0 .*not nan"),
])
def test_quantize_options_out_of_range(sst2_fixture, data, tmp_path, option, value, message):
    with pytest.raises(docquant.UsageError, match=message):
        docquant.quantize(sst2_fixture / "onnx", sst2_fixture / "setfit", data / "sst2_dev.csv", tmp_path / "q",
                          progress=False, **{option: value})
    assert list(tmp_path.iterdir()) == []


def test_two_threads_one_output(sst2_fixture, data, tmp_path):
    """Both runs used OUT.docquant-tmp-<pid> and failed with rename/create messages; now the
    first to start owns the output and the other fails at once, naming the reason."""
    out = tmp_path / "same"
    results = {}

    def run(name):
        try:
            results[name] = docquant.quantize(sst2_fixture / "onnx", sst2_fixture / "setfit", data / "sst2_dev.csv",
                                              out, progress=False, optimize_graph=False, max_trials=1, cache=False)
        except docquant.Error as e:
            results[name] = e

    threads = [threading.Thread(target=run, args=(name,)) for name in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    won = [r for r in results.values() if isinstance(r, dict)]
    lost = [r for r in results.values() if isinstance(r, docquant.Error)]
    assert len(won) == 1 and len(lost) == 1, results
    assert isinstance(lost[0], docquant.OutputError)
    assert "another run is writing this output folder (in this process)" in str(lost[0])
    assert (out / "model.onnx").is_file() and (out / "quantization.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["same"]  # no temporary folder left

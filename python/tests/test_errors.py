"""docquant's errors as Python exceptions: one class per kind, the CLI's message, the
built-in base a Python caller expects."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import docquant


def cli_message(cli, *args):
    """The CLI's one-line error without its 'docquant: <kind>: ' prefix, and its exit code."""
    p = subprocess.run([cli, *args], capture_output=True, text=True)
    line = p.stderr.strip().splitlines()[-1]
    assert line.startswith("docquant: ")
    return line.split(": ", 2)[2], p.returncode


def test_hierarchy():
    for cls, base, code in [(docquant.UsageError, ValueError, 2), (docquant.InputError, ValueError, 3),
                            (docquant.OutputError, OSError, 4), (docquant.CriterionNotMetError, Exception, 5),
                            (docquant.Interrupted, Exception, 130), (docquant.InternalError, RuntimeError, 70)]:
        assert issubclass(cls, docquant.Error) and issubclass(cls, base)
        assert cls.exit_code == code


def test_missing_model_folder_has_the_cli_message(cli, tmp_path):
    (tmp_path / "t.txt").write_text("hello\n")
    message, code = cli_message(cli, "classify", "--model_folder", str(tmp_path / "nope"), "--input",
                                str(tmp_path / "t.txt"), "--output", "-")
    with pytest.raises(docquant.InputError) as e:
        docquant.Classifier(tmp_path / "nope")
    assert str(e.value) == message
    assert code == e.value.exit_code == 3


def test_folder_without_head(sst2_fixture, tmp_path):
    folder = tmp_path / "nohead"
    shutil.copytree(sst2_fixture / "setfit", folder)
    (folder / "model_head.pkl").unlink()
    with pytest.raises(docquant.InputError, match="model_head.pkl: missing"):
        docquant.Classifier(folder, onnx_model=sst2_fixture / "onnx" / "model.onnx")


def test_bad_options_are_usage_errors(int8_folder):
    with pytest.raises(docquant.UsageError):
        docquant.Classifier(int8_folder, batch_size=0)
    with pytest.raises(docquant.UsageError):
        docquant.Classifier(int8_folder, threads=-1)


def test_quantize_input_usage_and_output_errors(cli, sst2_fixture, data, tmp_path):
    onnx, setfit = sst2_fixture / "onnx", sst2_fixture / "setfit"
    single = tmp_path / "single.csv"
    single.write_text("text,label\na fine film,1\nanother,1\n")
    args = ["quantize", "--onnx_model_folder", str(onnx), "--setfit_model_folder", str(setfit), "--output_folder",
            str(tmp_path / "q"), "--calibration_data"]
    message, code = cli_message(cli, *args, str(single))
    with pytest.raises(docquant.InputError) as e:
        docquant.quantize(onnx, setfit, single, tmp_path / "q", progress=False)
    assert (str(e.value), e.value.exit_code) == (message, code)

    yaml = tmp_path / "conf.yaml"
    yaml.write_text("tuning:\n  exit_policy:\n    max_trails: 3\n")
    with pytest.raises(docquant.InputError, match="tuning.exit_policy.max_trails"):
        docquant.quantize(onnx, setfit, data / "sst2_dev.csv", tmp_path / "q", config=yaml, progress=False)
    with pytest.raises(docquant.UsageError, match="unknown strategy 'bogus'"):
        docquant.quantize(onnx, setfit, data / "sst2_dev.csv", tmp_path / "q", strategy="bogus", progress=False)
    with pytest.raises(docquant.UsageError):
        docquant.quantize(onnx, setfit, data / "sst2_dev.csv", tmp_path / "q", relative=0.01, absolute=0.01)

    not_empty = tmp_path / "taken"
    not_empty.mkdir()
    (not_empty / "keep.txt").write_text("mine")
    with pytest.raises(docquant.OutputError) as e:
        docquant.quantize(onnx, setfit, data / "sst2_dev.csv", not_empty, progress=False)
    assert isinstance(e.value, OSError)
    assert (not_empty / "keep.txt").read_text() == "mine"
    assert not (tmp_path / "q").exists()


UNDECODABLE = b"/tmp/docquant-\xff-missing"


@pytest.mark.parametrize("form", ["str", "bytes", "pathlike"])
def test_a_path_that_is_not_utf8_is_named_in_an_input_error(form):
    """Issue 29 #6: a str with surrogate escapes (os.fsdecode of bytes that are not UTF-8), bytes
    and PathLike all reach the core as the OS's bytes; the message shows the byte as \\xff."""
    path = {"str": os.fsdecode(UNDECODABLE), "bytes": UNDECODABLE, "pathlike": Path(os.fsdecode(UNDECODABLE))}[form]
    with pytest.raises(docquant.InputError, match=r"/tmp/docquant-\\xff-missing: not a folder"):
        docquant.Classifier(path)
    with pytest.raises(docquant.InputError, match=r"docquant-\\xff-missing"):
        docquant.tokenize(path, ["a text"])


def test_every_path_argument_takes_the_os_bytes(sst2_fixture, data, tmp_path):
    """quantize's four paths and the config, tokenize's folder, Classifier's onnx_model: a name
    that is not UTF-8 works (a real folder under such a name) or is named escaped."""
    odd = tmp_path / os.fsdecode(b"setfit-\xe9")  # Latin-1 'é': not UTF-8
    shutil.copytree(sst2_fixture / "setfit", odd, ignore=shutil.ignore_patterns("pytorch_model.bin"))
    ids, _ = docquant.tokenize(os.fsencode(odd), ["a great movie"])
    assert ids.shape[0] == 1
    clf = docquant.Classifier(odd, onnx_model=os.fsencode(sst2_fixture / "onnx" / "model.onnx"))
    assert clf.predict("a great movie") in clf.classes
    assert r"setfit-\udce9" in repr(clf)  # the str that opens it again
    bad = os.fsdecode(b"/nonexistent/\xff")
    onnx, setfit = sst2_fixture / "onnx", sst2_fixture / "setfit"
    for args, kwargs in [((bad, setfit, None, tmp_path / "q"), {}), ((onnx, bad, None, tmp_path / "q"), {}),
                         ((onnx, setfit, bad, tmp_path / "q"), {}), ((onnx, setfit, None, tmp_path / "q"), {"config": bad})]:
        with pytest.raises(docquant.InputError, match=r"/nonexistent/\\xff"):
            docquant.quantize(*args, progress=False, **kwargs)
    with pytest.raises(docquant.InputError, match=r"/nonexistent/\\xff"):
        docquant.Classifier(odd, onnx_model=bad)
    assert not (tmp_path / "q").exists()


def test_paths_that_no_file_can_have(tmp_path):
    with pytest.raises(docquant.InputError, match=r"x\\x00y: not a file name \(model_folder\): it holds a NUL byte"):
        docquant.Classifier(str(tmp_path) + "/x\0y")
    with pytest.raises(docquant.InputError, match=r"not a file name \(model_folder\)"):
        docquant.Classifier("/tmp/\ud800")  # a surrogate no byte escapes
    with pytest.raises(docquant.UsageError, match="model_folder must be a path .* not int"):
        docquant.Classifier(42)


def test_classes_reloaded_are_the_ones_raised():
    """Issue 29 #14: after reloading docquant._errors and docquant, errors from the core and from
    the Python layer are instances of the new classes (in a child, not to disturb this process)."""
    code = ("import importlib, docquant, docquant._errors\n"
            "old = docquant.InputError\n"
            "importlib.reload(docquant._errors); importlib.reload(docquant)\n"
            "assert docquant.InputError is not old\n"
            "try:\n    docquant.Classifier('/nonexistent-folder')\n"
            "except docquant.InputError as e:\n    print('core', type(e) is docquant.InputError)\n"
            "try:\n    docquant.Classifier('/nonexistent-folder', batch_size='bogus')\n"
            "except docquant.UsageError as e:\n    print('python', type(e) is docquant.UsageError)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.split("\n")[:2] == ["core True", "python True"], out.stderr

"""docquant's errors as Python exceptions: one class per kind, the CLI's message, the
built-in base a Python caller expects."""
import shutil
import subprocess

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

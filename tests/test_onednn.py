"""zoo turns TensorFlow's oneDNN CPU kernels on before TensorFlow starts, unless the user chose for themselves."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import os, sys
{entry}
started_before = "tensorflow" in sys.modules
value = os.environ.get("TF_ENABLE_ONEDNN_OPTS")
from zoo.device import onednn_enabled
print(started_before, value, onednn_enabled())
"""

ENTRIES = {
    "cli": "import cli",
    "library": "import zoo; zoo.list_models()",
    "python -m style": "from zoo import training",
}


def probe(entry: str, env_value: str | None) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    env["PYTHONPATH"] = str(ROOT)
    if env_value is not None:
        env["TF_ENABLE_ONEDNN_OPTS"] = env_value
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.format(entry=entry)], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout.split()


# The last field is what TensorFlow itself runs with (its kernels read the variable once, when it starts), so it
# shows that zoo set the variable before TensorFlow started, on each path.
@pytest.mark.parametrize("entry", ENTRIES.values(), ids=ENTRIES.keys())
def test_zoo_turns_onednn_on_before_tensorflow_starts(entry):
    assert probe(entry, None)[1:] == ["1", "True"]


@pytest.mark.parametrize("entry", ENTRIES.values(), ids=ENTRIES.keys())
def test_a_value_the_user_set_is_respected(entry):
    assert probe(entry, "0")[1:] == ["0", "False"]  # TensorFlow read the user's 0: its kernels are off


def test_the_cli_does_not_start_tensorflow_on_import():
    assert probe("import cli", None)[0] == "False"


def test_tensorflow_started_first_is_not_touched():
    out = probe("import tensorflow\nimport zoo\nprint(zoo.ONEDNN_SET_BY_ZOO)", None)
    assert out[0] == "False"  # zoo did not claim it set anything after TensorFlow had started

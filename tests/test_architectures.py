import ast
import pathlib

import pytest

from bench import config
from tests import helpers

SHAPE_PROBE = """
import json
import keras
import numpy as np
from bench.architectures import build_autoencoder
keras.utils.set_random_seed(0)
images = np.random.default_rng(0).uniform(0, 1, (4, 28, 28)).astype("float32")
found = {"backend": keras.backend.backend()}
for name in ("stacked", "conv", "recurrent"):
    model = build_autoencoder(name, codings_size=12)
    codings = keras.ops.convert_to_numpy(model.encoder(images))
    output = keras.ops.convert_to_numpy(model.autoencoder(images))
    found[name] = {
        "codings_shape": list(codings.shape),
        "output_shape": list(output.shape),
        "min": float(output.min()),
        "max": float(output.max()),
        "parameters": model.parameter_counts(),
        "macs": model.macs_per_image(),
    }
print(json.dumps(found))
"""


@pytest.fixture(scope="module")
def probes():
    """Build every architecture once per installed backend, in its own process."""
    return {backend: helpers.run_python(SHAPE_PROBE, backend) for backend in helpers.INSTALLED_BACKENDS}


@pytest.mark.parametrize("backend", helpers.backend_params())
@pytest.mark.parametrize("architecture", config.ARCHITECTURES)
def test_output_shape_per_backend(probes, backend, architecture):
    probe = probes[backend]
    assert probe["backend"] == backend
    assert probe[architecture]["output_shape"] == [4, 28, 28]
    assert probe[architecture]["codings_shape"] == [4, 12]


@pytest.mark.parametrize("backend", helpers.backend_params())
@pytest.mark.parametrize("architecture", config.ARCHITECTURES)
def test_output_in_unit_range(probes, backend, architecture):
    assert probes[backend][architecture]["min"] >= 0.0
    assert probes[backend][architecture]["max"] <= 1.0


@pytest.mark.parametrize("architecture", config.ARCHITECTURES)
def test_parameter_count_same_on_backends(probes, architecture):
    if len(probes) < 2:
        pytest.skip("needs two installed backends")
    counts = {backend: probe[architecture]["parameters"]["total"] for backend, probe in probes.items()}
    assert len(set(counts.values())) == 1, counts


@pytest.mark.parametrize("architecture", config.ARCHITECTURES)
def test_parameters_split_encoder_decoder(probes, architecture):
    for probe in probes.values():
        parameters = probe[architecture]["parameters"]
        assert parameters["encoder"] + parameters["decoder"] == parameters["total"]


def test_model_code_imports_no_backend():
    source = pathlib.Path(__file__).parents[1] / "bench" / "architectures.py"
    imported = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module.split(".")[0])
    assert imported <= {"dataclasses", "collections", "keras", "bench"}, imported


def test_unknown_architecture_lists_choices():
    probe = """
import json
from bench.architectures import build_autoencoder
try:
    build_autoencoder("transformer")
except ValueError as error:
    print(json.dumps({"message": str(error)}))
"""
    found = helpers.run_python(probe, helpers.INSTALLED_BACKENDS[0])
    assert "'transformer'" in found["message"]
    assert "stacked, conv, recurrent" in found["message"]


# Worked out by hand from the layer shapes, with codings size 12 as in the probe:
# stacked: 784*100 + 100*12 mirrored; conv: 28*28*9*1*16 + 14*14*9*16*32 +
# 7*7*9*32*64 + 3*3*9*64*12, then 12*144 + 3*3*9*16*32 + 7*7*9*32*16 +
# 14*14*9*16*1; recurrent: 28*4*100*(28+100) + 28*4*12*(100+12), then
# 28*4*100*(12+100) + 28*100*28.
EXPECTED_MACS = {
    "stacked": {"encoder": 79_600, "decoder": 79_600},
    "conv": {"encoder": 1_981_440, "decoder": 297_216},
    "recurrent": {"encoder": 1_584_128, "decoder": 1_332_800},
}


@pytest.mark.parametrize("backend", helpers.backend_params())
@pytest.mark.parametrize("architecture", config.ARCHITECTURES)
def test_macs_per_image_by_hand(probes, backend, architecture):
    macs = probes[backend][architecture]["macs"]
    expected = EXPECTED_MACS[architecture]
    assert macs["encoder"] == expected["encoder"]
    assert macs["decoder"] == expected["decoder"]
    assert macs["total"] == expected["encoder"] + expected["decoder"]

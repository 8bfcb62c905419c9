"""Tests for bench.data: IDX parsing, validation, sources and the real datasets.

Synthetic tests write small IDX and .npz files into tmp_path. Tests of the full
loading path shrink the split sizes and checksum table to match those files.
No test can download: Keras is replaced by a stub for every test.
"""

import gzip
import hashlib
import shutil
import struct
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from bench import data
from bench.data import DataError, load_dataset, read_idx, validate_split

IDX_NAMES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
TINY_SIZES = {"train": 6, "test": 4}


# ---------------------------------------------------------------------------
# Helpers and fixtures


def encode_idx(array: np.ndarray) -> bytes:
    """Encode a uint8 array as IDX, written independently of bench.data."""
    header = bytes([0, 0, 0x08, array.ndim])
    for size in array.shape:
        header += struct.pack(">I", size)
    return header + array.astype(np.uint8).tobytes()


def write_idx(path: Path, array: np.ndarray, compress: bool = False) -> Path:
    payload = encode_idx(array)
    if compress:
        payload = gzip.compress(payload)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(payload)
    return path


def tiny_arrays(offset: int) -> dict[str, np.ndarray]:
    """Return small deterministic splits. The offset makes datasets differ."""
    arrays = {}
    for split, count in TINY_SIZES.items():
        pixels = np.arange(count * 28 * 28) + offset
        arrays[f"x_{split}"] = (pixels % 256).astype(np.uint8).reshape(count, 28, 28)
        arrays[f"y_{split}"] = ((np.arange(count) + offset) % 10).astype(np.uint8)
    return arrays


def arrays_by_file(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return dict(zip(IDX_NAMES, (arrays[key] for key in data.NPZ_KEYS)))


def write_idx_folder(folder: Path, arrays: dict[str, np.ndarray], compress: bool) -> None:
    for file_name, array in arrays_by_file(arrays).items():
        suffix = ".gz" if compress else ""
        write_idx(folder / f"{file_name}{suffix}", array, compress=compress)


class KerasStub(types.ModuleType):
    """Stand-in for the keras module whose datasets never touch the network."""

    def __init__(self, results: dict | None = None, error: Exception | None = None):
        super().__init__("keras")
        self.calls: list[str] = []
        loaders = {}
        for name in data.DATASETS:
            loaders[name] = types.SimpleNamespace(load_data=self._loader(name, results, error))
        self.datasets = types.SimpleNamespace(**loaders)

    def _loader(self, name, results, error):
        def load_data():
            self.calls.append(name)
            if error is not None:
                raise error
            if results is None or name not in results:
                raise AssertionError("tests must not download data")
            arrays = results[name]
            return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])

        return load_data


@pytest.fixture(autouse=True)
def isolated_sources(tmp_path_factory, monkeypatch):
    """Empty every default source and replace keras, so only a test's own files count."""
    keras_home = tmp_path_factory.mktemp("keras_home")
    debian_dir = tmp_path_factory.mktemp("debian") / "fashion-mnist"
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    monkeypatch.delenv(data.DATA_DIR_ENV, raising=False)
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST_DIR", str(debian_dir))
    stub = KerasStub()
    monkeypatch.setitem(sys.modules, "keras", stub)
    return types.SimpleNamespace(keras_home=keras_home, debian_dir=debian_dir, keras=stub)


@pytest.fixture
def tiny(monkeypatch) -> dict[str, dict[str, np.ndarray]]:
    """Shrink the splits to TINY_SIZES and expect the checksums of tiny_arrays."""
    datasets = {"mnist": tiny_arrays(0), "fashion_mnist": tiny_arrays(7)}
    table = {}
    for name, arrays in datasets.items():
        table[name] = {
            file_name: hashlib.sha256(encode_idx(array)).hexdigest()
            for file_name, array in arrays_by_file(arrays).items()
        }
    monkeypatch.setattr(data, "SPLIT_SIZES", dict(TINY_SIZES))
    monkeypatch.setattr(data, "EXPECTED_SHA256", table)
    return datasets


def assert_same_arrays(dataset: data.Dataset, arrays: dict[str, np.ndarray]) -> None:
    for key in data.NPZ_KEYS:
        np.testing.assert_array_equal(getattr(dataset, key), arrays[key], err_msg=key)


# ---------------------------------------------------------------------------
# read_idx


def test_read_idx_raw(tmp_path):
    images = np.arange(2 * 28 * 28, dtype=np.uint32).astype(np.uint8).reshape(2, 28, 28)
    path = write_idx(tmp_path / "train-images-idx3-ubyte", images)
    result = read_idx(path)
    assert result.dtype == np.uint8
    assert result.shape == (2, 28, 28)
    np.testing.assert_array_equal(result, images)


def test_read_idx_gzip(tmp_path):
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    path = write_idx(tmp_path / "train-labels-idx1-ubyte.gz", labels, compress=True)
    np.testing.assert_array_equal(read_idx(path), labels)


def test_read_idx_gzip_without_suffix(tmp_path):
    labels = np.array([9, 2, 6], dtype=np.uint8)
    path = write_idx(tmp_path / "train-labels-idx1-ubyte", labels, compress=True)
    np.testing.assert_array_equal(read_idx(path), labels)


def test_read_idx_result_writable(tmp_path):
    labels = np.array([1, 2], dtype=np.uint8)
    path = write_idx(tmp_path / "labels", labels, compress=True)
    assert read_idx(path).flags.writeable


def test_read_idx_truncated_gzip(tmp_path):
    images = np.zeros((3, 28, 28), dtype=np.uint8)
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(encode_idx(images))[:-20])
    with pytest.raises(DataError) as excinfo:
        read_idx(path)
    message = str(excinfo.value)
    assert str(path) in message
    assert "truncated or corrupt" in message


def test_read_idx_corrupt_gzip(tmp_path):
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(b"\x1f\x8b" + b"\xff" * 40)
    with pytest.raises(DataError, match="truncated or corrupt"):
        read_idx(path)


def test_read_idx_truncated_payload(tmp_path):
    path = tmp_path / "t10k-images-idx3-ubyte"
    path.write_bytes(encode_idx(np.zeros((3, 28, 28), dtype=np.uint8))[:-5])
    with pytest.raises(DataError) as excinfo:
        read_idx(path)
    message = str(excinfo.value)
    assert str(path) in message
    assert "truncated" in message
    assert str(3 * 28 * 28) in message


def test_read_idx_trailing_bytes(tmp_path):
    path = tmp_path / "t10k-labels-idx1-ubyte"
    path.write_bytes(encode_idx(np.zeros(4, dtype=np.uint8)) + b"\x00\x00")
    with pytest.raises(DataError, match="extra bytes"):
        read_idx(path)


def test_read_idx_truncated_header(tmp_path):
    path = tmp_path / "t10k-images-idx3-ubyte"
    path.write_bytes(bytes([0, 0, 0x08, 3, 0, 0]))
    with pytest.raises(DataError, match="header"):
        read_idx(path)


def test_read_idx_wrong_magic(tmp_path):
    path = tmp_path / "train-labels-idx1-ubyte"
    path.write_bytes(struct.pack(">II", 0x00000802, 1) + b"\x00")
    with pytest.raises(DataError) as excinfo:
        read_idx(path)
    message = str(excinfo.value)
    assert "0x00000802" in message
    assert "0x00000801" in message


def test_read_idx_wrong_element_type(tmp_path):
    path = tmp_path / "train-labels-idx1-ubyte"
    path.write_bytes(struct.pack(">II", 0x00000D01, 1) + b"\x00" * 4)
    with pytest.raises(DataError, match="element type 0x0d"):
        read_idx(path)


def test_read_idx_html_page(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_text("<!DOCTYPE html>\n<html><body>404 Not Found</body></html>\n")
    with pytest.raises(DataError) as excinfo:
        read_idx(path)
    message = str(excinfo.value)
    assert str(path) in message
    assert "HTML" in message


def test_read_idx_gzipped_html_page(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(b"  <html><body>Access denied</body></html>"))
    with pytest.raises(DataError, match="HTML"):
        read_idx(path)


def test_read_idx_missing_file(tmp_path):
    path = tmp_path / "absent-idx1-ubyte"
    with pytest.raises(DataError, match="cannot read"):
        read_idx(path)


# ---------------------------------------------------------------------------
# validate_split


def test_split_valid():
    arrays = tiny_arrays(0)
    validate_split(arrays["x_train"], arrays["y_train"], 6)


def test_split_label_out_of_range(tmp_path):
    labels = np.array([0, 9, 10, 3], dtype=np.uint8)
    images_path = write_idx(tmp_path / "images", np.zeros((4, 28, 28), dtype=np.uint8))
    labels_path = write_idx(tmp_path / "labels", labels)
    with pytest.raises(DataError) as excinfo:
        validate_split(
            read_idx(images_path),
            read_idx(labels_path),
            4,
            images_source=str(images_path),
            labels_source=str(labels_path),
        )
    message = str(excinfo.value)
    assert str(labels_path) in message
    assert "found 10 at index 2" in message


def test_split_count_mismatch(tmp_path):
    images_path = write_idx(tmp_path / "images", np.zeros((5, 28, 28), dtype=np.uint8))
    labels_path = write_idx(tmp_path / "labels", np.zeros(4, dtype=np.uint8))
    with pytest.raises(DataError) as excinfo:
        validate_split(
            read_idx(images_path),
            read_idx(labels_path),
            5,
            images_source=str(images_path),
            labels_source=str(labels_path),
        )
    message = str(excinfo.value)
    assert "5 images" in message
    assert "4 labels" in message


def test_split_wrong_count():
    arrays = tiny_arrays(0)
    with pytest.raises(DataError, match="expected 60000 examples, found 6"):
        validate_split(arrays["x_train"], arrays["y_train"], 60000)


def test_split_wrong_image_shape():
    with pytest.raises(DataError, match=r"\(N, 28, 28\)"):
        validate_split(np.zeros((2, 32, 32), np.uint8), np.zeros(2, np.uint8), 2)


def test_split_wrong_label_dtype():
    with pytest.raises(DataError, match="int64"):
        validate_split(np.zeros((2, 28, 28), np.uint8), np.zeros(2, np.int64), 2)


# ---------------------------------------------------------------------------
# load_dataset on small synthetic files


def test_unknown_name(tmp_path):
    with pytest.raises(DataError) as excinfo:
        load_dataset("cifar10", tmp_path, allow_download=False)
    message = str(excinfo.value)
    assert "'cifar10'" in message
    assert "mnist, fashion_mnist" in message


def test_missing_data_dir(tmp_path):
    missing = tmp_path / "typo"
    with pytest.raises(DataError) as excinfo:
        load_dataset("mnist", missing, allow_download=False)
    message = str(excinfo.value)
    assert str(missing) in message
    assert "does not exist" in message


def test_nothing_found_mnist(tmp_path, isolated_sources):
    with pytest.raises(DataError) as excinfo:
        load_dataset("mnist", tmp_path, allow_download=False)
    message = str(excinfo.value)
    assert "MNIST not found" in message
    assert str(tmp_path / "mnist") in message
    assert str(tmp_path / "mnist.npz") in message
    assert str(tmp_path / "mnist" / "mnist.npz") in message
    assert str(isolated_sources.keras_home / "datasets" / "mnist.npz") in message
    assert "--no-download" in message
    assert "AEBENCH_DATA_DIR" in message
    assert isolated_sources.keras.calls == []


def test_nothing_found_fashion(tmp_path, isolated_sources):
    with pytest.raises(DataError) as excinfo:
        load_dataset("fashion_mnist", tmp_path, allow_download=False)
    message = str(excinfo.value)
    assert str(tmp_path / "fashion-mnist") in message
    assert str(tmp_path / "fashion-mnist.npz") in message
    assert str(isolated_sources.keras_home / "datasets" / "fashion-mnist") in message
    assert str(isolated_sources.debian_dir) in message
    assert "--no-download" in message


def test_nothing_found_without_data_dir():
    with pytest.raises(DataError, match="data directory: not set"):
        load_dataset("mnist", allow_download=False)


def test_underscore_folder_hint(tmp_path):
    (tmp_path / "fashion_mnist").mkdir()
    with pytest.raises(DataError, match="must be named fashion-mnist"):
        load_dataset("fashion_mnist", tmp_path, allow_download=False)


@pytest.mark.parametrize("compress", [False, True])
def test_load_idx_folder(tmp_path, tiny, compress):
    write_idx_folder(tmp_path / "mnist", tiny["mnist"], compress=compress)
    dataset = load_dataset("mnist", tmp_path, allow_download=False)
    assert dataset.name == "mnist"
    assert dataset.source.kind == "data_dir"
    assert dataset.source.location == str((tmp_path / "mnist").resolve())
    assert dataset.source.checksums == data.EXPECTED_SHA256["mnist"]
    assert_same_arrays(dataset, tiny["mnist"])


def test_load_env_data_dir(tmp_path, tiny, monkeypatch):
    write_idx_folder(tmp_path / "fashion-mnist", tiny["fashion_mnist"], compress=True)
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path))
    dataset = load_dataset("fashion_mnist", allow_download=False)
    assert dataset.source.kind == "data_dir"
    assert_same_arrays(dataset, tiny["fashion_mnist"])


def test_default_data_dir(monkeypatch, tmp_path):
    assert data.default_data_dir() is None
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path))
    assert data.default_data_dir() == str(tmp_path)


@pytest.mark.parametrize("inside_folder", [False, True])
def test_load_npz(tmp_path, tiny, inside_folder):
    folder = tmp_path / "fashion-mnist" if inside_folder else tmp_path
    folder.mkdir(exist_ok=True)
    npz_path = folder / "fashion-mnist.npz"
    np.savez(npz_path, **tiny["fashion_mnist"])
    dataset = load_dataset("fashion_mnist", tmp_path, allow_download=False)
    assert dataset.source.kind == "data_dir"
    assert dataset.source.location == str(npz_path.resolve())
    assert dataset.source.checksums == data.EXPECTED_SHA256["fashion_mnist"]
    assert_same_arrays(dataset, tiny["fashion_mnist"])


def test_npz_missing_keys(tmp_path, tiny):
    arrays = tiny["mnist"]
    np.savez(tmp_path / "mnist.npz", x_train=arrays["x_train"], y_train=arrays["y_train"])
    with pytest.raises(DataError) as excinfo:
        load_dataset("mnist", tmp_path, allow_download=False)
    message = str(excinfo.value)
    assert str(tmp_path / "mnist.npz") in message
    assert "missing keys x_test, y_test" in message
    assert "Found keys: x_train, y_train" in message


def test_npz_corrupt(tmp_path):
    (tmp_path / "mnist.npz").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DataError, match="cannot read the .npz"):
        load_dataset("mnist", tmp_path, allow_download=False)


def test_checksum_mismatch_synthetic(tmp_path, tiny):
    # Right shapes and labels, wrong content: the MNIST tiny files as Fashion-MNIST.
    write_idx_folder(tmp_path / "fashion-mnist", tiny["mnist"], compress=True)
    with pytest.raises(DataError) as excinfo:
        load_dataset("fashion_mnist", tmp_path, allow_download=False)
    message = str(excinfo.value)
    assert "checksum mismatch" in message
    assert data.EXPECTED_SHA256["fashion_mnist"]["train-images-idx3-ubyte"] in message
    assert data.EXPECTED_SHA256["mnist"]["train-images-idx3-ubyte"] in message
    assert "MNIST train-images-idx3-ubyte" in message


def test_partial_folder_raises(tmp_path, tiny):
    write_idx_folder(tmp_path / "mnist", tiny["mnist"], compress=True)
    (tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match="missing t10k-labels-idx1-ubyte"):
        load_dataset("mnist", tmp_path, allow_download=False)


def test_bad_file_stops_search(tmp_path, tiny, isolated_sources):
    # Good data in the Keras cache must not hide a broken file in the data dir.
    cache = isolated_sources.keras_home / "datasets"
    cache.mkdir()
    np.savez(cache / "mnist.npz", **tiny["mnist"])
    write_idx_folder(tmp_path / "mnist", tiny["mnist"], compress=False)
    (tmp_path / "mnist" / "train-labels-idx1-ubyte").write_text("<html>oops</html>")
    with pytest.raises(DataError, match="HTML"):
        load_dataset("mnist", tmp_path, allow_download=False)


def test_data_dir_precedes_cache(tmp_path, tiny, isolated_sources):
    cache = isolated_sources.keras_home / "datasets"
    cache.mkdir()
    np.savez(cache / "mnist.npz", **tiny["mnist"])
    write_idx_folder(tmp_path / "mnist", tiny["mnist"], compress=True)
    dataset = load_dataset("mnist", tmp_path, allow_download=False)
    assert dataset.source.kind == "data_dir"


def test_keras_cache_mnist(tmp_path, tiny, isolated_sources):
    cache = isolated_sources.keras_home / "datasets"
    cache.mkdir()
    np.savez(cache / "mnist.npz", **tiny["mnist"])
    dataset = load_dataset("mnist", tmp_path, allow_download=False)
    assert dataset.source.kind == "keras_cache"
    assert dataset.source.location == str((cache / "mnist.npz").resolve())
    assert_same_arrays(dataset, tiny["mnist"])


def test_keras_cache_fashion(tiny, isolated_sources):
    folder = isolated_sources.keras_home / "datasets" / "fashion-mnist"
    write_idx_folder(folder, tiny["fashion_mnist"], compress=True)
    dataset = load_dataset("fashion_mnist", allow_download=False)
    assert dataset.source.kind == "keras_cache"
    assert dataset.source.location == str(folder.resolve())
    assert_same_arrays(dataset, tiny["fashion_mnist"])


def test_keras_cache_partial_skipped(tiny, isolated_sources):
    folder = isolated_sources.keras_home / "datasets" / "fashion-mnist"
    write_idx_folder(folder, tiny["fashion_mnist"], compress=True)
    (folder / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(DataError, match="not found"):
        load_dataset("fashion_mnist", allow_download=False)


def test_debian_fashion(tiny, isolated_sources):
    write_idx_folder(isolated_sources.debian_dir, tiny["fashion_mnist"], compress=False)
    dataset = load_dataset("fashion_mnist", allow_download=False)
    assert dataset.source.kind == "debian"
    assert dataset.source.location == str(isolated_sources.debian_dir.resolve())
    assert_same_arrays(dataset, tiny["fashion_mnist"])


def test_debian_ignored_for_mnist(tiny, isolated_sources):
    write_idx_folder(isolated_sources.debian_dir, tiny["mnist"], compress=False)
    with pytest.raises(DataError, match="not found"):
        load_dataset("mnist", allow_download=False)


def test_download_stub(tiny, monkeypatch):
    stub = KerasStub(results=tiny)
    monkeypatch.setitem(sys.modules, "keras", stub)
    dataset = load_dataset("mnist")
    assert stub.calls == ["mnist"]
    assert dataset.source.kind == "download"
    assert dataset.source.checksums == data.EXPECTED_SHA256["mnist"]
    assert_same_arrays(dataset, tiny["mnist"])


def test_download_failure(monkeypatch):
    stub = KerasStub(error=Exception("URL fetch failure: no network"))
    monkeypatch.setitem(sys.modules, "keras", stub)
    with pytest.raises(DataError) as excinfo:
        load_dataset("fashion_mnist")
    message = str(excinfo.value)
    assert "no network" in message
    assert "keras.datasets.fashion_mnist.load_data()" in message


def test_download_skipped(isolated_sources):
    with pytest.raises(DataError):
        load_dataset("mnist", allow_download=False)
    assert isolated_sources.keras.calls == []


def test_source_to_dict():
    source = data.DataSource(kind="data_dir", location="/data/mnist", checksums={"a": "b"})
    result = source.to_dict()
    assert result == {"kind": "data_dir", "location": "/data/mnist", "checksums": {"a": "b"}}
    assert result["checksums"] is not source.checksums


# ---------------------------------------------------------------------------
# Real datasets


@pytest.fixture(scope="module")
def real(real_data_dir) -> dict[str, data.Dataset]:
    return {name: load_dataset(name, real_data_dir, allow_download=False) for name in data.DATASETS}


@pytest.mark.parametrize("name", data.DATASETS)
def test_real_shapes(real, name):
    dataset = real[name]
    assert dataset.x_train.shape == (60000, 28, 28)
    assert dataset.y_train.shape == (60000,)
    assert dataset.x_test.shape == (10000, 28, 28)
    assert dataset.y_test.shape == (10000,)
    assert dataset.x_train.dtype == np.uint8
    assert dataset.y_train.dtype == np.uint8
    assert dataset.x_test.dtype == np.uint8
    assert dataset.y_test.dtype == np.uint8


@pytest.mark.parametrize("name", data.DATASETS)
def test_real_source(real, real_data_dir, name):
    source = real[name].source
    assert source.kind == "data_dir"
    assert source.location == str(real_data_dir / data.FOLDER_NAMES[name])
    assert source.checksums == data.EXPECTED_SHA256[name]


def test_real_mnist_labels(real):
    mnist = real["mnist"]
    assert mnist.y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert mnist.y_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]


def test_real_mnist_class_counts(real):
    counts = np.bincount(real["mnist"].y_train, minlength=10).tolist()
    assert counts == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


def test_real_fashion_labels(real):
    assert real["fashion_mnist"].y_train[:10].tolist() == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]


def test_real_fashion_class_counts(real):
    fashion = real["fashion_mnist"]
    assert np.bincount(fashion.y_train, minlength=10).tolist() == [6000] * 10
    assert np.bincount(fashion.y_test, minlength=10).tolist() == [1000] * 10


@pytest.mark.parametrize("name", data.DATASETS)
def test_real_npz_roundtrip(real, tmp_path, name):
    original = real[name]
    npz_path = tmp_path / f"{data.FOLDER_NAMES[name]}.npz"
    np.savez(npz_path, **{key: getattr(original, key) for key in data.NPZ_KEYS})
    dataset = load_dataset(name, tmp_path, allow_download=False)
    assert dataset.source.location == str(npz_path.resolve())
    assert dataset.source.checksums == original.source.checksums
    assert_same_arrays(dataset, {key: getattr(original, key) for key in data.NPZ_KEYS})


def test_real_checksum_mismatch(real_data_dir, tmp_path):
    shutil.copytree(real_data_dir / "mnist", tmp_path / "fashion-mnist")
    with pytest.raises(DataError) as excinfo:
        load_dataset("fashion_mnist", tmp_path, allow_download=False)
    message = str(excinfo.value)
    assert "checksum" in message
    assert "MNIST" in message
    assert str(tmp_path / "fashion-mnist") in message


def test_real_keras_cache_fashion(real, real_data_dir, isolated_sources):
    cache = isolated_sources.keras_home / "datasets" / "fashion-mnist"
    shutil.copytree(real_data_dir / "fashion-mnist", cache)
    dataset = load_dataset("fashion_mnist", allow_download=False)
    assert dataset.source.kind == "keras_cache"
    assert dataset.source.checksums == real["fashion_mnist"].source.checksums

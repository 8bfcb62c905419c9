"""Load MNIST and Fashion-MNIST from local IDX or .npz files, or through Keras.

`load_dataset` tries these sources in order and uses the first one that has
the dataset:

1. the data directory (`data_dir` argument, else `AEBENCH_DATA_DIR`),
2. Keras' own dataset cache (`$KERAS_HOME/datasets` or `~/.keras/datasets`),
3. Debian's `dataset-fashion-mnist` package (Fashion-MNIST only),
4. `keras.datasets.<name>.load_data()`, which downloads (only when allowed).

Every source is checked the same way: shapes, dtypes, split sizes, label range
and the SHA-256 of the decompressed IDX bytes. Arrays read from an .npz file or
from Keras are re-encoded as IDX before hashing, so one checksum table covers
all sources. A file that is found but invalid raises `DataError` at once
instead of falling through to the next source, which would hide the problem.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import logging
import math
import os
import struct
import time
import zipfile
import zlib
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

DATASETS = ("mnist", "fashion_mnist")

# Folder and .npz base name of each dataset. Fashion-MNIST uses a hyphen, as in
# Keras' cache (keras/src/datasets/fashion_mnist.py).
FOLDER_NAMES = {"mnist": "mnist", "fashion_mnist": "fashion-mnist"}
DISPLAY_NAMES = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST"}

DATA_DIR_ENV = "AEBENCH_DATA_DIR"

# NOTE: this install folder of Debian's dataset-fashion-mnist package is not
# checked against the package's file list. Tests point it at a temporary folder.
DEBIAN_FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"

# Standard IDX file names (without .gz) of the images and labels of each split.
SPLIT_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
SPLIT_SIZES = {"train": 60000, "test": 10000}
IMAGE_SHAPE = (28, 28)
NUM_CLASSES = 10

# SHA-256 of the decompressed IDX files. Distributors wrap the same IDX bytes
# in different gzip streams (Debian recompresses Fashion-MNIST, for one), so
# only the decompressed bytes have a stable hash.
EXPECTED_SHA256 = {
    "mnist": {
        "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
    "fashion_mnist": {
        "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    },
}

NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")

# IDX magic numbers: two zero bytes, the element type (0x08 = unsigned byte)
# and the number of dimensions.
IDX_IMAGES_MAGIC = 0x00000803
IDX_LABELS_MAGIC = 0x00000801
_IDX_UNSIGNED_BYTE = 0x08
_GZIP_MAGIC = b"\x1f\x8b"

_LAYOUT_HINT = (
    "a folder that contains mnist/ and fashion-mnist/, each with the four standard "
    "IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, "
    "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, gzip-compressed with .gz or raw)"
)
_FIX_HINT = (
    f"Point --data-dir or {DATA_DIR_ENV} at {_LAYOUT_HINT}, or run online so that "
    "Keras can download the dataset."
)


class DataError(ValueError):
    """A dataset is missing, unreadable or does not match the expected data."""


@dataclasses.dataclass(frozen=True)
class DataSource:
    """Provenance of a loaded dataset.

    Attributes:
        kind: "data_dir", "keras_cache", "debian" or "download".
        location: Absolute path of the folder or file that was read.
        checksums: SHA-256 hex digest of the decompressed IDX bytes, keyed by
            the standard IDX file name without .gz.
    """

    kind: str
    location: str
    checksums: dict[str, str]

    def to_dict(self) -> dict:
        """Return a JSON-serialisable copy."""
        return {
            "kind": self.kind,
            "location": self.location,
            "checksums": dict(self.checksums),
        }


# eq=False because comparing numpy arrays with == does not give one bool.
@dataclasses.dataclass(frozen=True, eq=False)
class Dataset:
    """One dataset with its train and test splits.

    Attributes:
        name: One of `DATASETS`.
        x_train: Training images, shape (60000, 28, 28), uint8.
        y_train: Training labels 0..9, shape (60000,), uint8.
        x_test: Test images, shape (10000, 28, 28), uint8.
        y_test: Test labels 0..9, shape (10000,), uint8.
        source: Where the data was read from, with checksums.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: DataSource


def default_data_dir() -> str | None:
    """Return the value of `AEBENCH_DATA_DIR`, or None when it is unset or empty."""
    return os.environ.get(DATA_DIR_ENV) or None


# ---------------------------------------------------------------------------
# IDX files


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file of unsigned bytes, gzip-compressed or raw.

    Gzip is recognised by its magic bytes (1f 8b), so a compressed file
    without the .gz suffix also works.

    Args:
        path: IDX file of images (magic 0x00000803) or labels (0x00000801).

    Returns:
        A writable uint8 array with the shape given in the IDX header.

    Raises:
        DataError: The file cannot be read, the gzip stream is truncated or
            corrupt, the magic number is wrong (for example an HTML page saved
            under the file's name), or the payload length does not match the
            dimensions in the header.
    """
    array, _ = _read_idx_with_digest(path)
    return array


def _read_idx_with_digest(path: str | os.PathLike) -> tuple[np.ndarray, str]:
    """Read an IDX file and return it with the SHA-256 of its decompressed bytes."""
    data = _read_decompressed(Path(path))
    array = _parse_idx(data, str(path))
    return array, hashlib.sha256(data).hexdigest()


def _read_decompressed(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise DataError(
            f"{path}: cannot read the file ({error}). Check that it exists and is readable."
        ) from error

    if not raw.startswith(_GZIP_MAGIC):
        return raw

    try:
        return gzip.decompress(raw)
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise DataError(
            f"{path}: the gzip data is truncated or corrupt ({error}). Expected a "
            "complete gzip-compressed IDX file. Replace the file with a complete "
            "copy, for example by downloading it again."
        ) from error


def _parse_idx(data: bytes, where: str) -> np.ndarray:
    if len(data) < 4:
        raise DataError(
            f"{where}: the file has {len(data)} bytes, too short for an IDX header. "
            "Replace it with the original IDX file."
        )

    (magic,) = struct.unpack(">I", data[:4])
    if magic not in (IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC):
        raise DataError(_describe_bad_magic(data, magic, where))

    ndim = data[3]
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise DataError(
            f"{where}: the IDX header declares {ndim} dimensions, which needs "
            f"{header_size} header bytes, but the file has only {len(data)} bytes. "
            "The file is truncated, replace it with a complete copy."
        )

    dims = struct.unpack(f">{ndim}I", data[4:header_size])
    expected_payload = math.prod(dims)
    payload = len(data) - header_size
    if payload != expected_payload:
        problem = "truncated" if payload < expected_payload else "followed by extra bytes"
        raise DataError(
            f"{where}: the IDX header declares dimensions {dims}, so the payload "
            f"should be {expected_payload} bytes, but it is {payload} bytes. The "
            f"file is {problem}, replace it with the original IDX file."
        )

    # bytearray makes the array writable, so callers can shuffle it in place.
    buffer = bytearray(memoryview(data)[header_size:])
    return np.frombuffer(buffer, dtype=np.uint8).reshape(dims)


def _describe_bad_magic(data: bytes, magic: int, where: str) -> str:
    message = (
        f"{where}: invalid IDX magic number 0x{magic:08x}. Expected 0x{IDX_IMAGES_MAGIC:08x} "
        f"(unsigned-byte images) or 0x{IDX_LABELS_MAGIC:08x} (unsigned-byte labels)."
    )
    if data[:2] == b"\x00\x00" and data[2] != _IDX_UNSIGNED_BYTE:
        return (
            f"{message} The file is IDX but of element type 0x{data[2]:02x}, not "
            "unsigned byte (0x08). Use the original MNIST-format file."
        )

    # HTML, XML and most error pages start with "<" after optional whitespace.
    if data[:512].lstrip().startswith(b"<"):
        return (
            f"{message} The file looks like an HTML or text page, not IDX data, "
            "probably an error page saved by a failed download. Replace it with "
            "the real IDX file."
        )
    if _looks_like_text(data[:512]):
        return (
            f"{message} The file looks like a text file, not IDX data. Replace it "
            "with the real IDX file."
        )
    return f"{message} Replace the file with the original IDX file."


def _looks_like_text(sample: bytes) -> bool:
    if not sample:
        return False
    printable = sum(32 <= byte < 127 or byte in b"\t\r\n" for byte in sample)
    return printable == len(sample)


def _encode_idx(array: np.ndarray) -> bytes:
    """Encode a uint8 array as IDX bytes: big-endian magic, dims, then the payload."""
    magic = (_IDX_UNSIGNED_BYTE << 8) | array.ndim
    header = struct.pack(f">I{array.ndim}I", magic, *array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


# ---------------------------------------------------------------------------
# Validation


def validate_split(
    images: np.ndarray,
    labels: np.ndarray,
    expected_count: int,
    *,
    images_source: str = "images",
    labels_source: str = "labels",
) -> None:
    """Raise DataError unless images and labels form one valid split.

    Images must be (N, 28, 28) uint8, labels (N,) uint8 with values 0..9, and
    N must equal `expected_count`.

    Args:
        images: Image array of the split.
        labels: Label array of the split.
        expected_count: Required number of examples N.
        images_source: File or place the images came from, for messages.
        labels_source: File or place the labels came from, for messages.

    Raises:
        DataError: A check failed. The message names the source and the value.
    """
    replace = "Replace it with the original dataset file."
    if images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE:
        raise DataError(
            f"{images_source}: expected images of shape (N, 28, 28), found shape "
            f"{images.shape}. {replace}"
        )
    if images.dtype != np.uint8:
        raise DataError(
            f"{images_source}: expected images of dtype uint8, found {images.dtype}. {replace}"
        )
    if labels.ndim != 1:
        raise DataError(
            f"{labels_source}: expected labels of shape (N,), found shape {labels.shape}. "
            f"{replace}"
        )
    if labels.dtype != np.uint8:
        raise DataError(
            f"{labels_source}: expected labels of dtype uint8, found {labels.dtype}. {replace}"
        )

    if len(images) != len(labels):
        raise DataError(
            f"{images_source} has {len(images)} images but {labels_source} has "
            f"{len(labels)} labels. Expected the same count. The two files probably "
            "come from different splits or datasets, replace them with a matching pair."
        )
    if len(images) != expected_count:
        raise DataError(
            f"{images_source}: expected {expected_count} examples, found {len(images)}. "
            "The file probably belongs to the other split or to another dataset. "
            f"{replace}"
        )

    invalid = np.flatnonzero(labels >= NUM_CLASSES)
    if invalid.size:
        index = int(invalid[0])
        raise DataError(
            f"{labels_source}: expected labels 0..{NUM_CLASSES - 1}, found "
            f"{int(labels[index])} at index {index} ({invalid.size} invalid labels "
            f"in total). {replace}"
        )


def _verify_checksum(name: str, file_name: str, digest: str, where: str) -> None:
    expected = EXPECTED_SHA256[name][file_name]
    if digest == expected:
        return

    message = (
        f"{where}: checksum mismatch. The SHA-256 of the decompressed IDX data is "
        f"{digest}, expected {expected} for {DISPLAY_NAMES[name]} {file_name}."
    )
    match = _identify_digest(digest)
    if match is not None:
        other_name, other_file = match
        message += (
            f" The data is {DISPLAY_NAMES[other_name]} {other_file}, so the file does "
            "not match the expected dataset."
        )
    else:
        message += (
            " The file does not match the expected dataset (for example MNIST files "
            "placed in the fashion-mnist folder) or it was modified."
        )
    message += f" Replace it with the original {DISPLAY_NAMES[name]} file."
    raise DataError(message)


def _identify_digest(digest: str) -> tuple[str, str] | None:
    for name, table in EXPECTED_SHA256.items():
        for file_name, known in table.items():
            if known == digest:
                return name, file_name
    return None


def _check_name(name: str) -> None:
    if name not in DATASETS:
        valid = ", ".join(DATASETS)
        raise DataError(f"Unknown dataset {name!r}. Valid names: {valid}.")


# ---------------------------------------------------------------------------
# Readers for one place


def _find_idx_file(folder: Path, file_name: str) -> Path | None:
    # The raw file wins over the .gz one when both exist, because it needs no
    # decompression. Both pass the same checksum.
    for candidate in (folder / file_name, folder / f"{file_name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _load_idx_folder(
    name: str, folder: Path, kind: str, *, partial_is_error: bool
) -> Dataset | None:
    """Load the four IDX files in `folder`, or return None when none is there.

    A folder with only some of the files raises DataError when
    `partial_is_error`, and is otherwise logged and skipped.
    """
    if not folder.is_dir():
        return None

    found: dict[str, Path] = {}
    for file_names in SPLIT_FILES.values():
        for file_name in file_names:
            path = _find_idx_file(folder, file_name)
            if path is not None:
                found[file_name] = path
    if not found:
        return None

    missing = [
        file_name
        for file_names in SPLIT_FILES.values()
        for file_name in file_names
        if file_name not in found
    ]
    if missing:
        message = (
            f"{folder}: found {len(found)} of the 4 {DISPLAY_NAMES[name]} IDX files, "
            f"missing {', '.join(missing)} (raw or .gz)."
        )
        if partial_is_error:
            raise DataError(f"{message} Add the missing files to this folder.")
        logger.warning("%s Skipping this folder.", message)
        return None

    arrays: dict[str, np.ndarray] = {}
    checksums: dict[str, str] = {}
    for split, (images_file, labels_file) in SPLIT_FILES.items():
        images, images_digest = _read_idx_with_digest(found[images_file])
        labels, labels_digest = _read_idx_with_digest(found[labels_file])
        validate_split(
            images,
            labels,
            SPLIT_SIZES[split],
            images_source=str(found[images_file]),
            labels_source=str(found[labels_file]),
        )
        _verify_checksum(name, images_file, images_digest, str(found[images_file]))
        _verify_checksum(name, labels_file, labels_digest, str(found[labels_file]))
        arrays[f"x_{split}"] = images
        arrays[f"y_{split}"] = labels
        checksums[images_file] = images_digest
        checksums[labels_file] = labels_digest

    source = DataSource(kind=kind, location=str(folder.resolve()), checksums=checksums)
    return Dataset(name=name, source=source, **arrays)


def _load_npz(name: str, path: Path, kind: str) -> Dataset:
    """Load a Keras-format .npz file (keys x_train, y_train, x_test, y_test)."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            keys = sorted(archive.files)
            arrays = {key: archive[key] for key in NPZ_KEYS if key in keys}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise DataError(
            f"{path}: cannot read the .npz file ({error}). Expected a Keras-format "
            f".npz with keys {', '.join(NPZ_KEYS)}. Replace it with a complete copy."
        ) from error

    missing = [key for key in NPZ_KEYS if key not in keys]
    if missing:
        raise DataError(
            f"{path}: missing keys {', '.join(missing)}. Found keys: "
            f"{', '.join(keys) or 'none'}. Expected a Keras-format .npz with keys "
            f"{', '.join(NPZ_KEYS)}, as written by np.savez."
        )

    return _dataset_from_arrays(name, arrays, kind, path.resolve(), str(path))


def _dataset_from_arrays(
    name: str, arrays: dict[str, np.ndarray], kind: str, location: Path, where: str
) -> Dataset:
    """Validate in-memory arrays and hash them as if they were IDX files."""
    checksums: dict[str, str] = {}
    for split, (images_file, labels_file) in SPLIT_FILES.items():
        images = arrays[f"x_{split}"]
        labels = arrays[f"y_{split}"]
        images_where = f"{where} (x_{split})"
        labels_where = f"{where} (y_{split})"
        validate_split(
            images,
            labels,
            SPLIT_SIZES[split],
            images_source=images_where,
            labels_source=labels_where,
        )
        for file_name, array, array_where in (
            (images_file, images, images_where),
            (labels_file, labels, labels_where),
        ):
            digest = hashlib.sha256(_encode_idx(array)).hexdigest()
            _verify_checksum(name, file_name, digest, array_where)
            checksums[file_name] = digest

    source = DataSource(kind=kind, location=str(location), checksums=checksums)
    return Dataset(
        name=name,
        x_train=arrays["x_train"],
        y_train=arrays["y_train"],
        x_test=arrays["x_test"],
        y_test=arrays["y_test"],
        source=source,
    )


# ---------------------------------------------------------------------------
# Sources, in the order load_dataset tries them


def _from_data_dir(name: str, data_dir: Path, tried: list[str]) -> Dataset | None:
    folder_name = FOLDER_NAMES[name]
    folder = data_dir / folder_name
    tried.append(f"data directory: {folder}/ (the 4 IDX files, raw or .gz)")
    dataset = _load_idx_folder(name, folder, "data_dir", partial_is_error=True)
    if dataset is not None:
        return dataset

    for npz_path in (data_dir / f"{folder_name}.npz", folder / f"{folder_name}.npz"):
        tried.append(f"data directory: {npz_path}")
        if npz_path.is_file():
            return _load_npz(name, npz_path, "data_dir")

    logger.info("No %s data in the data directory %s.", DISPLAY_NAMES[name], data_dir)
    return None


def _keras_cache_dirs() -> list[Path]:
    """Return the folders where Keras 3 caches downloaded datasets.

    Keras 3.15 (keras/src/backend/config.py and utils/file_utils.py) uses
    $KERAS_HOME, else ~/.keras, and falls back to /tmp/.keras when that
    folder is not writable. Datasets go into its `datasets` subfolder.
    """
    keras_home = os.environ.get("KERAS_HOME")
    if keras_home:
        base = Path(keras_home).expanduser()
    else:
        base = Path("~/.keras").expanduser()

    bases = [base]
    fallback = Path("/tmp/.keras")
    if not os.access(base, os.W_OK) and base != fallback:
        bases.append(fallback)
    return [path / "datasets" for path in bases]


def _from_keras_cache(name: str, tried: list[str]) -> Dataset | None:
    for cache_dir in _keras_cache_dirs():
        if name == "mnist":
            npz_path = cache_dir / "mnist.npz"
            tried.append(f"Keras cache: {npz_path}")
            if npz_path.is_file():
                return _load_npz(name, npz_path, "keras_cache")
        else:
            folder = cache_dir / FOLDER_NAMES[name]
            tried.append(f"Keras cache: {folder}/ (the 4 IDX .gz files)")
            # An interrupted Keras download leaves only some files behind, and
            # the download step below can complete them, so skip partial sets.
            dataset = _load_idx_folder(name, folder, "keras_cache", partial_is_error=False)
            if dataset is not None:
                return dataset
    return None


def _from_debian(name: str, tried: list[str]) -> Dataset | None:
    if name != "fashion_mnist":
        return None
    folder = Path(DEBIAN_FASHION_MNIST_DIR)
    tried.append(f"Debian package dataset-fashion-mnist: {folder}/")
    return _load_idx_folder(name, folder, "debian", partial_is_error=True)


def _download(name: str, tried: list[str]) -> Dataset:
    tried.append(f"Keras download: keras.datasets.{name}.load_data()")
    logger.info("Downloading %s through keras.datasets.%s.", DISPLAY_NAMES[name], name)

    # Imported here because importing Keras starts a backend, which is slow
    # and not needed when the data is on disk.
    # NOTE: the tests run this path with a stub of keras, never a real download.
    import keras

    loader = getattr(keras.datasets, name)
    try:
        (x_train, y_train), (x_test, y_test) = loader.load_data()
    # Keras 3.15's get_file raises a plain Exception for HTTP and URL errors.
    except Exception as error:
        places = "\n".join(f"  - {place}" for place in tried)
        raise DataError(
            f"Could not load {DISPLAY_NAMES[name]}: the Keras download failed ({error}). "
            f"Places tried:\n{places}\n{_FIX_HINT}"
        ) from error

    arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    location = _downloaded_location(name)
    return _dataset_from_arrays(
        name, arrays, "download", location, f"keras.datasets.{name}.load_data()"
    )


def _downloaded_location(name: str) -> Path:
    """Return where Keras stored the download, or the Keras cache folder."""
    cache_dirs = _keras_cache_dirs()
    for cache_dir in cache_dirs:
        if name == "mnist":
            candidate = cache_dir / "mnist.npz"
        else:
            candidate = cache_dir / FOLDER_NAMES[name]
        if candidate.exists():
            return candidate.resolve()
    return cache_dirs[0].resolve()


def _not_found_error(name: str, data_dir: Path | None, tried: list[str]) -> DataError:
    places = "\n".join(f"  - {place}" for place in tried)
    message = f"{DISPLAY_NAMES[name]} not found. Places tried:\n{places}\n{_FIX_HINT}"
    if data_dir is not None and name == "fashion_mnist" and (data_dir / "fashion_mnist").exists():
        message += (
            f"\n{data_dir / 'fashion_mnist'} exists, but the folder must be named "
            "fashion-mnist (with a hyphen)."
        )
    return DataError(message)


# ---------------------------------------------------------------------------
# Public entry point


def load_dataset(
    name: str,
    data_dir: str | os.PathLike | None = None,
    *,
    allow_download: bool = True,
) -> Dataset:
    """Load and verify one dataset from the first source that has it.

    Args:
        name: "mnist" or "fashion_mnist".
        data_dir: Folder with `mnist/` and `fashion-mnist/` subfolders (or
            `mnist.npz` / `fashion-mnist.npz`). Defaults to `AEBENCH_DATA_DIR`.
        allow_download: Whether to call `keras.datasets.<name>.load_data()`
            when no local source has the data.

    Returns:
        The dataset, with `source` recording where it came from and the
        SHA-256 of each IDX file.

    Raises:
        DataError: The name is unknown, the data directory does not exist, a
            file that was found is invalid or has the wrong checksum, or no
            source has the data. The message names the fix.
    """
    _check_name(name)
    start = time.perf_counter()
    tried: list[str] = []

    if data_dir is None:
        data_dir = default_data_dir()
    resolved_dir: Path | None = None
    if data_dir is None:
        tried.append(f"data directory: not set (no --data-dir and {DATA_DIR_ENV} is unset)")
    else:
        resolved_dir = Path(data_dir).expanduser().resolve()
        # A mistyped path should fail here, not silently fall through to Keras.
        if not resolved_dir.is_dir():
            raise DataError(
                f"Data directory {resolved_dir} does not exist or is not a folder. "
                f"Fix the path given by --data-dir or {DATA_DIR_ENV}. It "
                f"should be {_LAYOUT_HINT}."
            )

    dataset = None
    if resolved_dir is not None:
        dataset = _from_data_dir(name, resolved_dir, tried)
    if dataset is None:
        dataset = _from_keras_cache(name, tried)
    if dataset is None:
        dataset = _from_debian(name, tried)
    if dataset is None:
        if not allow_download:
            tried.append("Keras download: skipped because downloads are off (--no-download)")
            raise _not_found_error(name, resolved_dir, tried)
        dataset = _download(name, tried)

    logger.info(
        "Loaded %s from %s (%s) in %.2f s.",
        DISPLAY_NAMES[name],
        dataset.source.location,
        dataset.source.kind,
        time.perf_counter() - start,
    )
    return dataset

"""MNIST and Fashion-MNIST, loaded the way TF1 and Keras users expect; two tutorial tables besides.

Three sources, tried in this order by `load_dataset`:

1. a folder of the four IDX files (`train-images-idx3-ubyte.gz`, ...: the format of TF1's
   `input_data.read_data_sets`), gzip-compressed or not;
2. a Keras `mnist.npz` (keys `x_train`, `y_train`, `x_test`, `y_test`);
3. Keras' own download and cache (`~/.keras/datasets/`), checksum-verified.

Modules, one job each: `errors`, `datasets` (the arrays in memory), `idx` and `npz` (the two
readers), `locate` (where local data is found), `keras_cache` (the download), `load`
(`load_dataset`), `tutorial` (TF1's `read_data_sets`), `tables` (the regression tutorials'
birth_life and pima tables). Everything public is importable from here, so
`import tfparity.compat.data as input_data` stands in for TF1's reader.
"""

from tfparity.compat.data.datasets import (
    IMAGE_SIDE,
    PIXEL_SCALE,
    Datasets,
    Split,
    datasets_from_uint8,
    images_to_float,
    images_to_uint8,
    one_hot,
)
from tfparity.compat.data.errors import DataAccessError, DataError, DataFormatError, DataNotFoundError
from tfparity.compat.data.idx import (
    GZIP_MAX_RATIO,
    IDX_FILES,
    IMAGE_MAGIC,
    LABEL_MAGIC,
    OFFICIAL_COUNTS,
    PAYLOAD_SHA256,
    load_idx_folder,
    read_idx,
)
from tfparity.compat.data.keras_cache import FASHION_MNIST_GZ_MD5, FASHION_MNIST_URL, download, keras_cache_dir
from tfparity.compat.data.load import load_dataset
from tfparity.compat.data.locate import (
    DATASETS,
    ENV_VARS,
    ROOT_ENV_VAR,
    ROOT_SUBDIRS,
    SYSTEM_DIRS,
    not_found_message,
    resolve_data_path,
)
from tfparity.compat.data.npz import NPZ_KEYS, load_npz
from tfparity.compat.data.tables import (
    BIRTH_LIFE_FILE,
    BIRTH_LIFE_HEADER,
    BIRTH_LIFE_SHA256,
    BIRTH_LIFE_URL,
    PIMA_COLUMNS,
    PIMA_FEATURES,
    PIMA_FILE,
    PIMA_SHA256,
    PIMA_TEST_ROWS,
    PIMA_URL,
    TABLE_FILES,
    download_table,
    load_table,
    min_max_scaled,
    read_birth_life,
    read_pima,
)
from tfparity.compat.data.tutorial import DataSet, TutorialDatasets, read_data_sets

__all__ = [
    "IMAGE_SIDE",
    "Datasets",
    "Split",
    "datasets_from_uint8",
    "images_to_float",
    "PIXEL_SCALE",
    "images_to_uint8",
    "one_hot",
    "DataAccessError",
    "DataError",
    "DataFormatError",
    "DataNotFoundError",
    "GZIP_MAX_RATIO",
    "IDX_FILES",
    "IMAGE_MAGIC",
    "LABEL_MAGIC",
    "OFFICIAL_COUNTS",
    "PAYLOAD_SHA256",
    "load_idx_folder",
    "read_idx",
    "FASHION_MNIST_GZ_MD5",
    "FASHION_MNIST_URL",
    "download",
    "keras_cache_dir",
    "load_dataset",
    "DATASETS",
    "ENV_VARS",
    "ROOT_ENV_VAR",
    "ROOT_SUBDIRS",
    "SYSTEM_DIRS",
    "not_found_message",
    "resolve_data_path",
    "NPZ_KEYS",
    "load_npz",
    "BIRTH_LIFE_FILE",
    "BIRTH_LIFE_HEADER",
    "BIRTH_LIFE_SHA256",
    "BIRTH_LIFE_URL",
    "PIMA_COLUMNS",
    "PIMA_FEATURES",
    "PIMA_FILE",
    "PIMA_SHA256",
    "PIMA_TEST_ROWS",
    "PIMA_URL",
    "TABLE_FILES",
    "download_table",
    "load_table",
    "min_max_scaled",
    "read_birth_life",
    "read_pima",
    "DataSet",
    "TutorialDatasets",
    "read_data_sets",
]

"""プーリング層: what each test cell of pooling.ipynb must hand over, and its checks."""

from course.lectures.checks import keras_pooling, pooling_cases
from course.lectures.expect import conv, dense, dropout, equals, function, misclassified, model, pool, trained
from course.lectures.families import grid, nothing, signs, window
from course.lectures.lecture import Lecture, NumPyOnly

NAME = "pooling"
NUMPY_ONLY = {"test_max_pool": NumPyOnly(("max_pool",)), "test_average_pool": NumPyOnly(("average_pool",))}

POOL_SIZES = list(range(1, 8))
PREDICTED_SHAPES = [[26, 26, 32], [13, 13, 32], [11, 11, 64], [5, 5, 64], [3, 3, 64], [576], [64], [10]]

TESTS = {
    "test_max_pool": [function("max_pool", keras_pooling("max"))],
    "test_average_pool": [function("average_pool", keras_pooling("average"))],
    "test_model_pool": [model("model_pool", [
        conv(32, (None, 28, 28, 32), 320), conv(64, (None, 28, 28, 64), 18496), pool((None, 14, 14, 64)),
        ("Flatten", (None, 12544), 0, {}), dropout((None, 12544)), dense(10, 125450, "softmax")])],
    "test_result_pool": [trained("result_pool", "model_pool", NAME)],
    "test_param_counts": [
        function("dense_params", lambda pool_size: ((28 // pool_size) ** 2 * 64 + 1) * 10),
        equals("deep_param_counts", [320, 18496, 0, 0, 36928, 73856, 0, 0, 0, 0, 62730],
               "層ごとのパラメータ数が違います", "per-layer parameter counts"),
    ],
    "test_model_deep": [model("model_deep", [
        conv(32, (None, 28, 28, 32), 320), conv(64, (None, 28, 28, 64), 18496), pool((None, 14, 14, 64)),
        dropout((None, 14, 14, 64)), conv(64, (None, 14, 14, 64), 36928), conv(128, (None, 14, 14, 128), 73856),
        pool((None, 7, 7, 128)), dropout((None, 7, 7, 128)), ("Flatten", (None, 6272), 0, {}),
        dropout((None, 6272)), dense(10, 62730, "softmax")])],
    "test_result_deep": [trained("result_deep", "model_deep", NAME)],
    "test_predicted_shapes": [
        equals("predicted_shapes", PREDICTED_SHAPES, "出力の形の予想が違います", "predicted output shapes"),
        equals("features_without_pooling", 30976, "プーリングなしの特徴の数が違います (22×22×64)",
               "features without pooling (22x22x64)"),
    ],
    "test_model_valid": [model("model_valid", [
        conv(32, (None, 26, 26, 32), 320, "valid"), conv(64, (None, 24, 24, 64), 18496, "valid"),
        pool((None, 12, 12, 64)), conv(64, (None, 10, 10, 64), 36928, "valid"), pool((None, 5, 5, 64)),
        ("Flatten", (None, 1600), 0, {}), dense(64, 102464), dense(10, 650, "softmax")])],
    "test_result_valid": [trained("result_valid", "model_valid", NAME)],
    "test_misclassified": [misclassified("misclassified", "model_deep")],
}


def inputs(cell: str, rng) -> dict:
    """What the pooling functions and `dense_params` are called on, drawn now."""
    if cell in ("test_max_pool", "test_average_pool"):
        return {cell.removeprefix("test_"): pooling_cases(rng)}
    if cell == "test_param_counts":
        return {"dense_params": [{"args": [size]} for size in rng.permutation(POOL_SIZES).tolist()]}
    return {}


def pooling_family(feature_map, pool_size=2, stride=None):
    return (*grid(feature_map), *signs(feature_map), *window(pool_size, pool_size, stride or pool_size),
            "stride given" if stride else "stride left out")


FAMILIES = {"max_pool": pooling_family, "average_pool": pooling_family, "dense_params": nothing}

LECTURE = Lecture(NAME, TESTS, numpy_only=NUMPY_ONLY, inputs=inputs, families=FAMILIES, grading_seconds=73.8)

#!/usr/bin/python3
"""Exports small models the way common frameworks do, and each framework's own outputs on fixed rows.

These are the models `streammon models add` must register and the scorer must serve exactly (issue #12): the
tests register every model below with the CLI, score the sample rows with the streaming scorer and with
`streammon score`, and compare with the outputs the framework itself computed here (expected.json), within 1e-5.
CI has no Python: the .onnx files, the data and the expected outputs are committed; this script only remakes them.

Made with Debian's packages: python3-torch 1.13, python3-onnx 1.12, python3-sklearn 1.2, python3-xgboost 1.7
(apt-get install python3-torch python3-onnx python3-sklearn python3-xgboost). Two converters are not packaged:
skl2onnx (scikit-learn -> ONNX) and onnxmltools (XGBoost -> ONNX). Their graphs are built here by hand with
onnx.helper, node for node in the shape those converters write (input and output names, an int64 or string label
output next to the probabilities, ai.onnx.ml ops, ZipMap), from the fitted scikit-learn and XGBoost models.

Run from the repository root: /usr/bin/python3 examples/models/make_models.py

Layout written:
  examples/models/data/{iris,diabetes}.csv                    full data sets (feature columns, then label)
  examples/models/data/{cancer,iris,diabetes}-sample.csv       the fixed rows every model is checked on
  examples/models/<model>/model.onnx, expected.json            one folder per model
  examples/models/unsupported/*.onnx                           signatures the scorer cannot serve, and two graphs that
                                                               load but fail to run (NaN outputs, a runtime error)
"""
import json
import os

import numpy as np
import onnx
import sklearn
import sklearn.datasets
import torch
import xgboost
from onnx import TensorProto, helper, numpy_helper
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.preprocessing import StandardScaler

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
DATA = os.path.join(HERE, "data")
CANCER = os.path.join(ROOT, "data", "breast_cancer_wisconsin.csv")
SAMPLE_ROWS = 12
OPSETS = [helper.make_opsetid("", 13), helper.make_opsetid("ai.onnx.ml", 2)]


def rel(path):
    return os.path.relpath(path, ROOT).replace(os.sep, "/")


# ---------------------------------------------------------------------------------------------------------------
# Data: the repository's cancer set, iris and diabetes as scikit-learn ships them, and fixed sample rows of each.
# ---------------------------------------------------------------------------------------------------------------

def write_csv(path, header, rows, ids=None):
    with open(path, "w", encoding="ascii", newline="\n") as f:
        f.write(",".join((["event_id"] if ids is not None else []) + header) + "\n")
        for i, row in enumerate(rows):
            cells = [repr(float(v)) if not isinstance(v, str) else v for v in row]
            f.write(",".join(([ids[i]] if ids is not None else []) + cells) + "\n")


class DataSet:
    def __init__(self, name, features, x, y, full_csv):
        self.name, self.features, self.x, self.y, self.full_csv = name, features, x, y, full_csv
        rng = np.random.RandomState(7)
        self.sample_index = rng.choice(len(x), SAMPLE_ROWS, replace=False)
        self.sample = x[self.sample_index]
        self.sample_csv = os.path.join(DATA, f"{name}-sample.csv")
        ids = [f"{name}-{int(i)}" for i in self.sample_index]
        write_csv(self.sample_csv, features + ["label"], np.column_stack([self.sample, y[self.sample_index]]), ids)


def load_data():
    os.makedirs(DATA, exist_ok=True)
    with open(CANCER, encoding="ascii") as f:
        header = f.readline().strip().split(",")
    table = np.genfromtxt(CANCER, delimiter=",", skip_header=1, dtype=np.float64)
    cancer = DataSet("cancer", header[:-1], table[:, :-1], table[:, -1].astype(int), CANCER)

    iris = sklearn.datasets.load_iris()
    iris_features = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    iris_csv = os.path.join(DATA, "iris.csv")
    write_csv(iris_csv, iris_features + ["label"], np.column_stack([iris.data, iris.target]))
    iris_set = DataSet("iris", iris_features, iris.data, iris.target, iris_csv)
    iris_set.class_names = [str(n) for n in iris.target_names]

    diabetes = sklearn.datasets.load_diabetes(scaled=False)
    diabetes_csv = os.path.join(DATA, "diabetes.csv")
    write_csv(diabetes_csv, list(diabetes.feature_names) + ["label"], np.column_stack([diabetes.data, diabetes.target]))
    diabetes_set = DataSet("diabetes", list(diabetes.feature_names), diabetes.data, diabetes.target, diabetes_csv)
    return cancer, iris_set, diabetes_set


def check(model):
    # onnx 1.12's strict shape inference has no case for maps, so a graph with ZipMap gets the structural check only.
    onnx.checker.check_model(model, full_check=not any(n.op_type == "ZipMap" for n in model.graph.node))


def save(name, model_proto, data, framework, exported_with, add_args, kind, outputs):
    """Writes examples/models/<name>/{model.onnx, expected.json}; outputs are the framework's own, on data.sample."""
    folder = os.path.join(HERE, name)
    os.makedirs(folder, exist_ok=True)
    if isinstance(model_proto, onnx.ModelProto):
        onnx.save(model_proto, os.path.join(folder, "model.onnx"))
    check(onnx.load(os.path.join(folder, "model.onnx")))
    score = [float(v) for v in outputs["score"]]
    expected = {
        "name": name,
        "framework": framework,
        "exported_with": exported_with,
        "features_from": rel(data.full_csv),
        "sample": rel(data.sample_csv),
        "add_args": add_args,
        "kind": kind,
        "event_ids": [f"{data.name}-{int(i)}" for i in data.sample_index],
        "score": score,
        "predicted_class": [int(v) for v in outputs.get("predicted_class", [])],
        "probabilities": [[float(p) for p in row] for row in outputs.get("probabilities", [])],
    }
    with open(os.path.join(folder, "expected.json"), "w", encoding="ascii", newline="\n") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")
    print(f"{name}: {framework}, {len(score)} rows")


def binary_outputs(p, threshold=0.5):
    p = np.asarray(p, dtype=np.float64).reshape(-1)
    return {"score": p, "predicted_class": (p >= threshold).astype(int)}


def multiclass_outputs(probabilities):
    probabilities = np.asarray(probabilities, dtype=np.float64)
    return {"score": probabilities.max(axis=1), "predicted_class": probabilities.argmax(axis=1), "probabilities": probabilities}


# ---------------------------------------------------------------------------------------------------------------
# PyTorch: torch.onnx.export, with and without a dynamic batch axis.
# ---------------------------------------------------------------------------------------------------------------

class Standardised(torch.nn.Module):
    def __init__(self, x, body, squeeze=False):
        super().__init__()
        std = x.std(axis=0)
        std[std == 0] = 1.0
        self.register_buffer("mean", torch.tensor(x.mean(axis=0), dtype=torch.float32))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32))
        self.body = body
        self.squeeze = squeeze

    def forward(self, features):
        out = self.body((features - self.mean) / self.std)
        return out.squeeze(1) if self.squeeze else out


def fit(model, x, loss_of, epochs, lr=0.02):
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    inputs = torch.tensor(x, dtype=torch.float32)
    for _ in range(epochs):
        optimiser.zero_grad()
        loss = loss_of(model(inputs))
        loss.backward()
        optimiser.step()
    model.eval()
    return model


def export(model, example, name, input_name, output_name, dynamic):
    folder = os.path.join(HERE, name)
    os.makedirs(folder, exist_ok=True)
    kwargs = {"dynamic_axes": {input_name: {0: "batch"}, output_name: {0: "batch"}}} if dynamic else {}
    torch.onnx.export(model, example, os.path.join(folder, "model.onnx"), input_names=[input_name],
                      output_names=[output_name], opset_version=13, **kwargs)


def torch_models(cancer, iris, diabetes):
    torch.manual_seed(42)
    version = f"torch {torch.__version__}"
    labels = torch.tensor(cancer.y, dtype=torch.float32).unsqueeze(1)
    mlp = Standardised(cancer.x, torch.nn.Sequential(torch.nn.Linear(30, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1), torch.nn.Sigmoid()))
    fit(mlp, cancer.x, lambda out: torch.nn.functional.binary_cross_entropy(out, labels), 150)
    with torch.no_grad():
        p = mlp(torch.tensor(cancer.sample, dtype=torch.float32)).numpy()
    sample = torch.tensor(cancer.sample, dtype=torch.float32)
    export(mlp, sample[:1], "torch-mlp", "features", "probability", dynamic=True)
    save("torch-mlp", None, cancer, version, "torch.onnx.export with dynamic_axes={features: {0: batch}, probability: {0: batch}}",
         [], "binary", binary_outputs(p))
    export(mlp, sample[:1], "torch-mlp-fixed-batch-1", "features", "probability", dynamic=False)
    save("torch-mlp-fixed-batch-1", None, cancer, version, "torch.onnx.export without dynamic_axes (batch fixed at 1)",
         [], "binary", binary_outputs(p))
    export(mlp, sample[:8], "torch-mlp-fixed-batch-8", "features", "probability", dynamic=False)
    save("torch-mlp-fixed-batch-8", None, cancer, version, "torch.onnx.export of an 8-row example without dynamic_axes (batch fixed at 8)",
         [], "binary", binary_outputs(p))

    # Multiclass network that returns logits (CrossEntropyLoss applies the softmax): registered with --logits.
    targets = torch.tensor(iris.y, dtype=torch.long)
    net = Standardised(iris.x, torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3)))
    fit(net, iris.x, lambda out: torch.nn.functional.cross_entropy(out, targets), 200)
    with torch.no_grad():
        probabilities = torch.softmax(net(torch.tensor(iris.sample, dtype=torch.float32)), dim=1).numpy()
    export(net, torch.tensor(iris.sample[:1], dtype=torch.float32), "torch-iris-logits", "features", "logits", dynamic=True)
    save("torch-iris-logits", None, iris, version, "torch.onnx.export with dynamic_axes; the network returns logits",
         ["--logits", "--classes", ",".join(iris.class_names)], "multiclass", multiclass_outputs(probabilities))

    # Regression whose output is squeezed to one value per row: shape [N], not [N, 1].
    target = torch.tensor((diabetes.y - diabetes.y.mean()) / diabetes.y.std(), dtype=torch.float32)
    reg = Standardised(diabetes.x, torch.nn.Sequential(torch.nn.Linear(10, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1)), squeeze=True)
    fit(reg, diabetes.x, lambda out: torch.nn.functional.mse_loss(out, target), 200)
    with torch.no_grad():
        value = reg(torch.tensor(diabetes.sample, dtype=torch.float32)).numpy()
    export(reg, torch.tensor(diabetes.sample[:1], dtype=torch.float32), "torch-diabetes-1d", "features", "prediction", dynamic=True)
    save("torch-diabetes-1d", None, diabetes, version, "torch.onnx.export with dynamic_axes; output squeezed to shape [batch]",
         ["--kind", "regression"], "regression", {"score": value})


# ---------------------------------------------------------------------------------------------------------------
# scikit-learn: the graphs skl2onnx writes, built by hand (skl2onnx is not packaged).
# ---------------------------------------------------------------------------------------------------------------

def sequence_of_maps(key_type):
    """The type ZipMap writes: seq(map(key_type, float)) (onnx 1.12's helper has no make_map_type_proto)."""
    value = onnx.TypeProto()
    value.map_type.key_type = key_type
    value.map_type.value_type.CopyFrom(helper.make_tensor_type_proto(TensorProto.FLOAT, None))
    return helper.make_sequence_type_proto(value)


def tensor(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def graph_model(name, nodes, inputs, outputs, initializers, doc):
    graph = helper.make_graph(nodes, name, inputs, outputs, initializers)
    model = helper.make_model(graph, opset_imports=OPSETS, producer_name="make_models.py (skl2onnx-shaped)", doc_string=doc)
    model.ir_version = 8
    return model


def logistic_graph(name, scaler, lr, dtype, zipmap):
    """StandardScaler + binary LogisticRegression: (x - mean) / scale, MatMul, Add, Sigmoid; probabilities [1-p, p]."""
    np_type = np.float32 if dtype == TensorProto.FLOAT else np.float64
    input_name = "float_input" if dtype == TensorProto.FLOAT else "double_input"
    features = scaler.mean_.shape[0]
    initializers = [
        tensor("mean", scaler.mean_.astype(np_type)),
        tensor("scale", scaler.scale_.astype(np_type)),
        tensor("coef", lr.coef_.T.astype(np_type)),
        tensor("intercept", lr.intercept_.astype(np_type)),
        tensor("one", np.array(1.0, dtype=np_type)),
    ]
    nodes = [
        helper.make_node("Sub", [input_name, "mean"], ["centred"]),
        helper.make_node("Div", ["centred", "scale"], ["scaled"]),
        helper.make_node("MatMul", ["scaled", "coef"], ["margin_raw"]),
        helper.make_node("Add", ["margin_raw", "intercept"], ["margin"]),
        helper.make_node("Sigmoid", ["margin"], ["p1"]),
        helper.make_node("Sub", ["one", "p1"], ["p0"]),
        helper.make_node("Concat", ["p0", "p1"], ["probability_tensor"], axis=1),
        helper.make_node("ArgMax", ["probability_tensor"], ["label" if not zipmap else "output_label"], axis=1, keepdims=0),
    ]
    outputs = [helper.make_tensor_value_info("label" if not zipmap else "output_label", TensorProto.INT64, ["N"])]
    if zipmap:
        nodes.append(helper.make_node("ZipMap", ["probability_tensor"], ["output_probability"], domain="ai.onnx.ml", classlabels_int64s=[0, 1]))
        outputs.append(helper.make_value_info("output_probability", sequence_of_maps(TensorProto.INT64)))
    else:
        nodes.append(helper.make_node("Identity", ["probability_tensor"], ["probabilities"]))
        outputs.append(helper.make_tensor_value_info("probabilities", dtype, ["N", 2]))
    inputs = [helper.make_tensor_value_info(input_name, dtype, ["N", features])]
    return graph_model(name, nodes, inputs, outputs, initializers, "StandardScaler + LogisticRegression")


def sklearn_models(cancer, iris, diabetes):
    version = f"scikit-learn {sklearn.__version__}"
    scaler = StandardScaler().fit(cancer.x)
    lr = LogisticRegression(max_iter=1000).fit(scaler.transform(cancer.x), cancer.y)
    p = lr.predict_proba(scaler.transform(cancer.sample))[:, 1]
    shaped = "graph built with onnx.helper as skl2onnx writes it"
    save("sklearn-logreg", logistic_graph("sklearn-logreg", scaler, lr, TensorProto.FLOAT, zipmap=False), cancer, version,
         f"{shaped}: convert_sklearn(..., options={{'zipmap': False}}): int64 label + float probabilities [N, 2]",
         [], "binary", binary_outputs(p))
    save("sklearn-logreg-zipmap", logistic_graph("sklearn-logreg-zipmap", scaler, lr, TensorProto.FLOAT, zipmap=True), cancer, version,
         f"{shaped}: convert_sklearn default: int64 output_label + ZipMap output_probability (sequence of maps)",
         [], "binary", binary_outputs(p))
    save("sklearn-logreg-double", logistic_graph("sklearn-logreg-double", scaler, lr, TensorProto.DOUBLE, zipmap=False), cancer, version,
         f"{shaped}: convert_sklearn with a DoubleTensorType input: double input, double probabilities",
         [], "binary", binary_outputs(p))

    # Multinomial logistic regression with string class labels: string label output and ZipMap keyed by class name.
    iris_scaler = StandardScaler().fit(iris.x)
    names = np.array(iris.class_names)
    iris_lr = LogisticRegression(max_iter=1000).fit(iris_scaler.transform(iris.x), names[iris.y])
    probabilities = iris_lr.predict_proba(iris_scaler.transform(iris.sample))
    assert list(iris_lr.classes_) == iris.class_names
    initializers = [
        tensor("mean", iris_scaler.mean_.astype(np.float32)),
        tensor("scale", iris_scaler.scale_.astype(np.float32)),
        tensor("coef", iris_lr.coef_.T.astype(np.float32)),
        tensor("intercept", iris_lr.intercept_.astype(np.float32)),
    ]
    nodes = [
        helper.make_node("Sub", ["float_input", "mean"], ["centred"]),
        helper.make_node("Div", ["centred", "scale"], ["scaled"]),
        helper.make_node("MatMul", ["scaled", "coef"], ["margin_raw"]),
        helper.make_node("Add", ["margin_raw", "intercept"], ["margin"]),
        helper.make_node("Softmax", ["margin"], ["probability_tensor"], axis=1),
        helper.make_node("ArgMax", ["probability_tensor"], ["label_index"], axis=1, keepdims=0),
        helper.make_node("LabelEncoder", ["label_index"], ["output_label"], domain="ai.onnx.ml",
                         keys_int64s=[0, 1, 2], values_strings=iris.class_names, default_string="?"),
        helper.make_node("ZipMap", ["probability_tensor"], ["output_probability"], domain="ai.onnx.ml", classlabels_strings=iris.class_names),
    ]
    model = graph_model("sklearn-iris-zipmap", nodes,
                        [helper.make_tensor_value_info("float_input", TensorProto.FLOAT, ["N", 4])],
                        [helper.make_tensor_value_info("output_label", TensorProto.STRING, ["N"]),
                         helper.make_value_info("output_probability", sequence_of_maps(TensorProto.STRING))],
                        initializers, "StandardScaler + multinomial LogisticRegression, string classes")
    save("sklearn-iris-zipmap", model, iris, version,
         f"{shaped}: convert_sklearn default for string classes: string output_label + ZipMap keyed by class name",
         [], "multiclass", multiclass_outputs(probabilities))

    # Linear regression: skl2onnx writes one float output named "variable" of shape [N, 1].
    reg = LinearRegression().fit(diabetes.x, diabetes.y)
    value = reg.predict(diabetes.sample)
    model = graph_model("sklearn-linear-regression",
                        [helper.make_node("MatMul", ["float_input", "coef"], ["raw"]), helper.make_node("Add", ["raw", "intercept"], ["variable"])],
                        [helper.make_tensor_value_info("float_input", TensorProto.FLOAT, ["N", 10])],
                        [helper.make_tensor_value_info("variable", TensorProto.FLOAT, ["N", 1])],
                        [tensor("coef", reg.coef_.reshape(-1, 1).astype(np.float32)), tensor("intercept", np.array([reg.intercept_], dtype=np.float32))],
                        "LinearRegression")
    save("sklearn-linear-regression", model, diabetes, version, f"{shaped}: convert_sklearn of a LinearRegression: float variable [N, 1]",
         ["--kind", "regression"], "regression", {"score": value})


# ---------------------------------------------------------------------------------------------------------------
# XGBoost: the TreeEnsembleClassifier graph onnxmltools writes, built by hand (onnxmltools is not packaged).
# ---------------------------------------------------------------------------------------------------------------

def xgboost_model(cancer):
    clf = xgboost.XGBClassifier(n_estimators=20, max_depth=3, learning_rate=0.3, random_state=0, tree_method="exact")
    clf.fit(cancer.x, cancer.y)
    booster = clf.get_booster()
    saved = json.loads(booster.save_raw("json"))
    learner = saved["learner"]
    base_score = float(learner["learner_model_param"]["base_score"])
    base_margin = float(np.log(base_score / (1 - base_score)))
    trees = learner["gradient_booster"]["model"]["trees"]

    attrs = {k: [] for k in ["nodes_treeids", "nodes_nodeids", "nodes_featureids", "nodes_modes", "nodes_values",
                             "nodes_truenodeids", "nodes_falsenodeids", "nodes_missing_value_tracks_true",
                             "class_treeids", "class_nodeids", "class_ids", "class_weights"]}
    for t, tree in enumerate(trees):
        left, right = tree["left_children"], tree["right_children"]
        for n in range(len(left)):
            attrs["nodes_treeids"].append(t)
            attrs["nodes_nodeids"].append(n)
            if left[n] == -1:
                attrs["nodes_featureids"].append(0)
                attrs["nodes_modes"].append("LEAF")
                attrs["nodes_values"].append(0.0)
                attrs["nodes_truenodeids"].append(0)
                attrs["nodes_falsenodeids"].append(0)
                attrs["nodes_missing_value_tracks_true"].append(0)
                attrs["class_treeids"].append(t)
                attrs["class_nodeids"].append(n)
                attrs["class_ids"].append(0)
                attrs["class_weights"].append(float(tree["split_conditions"][n]))  # a leaf's split condition is its value
            else:
                attrs["nodes_featureids"].append(int(tree["split_indices"][n]))
                attrs["nodes_modes"].append("BRANCH_LT")  # XGBoost goes left when x < threshold
                attrs["nodes_values"].append(float(tree["split_conditions"][n]))
                attrs["nodes_truenodeids"].append(left[n])
                attrs["nodes_falsenodeids"].append(right[n])
                attrs["nodes_missing_value_tracks_true"].append(int(tree["default_left"][n]))

    # The same trees walked in float32 as XGBoost walks them must give XGBoost's margins: proves the parse.
    x32 = cancer.sample.astype(np.float32)
    margins = np.full(len(x32), base_margin, dtype=np.float64)
    for tree in trees:
        for r, row in enumerate(x32):
            n = 0
            while tree["left_children"][n] != -1:
                threshold = np.float32(tree["split_conditions"][n])
                n = tree["left_children"][n] if row[tree["split_indices"][n]] < threshold else tree["right_children"][n]
            margins[r] += np.float32(tree["split_conditions"][n])
    expected_margin = booster.predict(xgboost.DMatrix(cancer.sample), output_margin=True)
    assert np.max(np.abs(margins - expected_margin)) < 1e-5, (margins, expected_margin)

    node = helper.make_node("TreeEnsembleClassifier", ["input"], ["label", "probabilities"], domain="ai.onnx.ml",
                            classlabels_int64s=[0, 1], post_transform="LOGISTIC", base_values=[base_margin], **attrs)
    model = graph_model("xgboost-binary", [node],
                        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 30])],
                        [helper.make_tensor_value_info("label", TensorProto.INT64, ["N"]),
                         helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 2])],
                        [], "XGBClassifier binary:logistic")
    model.producer_name = "make_models.py (onnxmltools-shaped)"
    p = clf.predict_proba(cancer.sample)[:, 1]
    save("xgboost-binary", model, cancer, f"xgboost {xgboost.__version__}",
         "graph built with onnx.helper as onnxmltools.convert_xgboost writes it: TreeEnsembleClassifier, int64 label + float probabilities [N, 2]",
         [], "binary", binary_outputs(p))


# ---------------------------------------------------------------------------------------------------------------
# Signatures the scorer cannot serve: `streammon models add` must refuse each with a message that names the fix.
# ---------------------------------------------------------------------------------------------------------------

def unsupported():
    folder = os.path.join(HERE, "unsupported")
    os.makedirs(folder, exist_ok=True)

    def write(name, nodes, inputs, outputs, initializers=()):
        model = graph_model(name, nodes, inputs, outputs, list(initializers), "a signature the scorer refuses")
        onnx.checker.check_model(model, full_check=True)
        onnx.save(model, os.path.join(folder, name + ".onnx"))

    f = TensorProto.FLOAT
    write("two-inputs", [helper.make_node("Add", ["a", "b"], ["score"])],
          [helper.make_tensor_value_info("a", f, ["N", 3]), helper.make_tensor_value_info("b", f, ["N", 3])],
          [helper.make_tensor_value_info("score", f, ["N", 3])])
    write("image-input", [helper.make_node("ReduceMean", ["pixels"], ["probability"], axes=[2, 3], keepdims=0)],
          [helper.make_tensor_value_info("pixels", f, ["N", 1, 4, 4])],
          [helper.make_tensor_value_info("probability", f, ["N", 1])])
    write("int64-input", [helper.make_node("Cast", ["codes"], ["as_float"], to=f), helper.make_node("ReduceMean", ["as_float"], ["probability"], axes=[1])],
          [helper.make_tensor_value_info("codes", TensorProto.INT64, ["N", 3])],
          [helper.make_tensor_value_info("probability", f, ["N", 1])])
    write("label-only", [helper.make_node("ArgMax", ["float_input"], ["label"], axis=1, keepdims=0)],
          [helper.make_tensor_value_info("float_input", f, ["N", 3])],
          [helper.make_tensor_value_info("label", TensorProto.INT64, ["N"])])
    write("two-score-outputs", [helper.make_node("Softmax", ["float_input"], ["probabilities"], axis=1),
                                helper.make_node("ReduceSum", ["float_input"], ["total"], keepdims=1)],
          [helper.make_tensor_value_info("float_input", f, ["N", 3])],
          [helper.make_tensor_value_info("probabilities", f, ["N", 3]), helper.make_tensor_value_info("total", f, ["N", 1])])
    write("output-3d", [helper.make_node("Reshape", ["float_input", "shape"], ["scores"])],
          [helper.make_tensor_value_info("float_input", f, ["N", 6])],
          [helper.make_tensor_value_info("scores", f, ["N", 2, 3])], [tensor("shape", np.array([-1, 2, 3], dtype=np.int64))])
    write("dynamic-width-output", [helper.make_node("Softmax", ["float_input"], ["probabilities"], axis=1)],
          [helper.make_tensor_value_info("float_input", f, ["N", "F"])],
          [helper.make_tensor_value_info("probabilities", f, ["N", "F"])])
    # Not a signature problem: it loads, and its outputs are NaN (log of a negative mean), so the scorer's warm-up fails.
    write("non-finite-output", [helper.make_node("ReduceMean", ["float_input"], ["total"], axes=[1], keepdims=1),
                                helper.make_node("Neg", ["total"], ["negated"]),
                                helper.make_node("Log", ["negated"], ["probability"])],
          [helper.make_tensor_value_info("float_input", f, ["N", 30])],
          [helper.make_tensor_value_info("probability", f, ["N", 1])])
    # Loads and passes every shape check, but ONNX Runtime fails to run it (30 columns cannot be reshaped into rows of 7).
    write("runtime-error", [helper.make_node("Reshape", ["float_input", "shape"], ["rows_of_7"]),
                            helper.make_node("ReduceMean", ["rows_of_7"], ["probability"], axes=[1], keepdims=1)],
          [helper.make_tensor_value_info("float_input", f, ["N", 30])],
          [helper.make_tensor_value_info("probability", f, ["N", 1])], [tensor("shape", np.array([-1, 7], dtype=np.int64))])
    print("unsupported: 9 models")


def main():
    cancer, iris, diabetes = load_data()
    torch_models(cancer, iris, diabetes)
    sklearn_models(cancer, iris, diabetes)
    xgboost_model(cancer)
    unsupported()


if __name__ == "__main__":
    main()

"""Notebooks of made-up students for tests/test_similarity.py: the template with its answer cells
filled in, each student in their own style.

`HONEST` students solved the same TODOs independently (different habits: a list or `.add`,
keyword or positional arguments, helper functions or none) and wrote their own answers.
`COPIER_A` has a style of their own; `copier_b()` is A's work passed on: variables and helpers
renamed, comments changed, cells moved (the builders swapped places, the P3 code moved to a cell
of its own at the end) and a few words of the answers changed.
"""
from __future__ import annotations

import copy
import re

import nbformat

FIT = "x_train, y_train, batch_size=BATCH_SIZE, epochs=EPOCHS, validation_data=(x_test, y_test)"

HONEST = {
    "ana": {
        "p3": "out = np.zeros((3, 3))\nfor r in range(3):\n    for c in range(3):\n"
              "        out[r, c] = (P3_INPUT[r:r+3, c:c+3] * P3_KERNEL).sum()\np3_output = out",
        "todo1": f"model_eta_large = define_model(1)\nhistory_eta_large = model_eta_large.fit({FIT})",
        "todo2": f"model_eta_small = define_model(0.00001)\n"
                 f"history_eta_small = model_eta_small.fit({FIT})",
        "todo3": "def define_model_with_momentum(learning_rate, momentum):\n"
                 "    net = keras.Sequential()\n    net.add(keras.Input((28, 28, 1)))\n"
                 "    net.add(layers.Conv2D(32, 3, activation='relu'))\n"
                 "    net.add(layers.MaxPooling2D(2))\n    net.add(layers.Flatten())\n"
                 "    net.add(layers.Dense(100, activation='relu'))\n"
                 "    net.add(layers.Dense(10, activation='softmax'))\n"
                 "    sgd = keras.optimizers.SGD(learning_rate, momentum)\n"
                 "    net.compile(sgd, 'categorical_crossentropy', ['accuracy'])\n    return net",
        "todo4": f"model_momentum = define_model_with_momentum(0.01, 0.9)\n"
                 f"history_momentum = model_momentum.fit({FIT})",
        "todo5": "def define_model_2_conv(learning_rate):\n    net = keras.Sequential()\n"
                 "    net.add(keras.Input((28, 28, 1)))\n"
                 "    for filters in (32, 64):\n"
                 "        net.add(layers.Conv2D(filters, 3, activation='relu'))\n"
                 "        net.add(layers.MaxPooling2D(2))\n    net.add(layers.Flatten())\n"
                 "    net.add(layers.Dense(100, activation='relu'))\n"
                 "    net.add(layers.Dense(10, activation='softmax'))\n"
                 "    net.compile(keras.optimizers.SGD(learning_rate), "
                 "'categorical_crossentropy', ['accuracy'])\n    return net",
        "todo6": f"model_2_layer = define_model_2_conv(0.01)\n"
                 f"history_2_layer = model_2_layer.fit({FIT})",
        "q1": "Training loss goes down every epoch and the accuracy goes up, quickly at first. "
              "Validation accuracy stays close to the training one so there is little "
              "overfitting after ten epochs.",
        "q2": "With a learning rate of 1 the steps are far too big and the network never "
              "learns, accuracy stays at chance. With 1e-5 the steps are tiny and after ten "
              "epochs it has barely moved from where it started.",
        "q3": "Momentum helps a lot: it reaches a better accuracy in fewer epochs because the "
              "updates keep going in the direction they were going.",
        "q4": "The two-conv network starts a bit slower but ends slightly better, it has fewer "
              "parameters in the dense layer because the feature maps are smaller.",
    },
    "ben": {
        "p3": "import itertools\np3_output = np.empty((3, 3))\n"
              "for i, j in itertools.product(range(3), range(3)):\n"
              "    p3_output[i][j] = np.vdot(P3_INPUT[i:i + 3, j:j + 3], P3_KERNEL)",
        "todo1": "model_eta_large = define_model(learning_rate=1.0)\n"
                 "history_eta_large = model_eta_large.fit(x_train, y_train, "
                 "validation_data=(x_test, y_test), epochs=EPOCHS, batch_size=BATCH_SIZE)",
        "todo2": "model_eta_small = define_model(learning_rate=1e-5)\n"
                 "history_eta_small = model_eta_small.fit(x_train, y_train, "
                 "validation_data=(x_test, y_test), epochs=EPOCHS, batch_size=BATCH_SIZE)",
        "todo3": "def define_model_with_momentum(learning_rate, momentum):\n"
                 "    inputs = keras.Input(shape=(28, 28, 1))\n"
                 "    x = layers.Conv2D(filters=32, kernel_size=(3, 3), activation='relu')(inputs)\n"
                 "    x = layers.MaxPool2D(pool_size=2)(x)\n    x = layers.Flatten()(x)\n"
                 "    x = layers.Dense(units=100, activation='relu')(x)\n"
                 "    outputs = layers.Dense(units=10, activation='softmax')(x)\n"
                 "    m = keras.Model(inputs, outputs)\n"
                 "    opt = keras.optimizers.SGD(learning_rate=learning_rate, momentum=momentum)\n"
                 "    m.compile(optimizer=opt, loss=keras.losses.CategoricalCrossentropy(), "
                 "metrics=['accuracy'])\n    return m",
        "todo4": "model_momentum = define_model_with_momentum(learning_rate=0.01, momentum=0.9)\n"
                 "history_momentum = model_momentum.fit(x_train, y_train, "
                 "validation_data=(x_test, y_test), epochs=EPOCHS, batch_size=BATCH_SIZE)",
        "todo5": "def define_model_2_conv(learning_rate):\n"
                 "    inputs = keras.Input(shape=(28, 28, 1))\n"
                 "    x = layers.Conv2D(filters=32, kernel_size=(3, 3), activation='relu')(inputs)\n"
                 "    x = layers.MaxPool2D(pool_size=2)(x)\n"
                 "    x = layers.Conv2D(filters=64, kernel_size=(3, 3), activation='relu')(x)\n"
                 "    x = layers.MaxPool2D(pool_size=2)(x)\n    x = layers.Flatten()(x)\n"
                 "    x = layers.Dense(units=100, activation='relu')(x)\n"
                 "    outputs = layers.Dense(units=10, activation='softmax')(x)\n"
                 "    m = keras.Model(inputs, outputs)\n"
                 "    m.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate), "
                 "loss=keras.losses.CategoricalCrossentropy(), metrics=['accuracy'])\n"
                 "    return m",
        "todo6": "model_2_layer = define_model_2_conv(learning_rate=0.01)\n"
                 "history_2_layer = model_2_layer.fit(x_train, y_train, "
                 "validation_data=(x_test, y_test), epochs=EPOCHS, batch_size=BATCH_SIZE)",
        "q1": "Both curves improve fast in epoch one and then flatten. I see the validation "
              "loss level off around epoch 6 while the training loss keeps dropping, a first "
              "hint of overfitting.",
        "q2": "eta = 1 diverges into a useless model (10% accuracy, loss about ln 10). "
              "eta = 1e-5 is stable but so slow that the loss hardly changes: too small.",
        "q3": "Yes. SGD with momentum converges faster and gets a lower training loss; the "
              "validation curve is a little noisier.",
        "q4": "Adding the second convolution gives a higher validation accuracy in the end, "
              "although the first epoch is worse. More features, fewer weights.",
    },
    "chen": {
        "p3": "p3_output = np.array([[float(np.sum(P3_INPUT[a:a+3, b:b+3] * P3_KERNEL)) "
              "for b in range(3)] for a in range(3)])",
        "todo1": "def run(lr):\n    m = define_model(lr)\n    return m, m.fit(" + FIT + ")\n\n"
                 "model_eta_large, history_eta_large = run(1)",
        "todo2": "model_eta_small, history_eta_small = run(1e-5)",
        "todo3": "def define_model_with_momentum(learning_rate, momentum):\n"
                 "    model = keras.Sequential([\n"
                 "        layers.Conv2D(32, (3, 3), activation=\"relu\", input_shape=(28, 28, 1)),\n"
                 "        layers.MaxPooling2D((2, 2)),\n        layers.Flatten(),\n"
                 "        layers.Dense(100, activation=\"relu\"),\n"
                 "        layers.Dense(10, activation=\"softmax\")])\n"
                 "    model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate, "
                 "momentum=momentum), loss=\"categorical_crossentropy\", metrics=[\"accuracy\"])\n"
                 "    return model",
        "todo4": "model_momentum = define_model_with_momentum(0.01, 0.9)\n"
                 "history_momentum = model_momentum.fit(" + FIT + ")",
        "todo5": "def define_model_2_conv(learning_rate):\n"
                 "    model = keras.Sequential([\n"
                 "        layers.Conv2D(32, (3, 3), activation=\"relu\", input_shape=(28, 28, 1)),\n"
                 "        layers.MaxPooling2D((2, 2)),\n"
                 "        layers.Conv2D(64, (3, 3), activation=\"relu\"),\n"
                 "        layers.MaxPooling2D((2, 2)),\n        layers.Flatten(),\n"
                 "        layers.Dense(100, activation=\"relu\"),\n"
                 "        layers.Dense(10, activation=\"softmax\")])\n"
                 "    model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate), "
                 "loss=\"categorical_crossentropy\", metrics=[\"accuracy\"])\n    return model",
        "todo6": "model_2_layer = define_model_2_conv(0.01)\n"
                 "history_2_layer = model_2_layer.fit(" + FIT + ")",
        "q1": "The model fits MNIST well: 98% on the test images after 10 epochs. The gap "
              "between train and validation grows slowly, so it starts overfitting a little.",
        "q2": "Too large (1): the loss explodes or stalls and the accuracy is 0.1. Too small "
              "(0.00001): learning is extremely slow. 0.01 sits in between and works.",
        "q3": "The momentum run is clearly better early on, e.g. after epoch 1 it is already "
              "above 92%, and it keeps a lead until the end.",
        "q4": "Two conv layers: slightly better test accuracy, slower per epoch, and less "
              "overfitting than the single conv layer.",
    },
}

COPIER_A = {
    "p3": "def conv_valid(img, ker):\n    kr, kc = ker.shape\n"
          "    rows, cols = img.shape[0] - kr + 1, img.shape[1] - kc + 1\n"
          "    res = np.zeros((rows, cols))\n    for rr in range(rows):\n"
          "        for cc in range(cols):\n"
          "            window = img[rr:rr + kr, cc:cc + kc]\n"
          "            res[rr, cc] = np.sum(np.multiply(window, ker))\n    return res\n\n"
          "p3_output = conv_valid(P3_INPUT, P3_KERNEL)",
    "todo1": "def train_and_plot(lr_value, builder=None, **extra):\n"
             "    \"\"\"build with the builder, fit with the notebook settings, return both\"\"\"\n"
             "    builder = builder or define_model\n"
             "    net = builder(lr_value, **extra)\n"
             "    hist = net.fit(x_train, y_train, epochs=EPOCHS, batch_size=BATCH_SIZE,\n"
             "                   validation_data=(x_test, y_test), verbose=2)\n"
             "    print('final val acc', round(hist.history['val_accuracy'][-1], 4))\n"
             "    return net, hist\n\n"
             "model_eta_large, history_eta_large = train_and_plot(1.0)",
    "todo2": "model_eta_small, history_eta_small = train_and_plot(0.00001)",
    "todo3": "def define_model_with_momentum(learning_rate, momentum):\n"
             "    stack = [keras.Input(shape=(28, 28, 1)),\n"
             "             layers.Conv2D(32, kernel_size=3, activation='relu', name='conv_a'),\n"
             "             layers.MaxPooling2D(pool_size=2, name='pool_a'),\n"
             "             layers.Flatten(name='flat'),\n"
             "             layers.Dense(100, activation='relu', name='hidden'),\n"
             "             layers.Dense(10, activation='softmax', name='probs')]\n"
             "    mdl = keras.Sequential(stack, name='momentum_cnn')\n"
             "    mdl.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate,\n"
             "                                               momentum=momentum, nesterov=False),\n"
             "                loss='categorical_crossentropy', metrics=['accuracy'])\n"
             "    return mdl",
    "todo4": "model_momentum, history_momentum = train_and_plot(\n"
             "    0.01, builder=define_model_with_momentum, momentum=0.9)",
    "todo5": "def define_model_2_conv(learning_rate):\n"
             "    stack = [keras.Input(shape=(28, 28, 1)),\n"
             "             layers.Conv2D(32, kernel_size=3, activation='relu', name='conv_a'),\n"
             "             layers.MaxPooling2D(pool_size=2, name='pool_a'),\n"
             "             layers.Conv2D(64, kernel_size=3, activation='relu', name='conv_b'),\n"
             "             layers.MaxPooling2D(pool_size=2, name='pool_b'),\n"
             "             layers.Flatten(name='flat'),\n"
             "             layers.Dense(100, activation='relu', name='hidden'),\n"
             "             layers.Dense(10, activation='softmax', name='probs')]\n"
             "    mdl = keras.Sequential(stack, name='two_conv_cnn')\n"
             "    mdl.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate),\n"
             "                loss='categorical_crossentropy', metrics=['accuracy'])\n"
             "    return mdl",
    "todo6": "model_2_layer, history_2_layer = train_and_plot(0.01, builder=define_model_2_conv)",
    "q1": "The training accuracy climbs from about 0.87 to 0.98 and the validation accuracy "
          "tracks it closely the whole time, which tells us the network generalises; the "
          "validation loss bottoms out near epoch 7 and creeps up afterwards, the classic "
          "sign that overfitting is about to begin.",
    "q2": "A learning rate of 1 overshoots every minimum so the weights bounce around and "
          "the accuracy is stuck near ten percent, the same as guessing. A learning rate of "
          "1e-5 moves the weights so little that after ten epochs the curves are almost flat.",
    "q3": "Momentum accumulates a velocity from past gradients, so consistent directions are "
          "amplified and oscillations cancel out; in our plots the momentum model reaches "
          "in two epochs what plain SGD needs all ten for.",
    "q4": "The deeper network extracts more abstract features and its Flatten output is much "
          "smaller, so the dense layer has fewer weights; it ends with the best validation "
          "accuracy of all our runs and overfits less.",
}

RENAMES = {"conv_valid": "sliding_product", "img": "picture", "ker": "filt", "kr": "fh",
           "kc": "fw", "res": "result", "rr": "y", "cc": "x", "window": "patch",
           "train_and_plot": "fit_one", "lr_value": "rate", "builder": "make", "extra": "kw",
           "net": "clf", "hist": "h", "stack": "layer_list", "mdl": "cnn"}


def copier_b() -> dict:
    """A's work, renamed, re-commented, moved around and lightly reworded."""
    work = {}
    for key, text in COPIER_A.items():
        if key.startswith("q"):
            work[key] = (text.replace("tells us", "shows").replace("classic", "usual")
                         .replace("in our plots", "in the plots"))
        else:
            work[key] = re.sub(r"\b(\w+)\b", lambda m: RENAMES.get(m.group(1), m.group(1)), text)
    work["todo1"] = "# my helper\n" + work["todo1"].replace(
        '"""build with the builder, fit with the notebook settings, return both"""',
        "# builds and trains")
    work["todo3"], work["todo5"] = work["todo5"], work["todo3"]  # each builder in the other cell
    return work


def _is_answer_cell(cell) -> bool:
    return "otter_answer_cell" in (cell.metadata.get("tags") or [])


def notebook(template, work: dict, moved_p3: bool = False):
    """The template with each answer cell of question q replaced by work[q]."""
    nb = copy.deepcopy(template)
    for cell in nb.cells:
        question = (cell.metadata.get("hw5") or {}).get("question")
        if _is_answer_cell(cell) and question in work:
            cell.source = work[question]
    if moved_p3:  # the P3 code in a cell of its own at the end, its answer cell left as given
        p3 = next(c for c in nb.cells if _is_answer_cell(c)
                  and (c.metadata.get("hw5") or {}).get("question") == "p3")
        p3.source = next(c for c in template.cells if c.get("id") == p3.get("id")).source
        nb.cells.append(nbformat.v4.new_code_cell(work["p3"]))
    return nb

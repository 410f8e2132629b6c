"""The answer key: the reference's layers behind the book's names and signatures.

Each class and function here has the book's signature (DESIGN.md, "The book's interface") and a
short docstring with its shapes; its body hands the work to the reference (``reference``). Three
things are made from it:

- the starter file of ``cnn-parity exercise`` (``reports.classroom.exercise``): the same names,
  signatures and docstrings, each body replaced by ``raise NotImplementedError`` and a hint;
- the failure signatures of the bug zoo (``reports.classroom.signatures``): this file is the
  "student" in which each bug is planted, graded by the very code that grades a student;
- the test that a starter file with these bodies pasted in passes ``cnn-parity check``.

So every body is written as a student's would be, in terms of the names above it: ``SimpleConvNet``
builds its layers from this file's ``Convolution``, ``Relu``, ... (a variant that replaces one of
them is seen by the network too). ``METHOD`` picks the reference's path for ``Convolution`` and
``Pooling``: "book" (im2col/col2im, the path a student writes) by default.
"""
from collections import OrderedDict

import numpy as np

import reference as R
from reference import optimizer as O

#: The reference's path for Convolution and Pooling ("book": im2col/col2im; "fast").
METHOD = "book"


def im2col(input_data, filter_h, filter_w, stride=1, pad=0):
    """Unroll every filter window of a batch of images into one row.

    input_data (N, C, H, W) -> col (N·OH·OW, C·FH·FW): rows in (n, oh, ow) order, columns in
    (c, fh, fw) order; OH = (H + 2·pad − FH) // stride + 1, OW alike. Padding is zeros.
    """
    return R.im2col(input_data, filter_h, filter_w, stride, pad)


def col2im(col, input_shape, filter_h, filter_w, stride=1, pad=0):
    """The adjoint of im2col: add every row of col back into the window it came from.

    col (N·OH·OW, C·FH·FW), input_shape (N, C, H, W) -> img (N, C, H, W); where windows overlap,
    their values add up; the padding is cut off.
    """
    return R.col2im(col, input_shape, filter_h, filter_w, stride, pad)


class Convolution:
    """Convolution (cross-correlation, as in every framework) via im2col.

    W (FN, C, FH, FW), b (FN,)
    forward   x (N, C, H, W) -> out (N, FN, OH, OW)
    backward  dout (N, FN, OH, OW) -> dx (N, C, H, W); sets dW (FN, C, FH, FW), db (FN,)
    """

    def __init__(self, W, b, stride=1, pad=0):
        """Keep W, b, stride, pad; dW and db start as None."""
        self.W, self.b, self.stride, self.pad = W, b, stride, pad
        self.dW = self.db = None

    def forward(self, x):
        """x (N, C, H, W) -> out (N, FN, OH, OW); keeps what backward needs."""
        self.layer = R.Convolution(self.W, self.b, self.stride, self.pad, method=METHOD)
        return self.layer.forward(x)

    def backward(self, dout):
        """dout (N, FN, OH, OW) -> dx (N, C, H, W); sets dW and db."""
        dx = self.layer.backward(dout)
        self.dW, self.db = self.layer.dW, self.layer.db
        return dx


class Pooling:
    """Max pooling: each window's largest value; its gradient goes to where that value was.

    forward   x (N, C, H, W) -> out (N, C, OH, OW)
    backward  dout (N, C, OH, OW) -> dx (N, C, H, W)
    Padding never wins (it acts as −inf); ties go to the first maximum, as in PyTorch.
    """

    def __init__(self, pool_h, pool_w, stride=1, pad=0):
        """Keep the window size, stride and pad."""
        self.pool_h, self.pool_w, self.stride, self.pad = pool_h, pool_w, stride, pad

    def forward(self, x):
        """x (N, C, H, W) -> out (N, C, OH, OW); keeps where each maximum was."""
        self.layer = R.Pooling(self.pool_h, self.pool_w, self.stride, self.pad, method=METHOD)
        return self.layer.forward(x)

    def backward(self, dout):
        """dout (N, C, OH, OW) -> dx (N, C, H, W), each gradient at its window's maximum."""
        return self.layer.backward(dout)


class Relu:
    """ReLU: max(x, 0). forward x -> out (same shape); backward dout -> dx (0 where x <= 0)."""

    def __init__(self):
        """Nothing to keep yet."""
        self.layer = R.Relu()

    def forward(self, x):
        """x (any shape) -> out (same shape); keeps where x <= 0."""
        return self.layer.forward(x)

    def backward(self, dout):
        """dout -> dx: dout where x > 0, else 0."""
        return self.layer.backward(dout)


class Sigmoid:
    """Logistic sigmoid 1 / (1 + e^−x). forward x -> out (same shape); backward dout -> dx."""

    def __init__(self):
        """Nothing to keep yet."""
        self.layer = R.Sigmoid()

    def forward(self, x):
        """x (any shape) -> out (same shape); keeps out."""
        return self.layer.forward(x)

    def backward(self, dout):
        """dout -> dx = dout · out · (1 − out)."""
        return self.layer.backward(dout)


class Affine:
    """Fully connected layer, the book's layout: W is (in, out).

    W (D, M), b (M,)
    forward   x (N, D) or (N, C, H, W) with C·H·W = D (flattened) -> out (N, M)
    backward  dout (N, M) -> dx (shape of x); sets dW (D, M), db (M,)
    """

    def __init__(self, W, b):
        """Keep W and b; dW and db start as None."""
        self.W, self.b = W, b
        self.dW = self.db = None

    def forward(self, x):
        """x (N, ...) -> out (N, M) = x flattened @ W + b; keeps x."""
        self.layer = R.Affine(self.W, self.b)
        return self.layer.forward(x)

    def backward(self, dout):
        """dout (N, M) -> dx (shape of x); sets dW = xᵀ·dout and db = Σ dout."""
        dx = self.layer.backward(dout)
        self.dW, self.db = self.layer.dW, self.layer.db
        return dx


class SoftmaxWithLoss:
    """Softmax and the cross-entropy loss, averaged over the batch.

    forward(x, t)   x (N, C) scores, t labels (N,) or one-hot (N, C) -> loss (a scalar)
    backward(dout=1) -> dx (N, C) = (softmax(x) − one-hot t) / N
    """

    def __init__(self):
        """Nothing to keep yet."""
        self.layer = R.SoftmaxWithLoss()

    def forward(self, x, t):
        """x (N, C), t (N,) or (N, C) -> the mean cross-entropy; keeps softmax(x) and t."""
        return self.layer.forward(x, t)

    def backward(self, dout=1):
        """-> dx (N, C) = (y − t) / N."""
        return self.layer.backward(dout)


class Dropout:
    """Dropout, PyTorch's (inverted) convention: units kept with probability 1 − p are scaled by
    1 / (1 − p) in training; inference is the identity.

    forward(x, train_flg=True)  x -> out (same shape); backward dout -> dx (same shape)
    """

    def __init__(self, dropout_ratio=0.5):
        """Keep the dropout ratio p."""
        self.layer = R.Dropout(dropout_ratio, rng=np.random.default_rng(0))

    def forward(self, x, train_flg=True):
        """x -> out: in training x · mask / (1 − p) with a new random mask, else x."""
        return self.layer.forward(x, train_flg)

    def backward(self, dout):
        """dout -> dx: dout · mask / (1 − p) after training, dout after inference."""
        return self.layer.backward(dout)


class SimpleConvNet:
    """conv - relu - pool - affine - relu - affine - softmax, the book's network of §7.5.

    params   W1 (FN, C, FS, FS), b1 (FN,), W2 (FN·PH·PW, hidden), b2 (hidden,),
             W3 (hidden, output_size), b3 (output_size,); PH, PW: the pooled height and width
    layers   Conv1, Relu1, Pool1 (2×2, stride 2), Affine1, Relu2, Affine2 (an OrderedDict);
             last_layer: SoftmaxWithLoss
    conv_param: {'filter_num': 30, 'filter_size': 5, 'pad': 0, 'stride': 1} when None
    """

    def __init__(self, input_dim=(1, 28, 28), conv_param=None, hidden_size=100, output_size=10,
                 weight_init_std=0.01):
        """Make params (weights ~ weight_init_std · N(0, 1), zero biases) and the layers."""
        cp = conv_param or {'filter_num': 30, 'filter_size': 5, 'pad': 0, 'stride': 1}
        fn, fs, pad, stride = cp['filter_num'], cp['filter_size'], cp['pad'], cp['stride']
        C, H, W = input_dim
        oh, ow = (H + 2 * pad - fs) // stride + 1, (W + 2 * pad - fs) // stride + 1
        rng = np.random.default_rng(0)
        self.params = {'W1': weight_init_std * rng.standard_normal((fn, C, fs, fs)), 'b1': np.zeros(fn),
                       'W2': weight_init_std * rng.standard_normal((fn * (oh // 2) * (ow // 2), hidden_size)),
                       'b2': np.zeros(hidden_size),
                       'W3': weight_init_std * rng.standard_normal((hidden_size, output_size)),
                       'b3': np.zeros(output_size)}
        self.layers = OrderedDict()
        self.layers['Conv1'] = Convolution(self.params['W1'], self.params['b1'], stride, pad)
        self.layers['Relu1'] = Relu()
        self.layers['Pool1'] = Pooling(2, 2, stride=2)
        self.layers['Affine1'] = Affine(self.params['W2'], self.params['b2'])
        self.layers['Relu2'] = Relu()
        self.layers['Affine2'] = Affine(self.params['W3'], self.params['b3'])
        self.last_layer = SoftmaxWithLoss()

    def predict(self, x):
        """x (N, C, H, W) -> scores (N, output_size): every layer's forward in turn."""
        for layer in self.layers.values():
            x = layer.forward(x)
        return x

    def loss(self, x, t):
        """x (N, C, H, W), t (N,) or (N, output_size) -> the loss."""
        return self.last_layer.forward(self.predict(x), t)

    def accuracy(self, x, t, batch_size=100):
        """The fraction of x whose largest score is its label."""
        t = np.argmax(t, axis=1) if t.ndim != 1 else t
        hits = sum(int(np.sum(np.argmax(self.predict(x[i:i + batch_size]), axis=1) == t[i:i + batch_size]))
                   for i in range(0, len(x), batch_size))
        return hits / len(x)

    def gradient(self, x, t):
        """-> grads, a dict like params: forward, then every layer's backward in reverse order."""
        self.loss(x, t)
        dout = self.last_layer.backward(1)
        for layer in reversed(self.layers.values()):
            dout = layer.backward(dout)
        grads = {}
        for i, name in enumerate(('Conv1', 'Affine1', 'Affine2'), start=1):
            grads['W%d' % i], grads['b%d' % i] = self.layers[name].dW, self.layers[name].db
        return grads


class SGD:
    """Stochastic gradient descent: p ← p − lr·g for every array of params, in place."""

    def __init__(self, lr=0.01):
        """Keep the learning rate."""
        self.opt = O.SGD(lr)

    def update(self, params, grads):
        """params, grads: dicts name -> array; updates the arrays of params in place."""
        self.opt.update(params, grads)


class Momentum:
    """SGD with momentum, PyTorch's form: v ← μ·v + g (v = g at the first step), p ← p − lr·v."""

    def __init__(self, lr=0.01, momentum=0.9):
        """Keep lr and μ; one buffer v per key of params, made at the first update."""
        self.opt = O.Momentum(lr, momentum)

    def update(self, params, grads):
        """params, grads: dicts name -> array; updates the arrays of params in place."""
        self.opt.update(params, grads)


class AdaGrad:
    """AdaGrad, PyTorch's form: h ← h + g², p ← p − lr·g / (√h + eps), eps = 1e-10."""

    def __init__(self, lr=0.01):
        """Keep lr; one accumulator h per key of params, zeros at the first update."""
        self.opt = O.AdaGrad(lr)

    def update(self, params, grads):
        """params, grads: dicts name -> array; updates the arrays of params in place."""
        self.opt.update(params, grads)


class Adam:
    """Adam, PyTorch's form: m ← β1·m + (1 − β1)·g, v ← β2·v + (1 − β2)·g²,
    p ← p − lr/(1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + eps), eps = 1e-8, t the step count."""

    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999):
        """Keep lr, β1, β2; m and v per key of params (zeros), and the step count."""
        self.opt = O.Adam(lr, beta1, beta2)

    def update(self, params, grads):
        """params, grads: dicts name -> array; updates the arrays of params in place."""
        self.opt.update(params, grads)

"""Speed of lstm_ref.fast's NumPy LSTM against Keras' compiled LSTM (prints a table).

Not a test: it measures, prints medians and ratios, and marks each speed goal of the
optimised implementation ``lstm_ref.fast`` as met or missed:

* forward / compiled Keras forward   <= 1.0  (the faster of ``tf.function`` with and
  without ``jit_compile=True``; both are shown)
* forward / its own matrix products  <= 2.5  (the input projection and the recurrent
  product of all T steps, which lstm_ref.fast.lstm_forward computes as one product per
  step, timed alone: the ratio is what the Python loop and the elementwise work add)
* backward / forward                 <= 2.0

The plain reference ``lstm_ref.lstm_forward`` / ``lstm_backward`` (written to be read, not
to be fast) is timed beside it, for scale; it has no speed goal.

Every figure is the median of ``--repeat`` runs taken round-robin (one run of each
variant per round, after warm-up), so a change in machine load hits all variants alike.
The BLAS thread count and the load average are printed beside the figures: on a shared
2-core machine they matter more than anything else (OpenBLAS with 2 threads on busy cores
can be several times slower than with 1).

Usage::

    python benchmarks/bench_lstm.py                 # NumPy/BLAS and TF use their defaults
    python benchmarks/bench_lstm.py --threads 1     # limit NumPy's BLAS (threadpoolctl)
    python benchmarks/bench_lstm.py --threads 1 --tf-threads 1   # both single-threaded
    python benchmarks/bench_lstm.py --no-keras      # NumPy only, no TensorFlow import
    python benchmarks/bench_lstm.py --no-plain      # skip the plain reference
    python benchmarks/bench_lstm.py --threads 1 --tf-threads 1 --clock cpu   # busy machine
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import lstm_ref

#: (N, T, D, H): a typical text-model layer, and a long univariate series.
CONFIGS = [(64, 100, 32, 128), (32, 500, 1, 64)]
GOALS = {"fwd/keras": 1.0, "fwd/matmul": 2.5, "bwd/fwd": 2.0}
LABELS = {"fwd/keras": "fast forward / best compiled keras",
          "fwd/matmul": "fast forward / its matmuls",
          "bwd/fwd": "fast backward / fast forward"}


def measure(variants: dict[str, Callable[[], object]], repeat: int, warmup: int = 3,
            clock: Callable[[], float] = time.perf_counter):
    """Median seconds of each variant, timed round-robin after ``warmup`` calls each."""
    for fn in variants.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(repeat):
        for name, fn in variants.items():
            t0 = clock()
            fn()
            times[name].append(clock() - t0)
    return {name: statistics.median(ts) for name, ts in times.items()}


def blas_description() -> str:
    libs = [f"{d['internal_api']} {d.get('version') or ''} ({d['num_threads']} thread"
            f"{'s' if d['num_threads'] != 1 else ''}, {Path(d['filepath']).name})"
            for d in threadpool_info() if d["user_api"] == "blas"]
    return "; ".join(libs) or "none found"


def numpy_variants(N, T, D, H, rng, plain=True):
    x = rng.standard_normal((N, T, D)).astype(np.float32)
    W, U, b = lstm_ref.init_weights("lstm", D, H, rng=rng)
    hs, cache = lstm_ref.fast.lstm_forward(x, W, U, b)
    dhs = rng.standard_normal(hs.shape).astype(np.float32)
    # The products fast.lstm_forward computes, in its layout (see its Notes): one per step,
    # [W^T | b | U^T] (4H, D + 1 + H) times [x_t; 1; h_{t-1}] (D + 1 + H, N).
    WbU_T = np.ascontiguousarray(np.concatenate([W, b[None], U]).T)
    xh = rng.standard_normal((T, D + 1 + H, N)).astype(np.float32)
    a = np.empty((4 * H, N), dtype=np.float32)

    def matmuls():
        for t in range(T):
            np.matmul(WbU_T, xh[t], out=a)

    variants = {
        "fast forward": lambda: lstm_ref.fast.lstm_forward(x, W, U, b),
        "fast backward": lambda: lstm_ref.fast.lstm_backward(dhs, cache),
        "fast's matmuls only": matmuls,
    }
    if plain:
        _, plain_cache = lstm_ref.lstm_forward(x, W, U, b)
        variants["plain forward (lstm_ref.lstm_forward)"] = lambda: lstm_ref.lstm_forward(
            x, W, U, b)
        variants["plain backward (lstm_ref.lstm_backward)"] = lambda: lstm_ref.lstm_backward(
            dhs, plain_cache)
    return x, (W, U, b), variants


def keras_variants(x, weights, H):
    import keras
    import tensorflow as tf

    N, T, D = x.shape
    layer = keras.layers.LSTM(H, return_sequences=True)
    layer.build((None, T, D))
    layer.set_weights(list(weights))
    model = keras.Sequential([keras.Input((T, D)), layer])
    xt = tf.constant(x)
    def call(a):
        return layer(a)

    plain = tf.function(call)
    jit = tf.function(call, jit_compile=True)
    err = float(np.abs(jit(xt).numpy() - lstm_ref.fast.lstm_forward(x, *weights)[0]).max())
    variants = {
        "keras tf.function": lambda: plain(xt).numpy(),
        "keras tf.function(jit_compile=True)": lambda: jit(xt).numpy(),
        "keras model.predict": lambda: model.predict(x, batch_size=N, verbose=0),
    }
    return variants, err


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=None,
                        help="limit NumPy's BLAS to this many threads (threadpoolctl)")
    parser.add_argument("--tf-threads", type=int, default=None,
                        help="limit TensorFlow's intra- and inter-op threads")
    parser.add_argument("--repeat", type=int, default=21, help="timed runs per variant")
    parser.add_argument("--no-keras", action="store_true", help="skip TensorFlow/Keras")
    parser.add_argument("--no-plain", action="store_true",
                        help="skip the plain reference lstm_ref.lstm_forward/backward")
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                        help="wall: time.perf_counter (default); cpu: time.process_time, "
                             "CPU seconds of the whole process, which a busy machine "
                             "disturbs less; meaningful with --threads 1 --tf-threads 1")
    args = parser.parse_args(argv)

    if args.threads is not None:
        threadpool_limits(limits=args.threads, user_api="blas")
    tf_note = tf_threads = "not run"
    if not args.no_keras:
        import tensorflow as tf

        if args.tf_threads is not None:
            tf.config.threading.set_intra_op_parallelism_threads(args.tf_threads)
            tf.config.threading.set_inter_op_parallelism_threads(args.tf_threads)
        intra = tf.config.threading.get_intra_op_parallelism_threads()
        tf_threads = f"{intra} intra-op" if intra else f"default ({os.cpu_count()})"
        tf_note = (f"TensorFlow {tf.__version__}, intra-op threads "
                   f"{intra or f'default ({os.cpu_count()})'}")

    print(f"lstm_ref {lstm_ref.__version__}, NumPy {np.__version__}, Python "
          f"{platform.python_version()}, {os.cpu_count()} CPUs")
    print(f"BLAS: {blas_description()}")
    print(f"Keras side: {tf_note}")
    load0 = os.getloadavg()
    print(f"load average at start: {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}")
    clock = time.perf_counter if args.clock == "wall" else time.process_time
    print(f"medians of {args.repeat} round-robin runs, float32, milliseconds of "
          f"{'wall-clock' if args.clock == 'wall' else 'process CPU'} time\n")

    rows = []
    for N, T, D, H in CONFIGS:
        rng = np.random.default_rng(0)
        x, weights, variants = numpy_variants(N, T, D, H, rng, plain=not args.no_plain)
        err = None
        if not args.no_keras:
            kv, err = keras_variants(x, weights, H)
            variants.update(kv)
        med = measure(variants, args.repeat, clock=clock)
        rows.append(((N, T, D, H), med, err))

    width = max(len(name) for _, med, _ in rows for name in (*med, *LABELS.values())) + 2
    blas_threads = ",".join(str(d["num_threads"]) for d in threadpool_info()
                            if d["user_api"] == "blas")
    for (N, T, D, H), med, err in rows:
        print(f"(N, T, D, H) = ({N}, {T}, {D}, {H})   [NumPy BLAS threads: {blas_threads}; "
              f"TF: {tf_threads}]")
        for name, sec in med.items():
            print(f"  {name:<{width}} {1e3 * sec:9.2f}")
        if err is not None:
            print(f"  {'max |fast - keras| of hs':<{width}} {err:9.1e}")
        fwd = med["fast forward"]
        ratios = {"fwd/matmul": fwd / med["fast's matmuls only"],
                  "bwd/fwd": med["fast backward"] / fwd}
        if not args.no_plain:
            for step in ("forward", "backward"):
                sec = next(v for k, v in med.items() if k.startswith(f"plain {step}"))
                print(f"  {f'plain {step} / fast {step}':<{width}} "
                      f"{sec / med[f'fast {step}']:9.2f}")
        if err is not None:
            compiled = min(med["keras tf.function"],
                           med["keras tf.function(jit_compile=True)"])
            ratios["fwd/keras"] = fwd / compiled
            print(f"  {'fast forward / keras tf.function':<{width}} "
                  f"{fwd / med['keras tf.function']:9.2f}")
            print(f"  {'fast forward / keras jit':<{width}} "
                  f"{fwd / med['keras tf.function(jit_compile=True)']:9.2f}")
        for key in ("fwd/keras", "fwd/matmul", "bwd/fwd"):
            if key in ratios:
                goal = GOALS[key]
                mark = "met" if ratios[key] <= goal else "MISSED"
                print(f"  {LABELS[key]:<{width}} {ratios[key]:9.2f}   goal <= {goal}: {mark}")
        print()
    load1 = os.getloadavg()
    print(f"load average at end: {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}; "
          f"BLAS: {blas_description()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

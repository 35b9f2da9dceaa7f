#!/usr/bin/env bash
# Measure zoo's training-speed options on the real data, one at a time (nothing else should be running),
# and save each for `zoo results`. Usage: bash benchmarks/speed_options.sh
set -euo pipefail
out=benchmarks/results
mkdir -p "$out"
zoo bench lenet5 --dataset mnist --save "$out/bench_lenet5_mnist.json"
zoo bench lenet5 --dataset mnist --jit --save "$out/bench_lenet5_mnist_jit.json"
zoo bench lenet5 --dataset mnist --batch-size 128 --save "$out/bench_lenet5_mnist_b128.json"
zoo bench lenet5 --dataset mnist --steps-per-execution 8 --save "$out/bench_lenet5_mnist_spe8.json"
TF_ENABLE_ONEDNN_OPTS=0 zoo bench lenet5 --dataset mnist --save "$out/bench_lenet5_mnist_eigen.json"
zoo bench mlp --dataset mnist --save "$out/bench_mlp_mnist.json"
zoo bench cifar_cnn --dataset cifar10 --steps 10 --save "$out/bench_cifar_cnn_cifar10.json"
python benchmarks/threads.py --rounds 2 --save "$out/threads_lenet5.json"

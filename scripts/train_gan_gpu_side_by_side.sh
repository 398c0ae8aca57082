#!/bin/bash
# Four Fashion-MNIST GAN recipes trained side by side on one CUDA GPU for the same wall time: how
# runs/gan_gpu_eq/ (benchmarks/gan_quality.py) and the shipped fmnist_cgan.safetensors were made.
#
#   BUDGET=450 bash scripts/train_gan_gpu_side_by_side.sh            # first call: 450 s each
#   BUDGET=690 bash scripts/train_gan_gpu_side_by_side.sh            # again: each run resumes to 690 s
#
# A small GAN leaves a GPU mostly idle (each step is many tiny kernels), so four processes share it
# well; each gets 2 CPU threads. Float32: on a GPU, bf16 casts only add kernels to a launch-bound
# step. Ship the best with scripts/train_gan.py --out RUN --no-train --ship --ship-float16.
set -u
PY=${PY:-.venv/bin/python}; DEVICE=${DEVICE:-cuda}; BUDGET=${BUDGET:-450}; RUNS=${RUNS:-runs/gan_gpu_eq}
mkdir -p "$RUNS"
run() {
  name=$1; shift
  "$PY" scripts/train_gan.py --out "$RUNS/$name" --steps 1000000 --time-budget "$BUDGET" --threads 2 --no-bf16 \
    --device "$DEVICE" --checkpoint-every 4000 --no-eval "$@" >> "$RUNS/$name.log" 2>&1
  echo "$name: exit $?, log $RUNS/$name.log"
}
run wide_b128 --g-channels 256,128,64 --d-channels 64,128,256 --batch-size 128 &
run wide_b256 --g-channels 256,128,64 --d-channels 64,128,256 --batch-size 256 &
run mid_b64 --g-channels 192,96,48 --d-channels 48,96,192 --batch-size 64 &
run base_b64 --batch-size 64 &
wait

//! HdrHistogram record and merge: what each load worker does per sample and
//! what the end of a run does per worker (DESIGN.md "Measurement rules").

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use hdrhistogram::Histogram;

/// Microsecond latencies up to 60 s at 3 significant digits.
fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid bounds")
}

fn filled(seed: u64) -> Histogram<u64> {
    let mut h = histogram();
    let mut x = seed;
    for _ in 0..100_000 {
        // xorshift: a spread of values over the whole range, no RNG crate needed.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        h.record(1 + x % 5_000_000).expect("in range");
    }
    h
}

fn record(c: &mut Criterion) {
    let mut h = histogram();
    let mut v = 1u64;
    c.bench_function("histogram/record", |b| {
        b.iter(|| {
            v = v.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            h.record(black_box(1 + v % 5_000_000)).expect("in range");
        })
    });
}

fn merge(c: &mut Criterion) {
    let worker = filled(0x9E37_79B9_7F4A_7C15);
    let total = filled(0x2545_F491_4F6C_DD1D);
    c.bench_function("histogram/merge-one-worker", |b| {
        b.iter_batched_ref(
            || total.clone(),
            |t| t.add(black_box(&worker)).expect("same bounds"),
            BatchSize::SmallInput,
        )
    });
    c.bench_function("histogram/p99", |b| {
        b.iter(|| black_box(&total).value_at_quantile(0.99))
    });
}

criterion_group!(benches, record, merge);
criterion_main!(benches);

//! What a GAN training step costs in device commands, counted by `Stats`:
//! the step of `benches/common/gan_step.rs`, written with the fused ops,
//! for the default 1-D GAN and an image-GAN-sized network (see there).
//!
//! In steady state (the second step of the same shape on), a step must be
//! one compute pass and one submit, create no bind group (the cache) and no
//! buffer (the pool), copy nothing (the updates are in place) and read
//! nothing back; and the fused step must take no more dispatches than
//! the trainers' budgets (`tests/gan_gpu.rs`): 60 for the image-GAN step, 50 for the 1-D
//! one with the lean structure (the `fused` variant has today's trainer's
//! structure, which takes 57 for both). Those counts have Adam as one
//! dispatch per network; on a device that cannot bind its 24 storage
//! buffers (OpenGL on some drivers), Adam is one dispatch per parameter, and
//! the extra ones are not held against the step.

#[path = "../benches/common/gan_step.rs"]
mod gan_step;

use gan_step::Gan;
use minimax_autodiff::Tape;
use minimax_wgsl::testing::{assert_steady_step, extra_adam_dispatches, gpu_or_skip};

/// Runs `variant` on `workload` until steady, then checks one step's cost
/// and returns its dispatches, less the Adam dispatches beyond one per
/// network (see the module docs).
fn steady_step(workload: &str, variant: &str) -> Option<u64> {
    let gpu = gpu_or_skip(&format!("steady_step {workload} {variant}"))?;
    let mut gan = Gan::new(&gpu, workload);
    let mut tape = Tape::new(gpu.clone());
    gan.step(variant, &mut tape); // compiles the pipelines, fills the pool and the cache
    gan.step(variant, &mut tape);
    gpu.reset_stats();
    gan.step(variant, &mut tape);
    let one = gpu.stats();
    println!("{workload}, {variant}: {one}");
    let what = format!("{workload}, {variant}");
    assert_steady_step(&what, &one);
    assert_eq!(one.uploads, 0, "{what}: {one}");
    // Each network has 3 layers, 6 parameters.
    Some(one.dispatches - extra_adam_dispatches(&gpu, &[6, 6]))
}

#[test]
fn an_image_gan_step_is_at_most_60_dispatches_with_no_copy_and_no_new_bind_group() {
    for variant in ["fused", "lean"] {
        let Some(dispatches) = steady_step("image", variant) else { return };
        assert!(dispatches <= 60, "image, {variant}: {dispatches} dispatches");
    }
}

#[test]
fn a_1d_gan_step_is_at_most_50_dispatches_with_the_lean_structure() {
    let Some(dispatches) = steady_step("gan1d", "lean") else { return };
    assert!(dispatches <= 50, "gan1d, lean: {dispatches} dispatches");
    let Some(fused) = steady_step("gan1d", "fused") else { return };
    assert!(fused <= 60, "gan1d, fused: {fused} dispatches");
}

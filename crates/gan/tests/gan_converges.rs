//! The default configuration learns N(4, 1.25²): after training, 100 000
//! generated samples have a mean within 0.1 of 4 and a std within 0.1 of
//! 1.25, and D can no longer tell them apart (D ≈ ½ on both).

use minimax_cpu::Cpu;
use minimax_gan::{Config, Preset, RunOptions, Trainer};

#[test]
fn the_default_preset_learns_the_gaussian() {
    let config = Config::preset(Preset::Default);
    let mut trainer = Trainer::new(Cpu::<f32>::new(), config).unwrap();
    let stats =
        trainer.run(&RunOptions { log_every: 500, ..RunOptions::default() }, |_| {}).unwrap();
    assert_eq!(stats.steps_run, trainer.config().steps);
    let e = trainer.evaluate(100_000).unwrap();
    eprintln!("{e:?} in {:.1} s", stats.seconds);
    assert!((e.generated_mean - 4.0).abs() < 0.1, "generated mean {}", e.generated_mean);
    assert!((e.generated_std - 1.25).abs() < 0.1, "generated std {}", e.generated_std);
    // Histograms of 100 000 samples each: 0 would be a perfect match; an
    // untrained G (a narrow spike near 0) scores close to ln 2 ≈ 0.69.
    assert!(e.js_divergence < 0.02, "JS divergence {}", e.js_divergence);
    assert!((e.d_real - 0.5).abs() < 0.05, "D(real) {}", e.d_real);
    assert!((e.d_fake - 0.5).abs() < 0.05, "D(fake) {}", e.d_fake);
}
